package packet_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// The benchmark inputs. The topic is exactly 32 bytes of ASCII, checked by
// TestBenchInputs.
const benchTopic = "sensors/building-7/floor-3/temp1"

var (
	payload64  = bytes.Repeat([]byte("0123456789abcdef"), 4)   // 64 bytes
	payload4Ki = bytes.Repeat([]byte("0123456789abcdef"), 256) // 4096 bytes
)

// publishCases are the PUBLISH packets benchmarked on their own.
var publishCases = []struct {
	name string
	p    *packet.Publish
}{
	{"QoS1-32B-topic-64B-payload", &packet.Publish{QoS: packet.QoS1, PacketID: 4242, Topic: []byte(benchTopic), Payload: payload64}},
	{"QoS1-4KiB-payload", &packet.Publish{QoS: packet.QoS1, PacketID: 4242, Topic: []byte(benchTopic), Payload: payload4Ki}},
}

func benchConnect() *packet.Connect {
	return &packet.Connect{
		ClientID:     []byte("petrel-bench-client-0001"),
		CleanSession: true,
		KeepAlive:    60,
		WillFlag:     true,
		WillQoS:      packet.QoS1,
		WillRetain:   true,
		WillTopic:    []byte("clients/petrel-bench-client-0001/status"),
		WillMessage:  []byte("offline"),
		UsernameFlag: true,
		Username:     []byte("sensor-gateway"),
		PasswordFlag: true,
		Password:     []byte("correct horse battery staple"),
	}
}

func benchSubscribe() *packet.Subscribe {
	return &packet.Subscribe{
		PacketID: 7,
		Filters: []packet.Subscription{
			{Filter: []byte("sensors/building-7/+/temp1"), QoS: packet.QoS1},
			{Filter: []byte("sensors/building-7/floor-3/#"), QoS: packet.QoS0},
			{Filter: []byte("alerts/#"), QoS: packet.QoS2},
			{Filter: []byte("clients/+/status"), QoS: packet.QoS1},
			{Filter: []byte("$SYS/broker/load/#"), QoS: packet.QoS0},
		},
	}
}

// mustEncode returns the wire bytes of p.
func mustEncode(tb testing.TB, p packet.Packet) []byte {
	tb.Helper()
	b, err := p.AppendBinary(nil)
	if err != nil {
		tb.Fatalf("encode %v: %v", p.Type(), err)
	}
	return b
}

// TestBenchInputs checks that the benchmark inputs are what their names say
// and that each encodes and decodes back to itself.
func TestBenchInputs(t *testing.T) {
	if len(benchTopic) != 32 || len(payload64) != 64 || len(payload4Ki) != 4096 {
		t.Fatalf("topic %d bytes, payloads %d and %d bytes", len(benchTopic), len(payload64), len(payload4Ki))
	}
	for _, c := range publishCases {
		b := mustEncode(t, c.p)
		var got packet.Publish
		n, err := got.Decode(b)
		if err != nil || n != len(b) || n != c.p.Size() {
			t.Fatalf("%s: Decode = %d, %v; want %d", c.name, n, err, len(b))
		}
		if string(got.Topic) != benchTopic || !bytes.Equal(got.Payload, c.p.Payload) || got.PacketID != c.p.PacketID || got.QoS != c.p.QoS {
			t.Fatalf("%s: decoded %+v", c.name, got)
		}
	}
	var c packet.Connect
	b := mustEncode(t, benchConnect())
	if n, err := c.Decode(b); err != nil || n != len(b) {
		t.Fatalf("connect: Decode = %d, %v", n, err)
	}
	if string(c.Password) != "correct horse battery staple" || string(c.WillMessage) != "offline" {
		t.Fatalf("connect: decoded %+v", c)
	}
	var s packet.Subscribe
	b = mustEncode(t, benchSubscribe())
	if n, err := s.Decode(b); err != nil || n != len(b) || len(s.Filters) != 5 {
		t.Fatalf("subscribe: Decode = %d, %v, %d filters", n, err, len(s.Filters))
	}
	for name, stream := range map[string][]byte{"publish": publishStream(t), "mixed": mixedStream(t)} {
		r := packet.NewReader(bytes.NewReader(stream), 0)
		n := 0
		for {
			_, err := r.ReadPacket()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s stream, packet %d: %v", name, n, err)
			}
			n++
		}
		if n != streamPackets {
			t.Fatalf("%s stream: %d packets, want %d", name, n, streamPackets)
		}
	}
}

func BenchmarkPublishEncode(b *testing.B) {
	for _, c := range publishCases {
		b.Run(c.name, func(b *testing.B) {
			benchEncode(b, c.p)
		})
	}
}

func BenchmarkPublishDecode(b *testing.B) {
	for _, c := range publishCases {
		b.Run(c.name, func(b *testing.B) {
			wire := mustEncode(b, c.p)
			var p packet.Publish
			b.SetBytes(int64(len(wire)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Decode(wire); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, c := range publishCases {
		b.Run("Decoder/"+c.name, func(b *testing.B) {
			benchDecoder(b, mustEncode(b, c.p))
		})
	}
}

func BenchmarkConnectEncode(b *testing.B) { benchEncode(b, benchConnect()) }

func BenchmarkConnectDecode(b *testing.B) {
	wire := mustEncode(b, benchConnect())
	var p packet.Connect
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Decode(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubscribeEncode(b *testing.B) { benchEncode(b, benchSubscribe()) }

func BenchmarkSubscribeDecode(b *testing.B) {
	wire := mustEncode(b, benchSubscribe())
	var p packet.Subscribe
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Decode(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPingreqEncode(b *testing.B) { benchEncode(b, &packet.Pingreq{}) }

func BenchmarkPingreqDecode(b *testing.B) {
	wire := mustEncode(b, &packet.Pingreq{})
	var p packet.Pingreq
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Decode(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPubackEncode(b *testing.B) { benchEncode(b, &packet.Puback{PacketID: 4242}) }

func BenchmarkPubackDecode(b *testing.B) {
	wire := mustEncode(b, &packet.Puback{PacketID: 4242})
	var p packet.Puback
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Decode(wire); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEncode measures AppendBinary of p into a reused buffer.
func benchEncode(b *testing.B, p packet.Packet) {
	buf := make([]byte, 0, p.Size())
	if p.Size() > 4 { // not for PINGREQ and PUBACK, where only the time matters
		b.SetBytes(int64(p.Size()))
	}
	b.ReportAllocs()
	var err error
	for b.Loop() {
		if buf, err = p.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	if len(buf) != p.Size() {
		b.Fatalf("encoded %d bytes, Size says %d", len(buf), p.Size())
	}
}

// benchDecoder measures Decoder.Decode of wire, one whole packet.
func benchDecoder(b *testing.B, wire []byte) {
	var d packet.Decoder
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		if _, n, err := d.Decode(wire); err != nil || n != len(wire) {
			b.Fatal(n, err)
		}
	}
}

// streamPackets is the number of packets in each benchmark stream.
const streamPackets = 1024

// publishStream returns streamPackets QoS 1 PUBLISH packets, 32-byte topic
// and 64-byte payload, back to back, with varying packet identifiers.
func publishStream(tb testing.TB) []byte {
	var s []byte
	var err error
	p := packet.Publish{QoS: packet.QoS1, Topic: []byte(benchTopic), Payload: payload64}
	for i := range streamPackets {
		p.PacketID = uint16(i + 1)
		if s, err = p.AppendBinary(s); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// mixedStream returns streamPackets packets of a plausible client-server
// exchange, back to back: publishes at each QoS with their acknowledgements,
// a subscribe and its suback, pings.
func mixedStream(tb testing.TB) []byte {
	topic := []byte(benchTopic)
	var s []byte
	var err error
	for i := 0; i < streamPackets; {
		id := uint16(i%65535 + 1)
		cycle := []packet.Packet{
			&packet.Publish{QoS: packet.QoS1, PacketID: id, Topic: topic, Payload: payload64},
			&packet.Puback{PacketID: id},
			&packet.Publish{QoS: packet.QoS0, Topic: topic, Payload: payload64},
			&packet.Pingreq{},
			&packet.Pingresp{},
			&packet.Publish{QoS: packet.QoS2, PacketID: id, Topic: topic, Payload: payload64},
			&packet.Pubrec{PacketID: id},
			&packet.Pubrel{PacketID: id},
			&packet.Pubcomp{PacketID: id},
			benchSubscribe(),
			&packet.Suback{PacketID: 7, ReturnCodes: []packet.SubackCode{1, 0, 2, 1, 0x80}},
			&packet.Unsubscribe{PacketID: 8, Filters: [][]byte{[]byte("alerts/#")}},
			&packet.Unsuback{PacketID: 8},
		}
		for _, p := range cycle {
			if i == streamPackets {
				break
			}
			if s, err = p.AppendBinary(s); err != nil {
				tb.Fatal(err)
			}
			i++
		}
	}
	return s
}

// rewinder is an io.Reader over a byte slice that rewinds to the start when
// it is exhausted, so that a stream of whole packets repeats forever. It
// never returns io.EOF.
type rewinder struct {
	b   []byte
	off int
}

// Reset rewinds r to the start of its slice.
func (r *rewinder) Reset() { r.off = 0 }

func (r *rewinder) Read(p []byte) (int, error) {
	if r.off == len(r.b) {
		r.Reset()
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

func BenchmarkReaderStream(b *testing.B) {
	for _, c := range []struct {
		name   string
		stream func(testing.TB) []byte
	}{
		{"publish-qos1-64B", publishStream},
		{"mixed", mixedStream},
	} {
		b.Run(c.name, func(b *testing.B) {
			stream := c.stream(b)
			r := packet.NewReader(&rewinder{b: stream}, 0)
			b.SetBytes(int64(len(stream) / streamPackets)) // the mean packet size
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.ReadPacket(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
