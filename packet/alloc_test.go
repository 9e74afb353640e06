package packet_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// Allocation assertions for the steady state: encoding into a buffer with
// room, and decoding into storage that has been used once already
// (testing.AllocsPerRun runs its function once before it measures).

const allocTopic = "sensors/building-7/floor-3/temp1" // 32 bytes

type allocCase struct {
	name string
	p    packet.Packet
	dst  interface{ Decode([]byte) (int, error) } // a packet value to decode into
	// max is the allocations allowed when decoding: 0, or 1 for the
	// packets with slices of fields (the measured figure is 0 for those
	// too; it is logged).
	max float64
}

func allocCases() []allocCase {
	conn := &packet.Connect{
		ClientID: []byte("alloc-test-client"), CleanSession: true, KeepAlive: 30,
		WillFlag: true, WillQoS: packet.QoS1, WillTopic: []byte("clients/alloc-test-client/status"), WillMessage: []byte("offline"),
		UsernameFlag: true, Username: []byte("user"), PasswordFlag: true, Password: []byte("secret password"),
	}
	sub := &packet.Subscribe{PacketID: 11}
	for _, f := range []string{"sensors/+/temp", "sensors/#", "$SYS/broker/load/#", "a/b/c/d", "+/+/+"} {
		sub.Filters = append(sub.Filters, packet.Subscription{Filter: []byte(f), QoS: packet.QoS1})
	}
	return []allocCase{
		{"PUBLISH QoS 1 64 B", &packet.Publish{QoS: packet.QoS1, PacketID: 42, Topic: []byte(allocTopic), Payload: bytes.Repeat([]byte{'p'}, 64)}, new(packet.Publish), 0},
		{"PUBLISH QoS 1 4 KiB", &packet.Publish{QoS: packet.QoS1, PacketID: 42, Topic: []byte(allocTopic), Payload: bytes.Repeat([]byte{'P'}, 4096)}, new(packet.Publish), 0},
		{"PUBACK", &packet.Puback{PacketID: 42}, new(packet.Puback), 0},
		{"PUBREC", &packet.Pubrec{PacketID: 42}, new(packet.Pubrec), 0},
		{"PUBREL", &packet.Pubrel{PacketID: 42}, new(packet.Pubrel), 0},
		{"PUBCOMP", &packet.Pubcomp{PacketID: 42}, new(packet.Pubcomp), 0},
		{"PINGREQ", &packet.Pingreq{}, new(packet.Pingreq), 0},
		{"PINGRESP", &packet.Pingresp{}, new(packet.Pingresp), 0},
		{"SUBSCRIBE 5 filters", sub, new(packet.Subscribe), 1},
		{"CONNECT will user password", conn, new(packet.Connect), 1},
	}
}

// checkAllocs logs the figure and fails t if it exceeds max. The figures
// are the same under the race detector, so the assertions hold there too.
func checkAllocs(t *testing.T, what string, got, max float64) {
	t.Helper()
	t.Logf("%s: %v allocs/op", what, got)
	if got > max {
		t.Errorf("%s: %v allocs/op, want at most %v", what, got, max)
	}
}

const allocRuns = 200

func TestAllocsEncode(t *testing.T) {
	buf := make([]byte, 0, 8192)
	for _, c := range allocCases() {
		want := appendOrFatal(t, c.p)
		var out []byte
		var err error
		got := testing.AllocsPerRun(allocRuns, func() {
			out, err = c.p.AppendBinary(buf[:0])
		})
		if err != nil || !bytes.Equal(out, want) {
			t.Fatalf("%s: AppendBinary gave % x, %v", c.name, clip32(out), err)
		}
		checkAllocs(t, c.name+" AppendBinary", got, 0)

		got = testing.AllocsPerRun(allocRuns, func() {
			out, err = packet.Append(buf[:0], c.p, false)
		})
		if err != nil || !bytes.Equal(out, want) {
			t.Fatalf("%s: Append gave % x, %v", c.name, clip32(out), err)
		}
		checkAllocs(t, c.name+" Append", got, 0)
	}
}

func TestAllocsDecode(t *testing.T) {
	for _, c := range allocCases() {
		wire := appendOrFatal(t, c.p)
		var n int
		var err error
		got := testing.AllocsPerRun(allocRuns, func() {
			n, err = c.dst.Decode(wire)
		})
		if err != nil || n != len(wire) {
			t.Fatalf("%s: Decode = %d, %v", c.name, n, err)
		}
		sameEncoding(t, c.name, c.dst.(packet.Packet), wire)
		checkAllocs(t, c.name+" Decode", got, c.max)
	}
}

func TestAllocsDecoder(t *testing.T) {
	d := new(packet.Decoder)
	for _, c := range allocCases() {
		wire := appendOrFatal(t, c.p)
		var p packet.Packet
		var n int
		var err error
		got := testing.AllocsPerRun(allocRuns, func() {
			p, n, err = d.Decode(wire)
		})
		if err != nil || n != len(wire) {
			t.Fatalf("%s: Decoder.Decode = %d, %v", c.name, n, err)
		}
		sameEncoding(t, c.name, p, wire)
		checkAllocs(t, c.name+" Decoder.Decode", got, c.max)
	}
}

// rewindable is an io.Reader over a byte slice that the test rewinds.
type rewindable struct {
	b   []byte
	off int
}

func (r *rewindable) Read(p []byte) (int, error) {
	if r.off == len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

func TestAllocsReader(t *testing.T) {
	for _, c := range allocCases() {
		// One Reader per case, created outside the measurement: NewReader
		// allocates the Reader and its bufio.Reader.
		src := &rewindable{b: appendOrFatal(t, c.p)}
		r := packet.NewReader(src, 0)
		var p packet.Packet
		var err error
		got := testing.AllocsPerRun(allocRuns, func() {
			src.off = 0
			p, err = r.ReadPacket()
		})
		if err != nil {
			t.Fatalf("%s: ReadPacket: %v", c.name, err)
		}
		sameEncoding(t, c.name, p, src.b)
		checkAllocs(t, c.name+" Reader.ReadPacket", got, c.max)
	}
}
