package fuzz

import (
	"bytes"
	"errors"
	"io"
	"runtime/metrics"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/petrel-mqtt/petrel/internal/packettest"
	"github.com/petrel-mqtt/petrel/packet"
)

var equateEmpty = cmpopts.EquateEmpty()

// seedStreams adds every golden vector, valid and malformed, and the valid
// ones back to back, as seeds of f.
func seedStreams(f *testing.F, extra ...any) {
	var all []byte
	for _, v := range packettest.Valid() {
		f.Add(append([]byte(nil), v.Bytes...))
		all = append(all, v.Bytes...)
	}
	for _, m := range packettest.MalformedVectors() {
		f.Add(append([]byte(nil), m.Bytes...))
	}
	f.Add(all)
	f.Add([]byte{})
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0x7f}) // claims 256 MB, sends nothing
	f.Add([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01})
}

// readerLimits are the maximum packet sizes FuzzReader tries on each input.
var readerLimits = []int{16, 1024, 64 << 10}

// allocSlack covers the Reader itself, its bufio buffer and the error
// values: what it may allocate whatever the input.
const allocSlack = 32 << 10

// allocPerByte bounds what the decoder may allocate per byte of input: a
// SUBSCRIBE filter of 4 bytes on the wire becomes a 32-byte Subscription,
// and slices grow by doubling.
const allocPerByte = 16

func FuzzReader(f *testing.F) {
	seedStreams(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, limit := range readerLimits {
			bound := uint64(allocPerByte*min(len(data), limit) + allocSlack)
			// The count is process-wide and the fuzzing engine allocates
			// too, so a read passes if one of a few attempts stays within
			// the bound.
			var got uint64
			for range 3 {
				before := allocatedBytes()
				readAll(t, data, limit)
				if got = allocatedBytes() - before; got <= bound {
					break
				}
			}
			if got > bound {
				t.Fatalf("limit %d: reading %d bytes allocated %d bytes, more than %d", limit, len(data), got, bound)
			}
		}
	})
}

// allocatedBytes returns the bytes allocated on the heap since the program
// started. runtime/metrics reads it without stopping the world.
func allocatedBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// readAll reads data to its end through a packet.Reader and checks how the
// stream ends; it returns the number of packets read.
func readAll(t *testing.T, data []byte, limit int) int {
	r := packet.NewReader(bytes.NewReader(data), limit)
	for n := 0; ; n++ {
		p, err := r.ReadPacket()
		if err == nil {
			if p.Size() > limit {
				t.Fatalf("limit %d: Reader returned a %d-byte %v", limit, p.Size(), p.Type())
			}
			continue
		}
		var pe *packet.ProtocolError
		switch {
		case err == io.EOF, err == io.ErrUnexpectedEOF:
		case errors.As(err, &pe):
			if pe.Err == nil || pe.Field == "" {
				t.Fatalf("ProtocolError without sentinel or field: %#v", pe)
			}
		default:
			t.Fatalf("unexpected error %T: %v", err, err)
		}
		if _, again := r.ReadPacket(); again != err {
			t.Fatalf("error not sticky: %v, then %v", err, again)
		}
		return n
	}
}

func FuzzRoundTrip(f *testing.F) {
	seedStreams(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var d1, d2 packet.Decoder
		p, n, err := d1.Decode(data)
		if err != nil {
			var pe *packet.ProtocolError
			if err != io.ErrUnexpectedEOF && !errors.As(err, &pe) {
				t.Fatalf("unexpected error %T: %v", err, err)
			}
			return
		}
		enc, err := p.AppendBinary(nil)
		if err != nil {
			t.Fatalf("decoded %v %+v but cannot encode it: %v", p.Type(), p, err)
		}
		if len(enc) != p.Size() {
			t.Fatalf("%v: Size() = %d, encoded %d bytes", p.Type(), p.Size(), len(enc))
		}
		// The encoder writes the shortest Remaining Length; the input may
		// have used a longer one, and then only that may differ.
		if len(enc) == n && !bytes.Equal(enc, data[:n]) {
			t.Fatalf("re-encoding differs:\n in  % x\n out % x", data[:n], enc)
		}
		if len(enc) > n {
			t.Fatalf("re-encoding is longer: %d > %d bytes", len(enc), n)
		}
		q, m, err := d2.Decode(enc)
		if err != nil || m != len(enc) {
			t.Fatalf("decoding the re-encoding: %d of %d bytes, %v", m, len(enc), err)
		}
		if diff := cmp.Diff(p, q, equateEmpty); diff != "" {
			t.Fatalf("decode(encode(p)) != p (-p +got):\n%s", diff)
		}
	})
}

// FuzzEncode builds a packet of kind%numKinds from the fuzzer's values. The
// encoder must either refuse it with a *packet.ProtocolError, leaving the
// buffer as it was, or emit bytes that decode to the same packet.
func FuzzEncode(f *testing.F) {
	f.Add(uint8(0), uint8(0x02), uint16(1), []byte("a/b"), []byte("payload"), []byte(nil), []byte(nil), []byte(nil))
	f.Add(uint8(1), uint8(0xEE), uint16(60), []byte("client"), []byte("will/topic"), []byte("bye"), []byte("user"), []byte("pass"))
	f.Add(uint8(2), uint8(0), uint16(7), []byte("a/+/c\n#\n$SYS/#"), []byte{0, 1, 2}, []byte(nil), []byte(nil), []byte(nil))
	f.Add(uint8(3), uint8(0), uint16(8), []byte("a/#\nb"), []byte(nil), []byte(nil), []byte(nil), []byte(nil))
	f.Add(uint8(4), uint8(0), uint16(9), []byte{0, 1, 2, 0x80}, []byte(nil), []byte(nil), []byte(nil), []byte(nil))
	f.Add(uint8(5), uint8(1), uint16(0), []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte(nil))
	for i := range numKinds {
		f.Add(uint8(i), uint8(0xff), uint16(0), []byte("+"), []byte("\x00"), []byte("\xed\xa0\x80"), []byte(nil), []byte("x"))
	}
	for _, v := range packettest.Valid() {
		if pub, ok := v.Packet.(*packet.Publish); ok {
			flags := uint8(pub.QoS) << 1
			if pub.Dup {
				flags |= 8
			}
			if pub.Retain {
				flags |= 1
			}
			f.Add(uint8(0), flags, pub.PacketID, pub.Topic, pub.Payload, []byte(nil), []byte(nil), []byte(nil))
		}
	}
	f.Fuzz(func(t *testing.T, kind, flags uint8, id uint16, a, b, c, d, e []byte) {
		p := build(kind, flags, id, a, b, c, d, e)
		prefix := []byte("prefix")
		enc, err := p.AppendBinary(prefix)
		if err != nil {
			var pe *packet.ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("%v refused with %T: %v", p.Type(), err, err)
			}
			if string(enc) != "prefix" {
				t.Fatalf("%v refused but the buffer changed: %q", p.Type(), enc)
			}
			return
		}
		enc = enc[len(prefix):]
		if len(enc) != p.Size() {
			t.Fatalf("%v: Size() = %d, encoded %d bytes", p.Type(), p.Size(), len(enc))
		}
		var dec packet.Decoder
		q, n, err := dec.Decode(enc)
		if err != nil || n != len(enc) {
			t.Fatalf("encoder emitted %v the decoder rejects (%d of %d bytes): %v\n% x", p.Type(), n, len(enc), err, enc)
		}
		if pub, ok := p.(*packet.Publish); ok && pub.QoS == packet.QoS0 {
			pub.PacketID = 0 // not on the wire at QoS 0 [MQTT-2.3.1-5]
		}
		if diff := cmp.Diff(p, q, equateEmpty); diff != "" {
			t.Fatalf("decode(encode(p)) != p (-p +got):\n%s", diff)
		}
	})
}

const numKinds = 9

func build(kind, flags uint8, id uint16, a, b, c, d, e []byte) packet.Packet {
	switch kind % numKinds {
	case 0:
		return &packet.Publish{
			Dup: flags&8 != 0, QoS: packet.QoS(flags>>1) & 3, Retain: flags&1 != 0,
			Topic: a, PacketID: id, Payload: b,
		}
	case 1:
		p := &packet.Connect{
			ClientID: a, KeepAlive: id,
			CleanSession: flags&0x02 != 0,
			WillFlag:     flags&0x04 != 0, WillQoS: packet.QoS(flags>>3) & 3, WillRetain: flags&0x20 != 0,
			PasswordFlag: flags&0x40 != 0, UsernameFlag: flags&0x80 != 0,
		}
		if p.WillFlag {
			p.WillTopic, p.WillMessage = b, c
		}
		if p.UsernameFlag {
			p.Username = d
		}
		if p.PasswordFlag {
			p.Password = e
		}
		return p
	case 2:
		p := &packet.Subscribe{PacketID: id}
		for i, f := range bytes.Split(a, []byte("\n")) {
			q := packet.QoS(flags) & 3
			if i < len(b) {
				q = packet.QoS(b[i])
			}
			p.Filters = append(p.Filters, packet.Subscription{Filter: f, QoS: q})
		}
		return p
	case 3:
		return &packet.Unsubscribe{PacketID: id, Filters: bytes.Split(a, []byte("\n"))}
	case 4:
		p := &packet.Suback{PacketID: id}
		for _, c := range a {
			p.ReturnCodes = append(p.ReturnCodes, packet.SubackCode(c))
		}
		return p
	case 5:
		return &packet.Connack{SessionPresent: flags&1 != 0, ReturnCode: packet.ConnectReturnCode(flags >> 1)}
	case 6:
		switch flags % 5 {
		case 0:
			return &packet.Puback{PacketID: id}
		case 1:
			return &packet.Pubrec{PacketID: id}
		case 2:
			return &packet.Pubrel{PacketID: id}
		case 3:
			return &packet.Pubcomp{PacketID: id}
		default:
			return &packet.Unsuback{PacketID: id}
		}
	case 7:
		switch flags % 3 {
		case 0:
			return &packet.Pingreq{}
		case 1:
			return &packet.Pingresp{}
		default:
			return &packet.Disconnect{}
		}
	default:
		// A PUBLISH whose topic and payload come from one slice, so that
		// lengths near the field limits are reachable.
		if len(a) == 0 {
			return &packet.Publish{Topic: a}
		}
		cut := int(id) % len(a)
		return &packet.Publish{QoS: packet.QoS(flags) % 3, PacketID: id | 1, Topic: a[:cut], Payload: a[cut:]}
	}
}
