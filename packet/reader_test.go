package packet_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/petrel-mqtt/petrel/packet"
)

// everyType returns a valid packet of each of the fourteen types, and a few
// more PUBLISH shapes.
func everyType() []packet.Packet {
	return []packet.Packet{
		&packet.Connect{ClientID: []byte("client-1"), CleanSession: true, KeepAlive: 60,
			WillFlag: true, WillQoS: packet.QoS1, WillRetain: true, WillTopic: []byte("will/topic"), WillMessage: []byte("gone"),
			UsernameFlag: true, Username: []byte("user"), PasswordFlag: true, Password: []byte{0, 1, 2}},
		&packet.Connack{SessionPresent: true},
		&packet.Publish{Topic: []byte("a/b"), Payload: []byte("qos0")},
		&packet.Publish{QoS: packet.QoS1, PacketID: 1, Topic: []byte("sensors/temp"), Payload: []byte("21.5")},
		&packet.Publish{QoS: packet.QoS2, Dup: true, Retain: true, PacketID: 65535, Topic: []byte("x")},
		&packet.Publish{QoS: packet.QoS1, PacketID: 300, Topic: []byte("big"), Payload: bytes.Repeat([]byte("0123456789"), 30)},
		&packet.Puback{PacketID: 1},
		&packet.Pubrec{PacketID: 2},
		&packet.Pubrel{PacketID: 3},
		&packet.Pubcomp{PacketID: 4},
		&packet.Subscribe{PacketID: 5, Filters: []packet.Subscription{{Filter: []byte("sport/#")}, {Filter: []byte("+/+"), QoS: packet.QoS2}}},
		&packet.Suback{PacketID: 5, ReturnCodes: []packet.SubackCode{packet.GrantedQoS0, packet.Failure}},
		&packet.Unsubscribe{PacketID: 6, Filters: [][]byte{[]byte("sport/#"), []byte("a")}},
		&packet.Unsuback{PacketID: 6},
		&packet.Pingreq{},
		&packet.Pingresp{},
		&packet.Disconnect{},
	}
}

func appendOrFatal(t testing.TB, p packet.Packet) []byte {
	t.Helper()
	b, err := p.AppendBinary(nil)
	if err != nil {
		t.Fatalf("encode %v: %v", p.Type(), err)
	}
	return b
}

// sameEncoding fails t unless got encodes to want.
func sameEncoding(t *testing.T, what string, got packet.Packet, want []byte) {
	t.Helper()
	b, err := got.AppendBinary(nil)
	if err != nil {
		t.Fatalf("%s: re-encoding the decoded %v: %v", what, got.Type(), err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("%s: decoded %v re-encodes to % x, want % x", what, got.Type(), clip32(b), clip32(want))
	}
}

// oneByteCounter hands out at most one byte per Read and counts the bytes,
// so that the count is exactly what a bufio.Reader above it has consumed.
type oneByteCounter struct {
	r io.Reader
	n int
}

func (c *oneByteCounter) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReaderStream(t *testing.T) {
	samples := everyType()
	rng := rand.New(rand.NewPCG(3, 14))
	var stream []byte
	var want [][]byte
	for i := 0; i < 3000; i++ {
		b := appendOrFatal(t, samples[rng.IntN(len(samples))])
		stream = append(stream, b...)
		want = append(want, b)
	}
	for _, c := range []struct {
		name string
		r    func() io.Reader
	}{
		{"bytes.Reader", func() io.Reader { return bytes.NewReader(stream) }},
		{"OneByteReader", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"HalfReader", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
		{"DataErrReader", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) }},
		{"DataErrReader+OneByteReader", func() io.Reader {
			return iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(stream)))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			testReaderStream(t, packet.NewReader(c.r(), 0), want)
		})
		t.Run(c.name+"/pooled", func(t *testing.T) {
			testReaderStream(t, packet.NewPooledReader(c.r(), 0), want)
		})
	}
}

func testReaderStream(t *testing.T, r *packet.Reader, want [][]byte) {
	t.Helper()
	for i, w := range want {
		p, err := r.ReadPacket()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		sameEncoding(t, "stream", p, w)
	}
	for range 2 {
		if p, err := r.ReadPacket(); err != io.EOF {
			t.Fatalf("after the last packet: %v, %v; want io.EOF", p, err)
		}
	}
}

func TestReaderEmpty(t *testing.T) {
	r := packet.NewReader(bytes.NewReader(nil), 0)
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
}

func TestReaderTruncated(t *testing.T) {
	small := appendOrFatal(t, &packet.Publish{QoS: packet.QoS1, PacketID: 1, Topic: []byte("t"), Payload: []byte("hello")})
	mid := appendOrFatal(t, &packet.Publish{Topic: []byte("t"), Payload: bytes.Repeat([]byte{'m'}, 200)})        // 2-byte length
	large := appendOrFatal(t, &packet.Publish{Topic: []byte("t"), Payload: bytes.Repeat([]byte{'L'}, 40_000)})   // 3-byte length, chunked
	huge := appendOrFatal(t, &packet.Publish{Topic: []byte("t"), Payload: bytes.Repeat([]byte{'H'}, 3_000_000)}) // 4-byte length
	cases := []struct {
		name string
		pkt  []byte
		cut  int
	}{
		{"fixed header, type byte only", small, 1},
		{"remaining length, 1 of 2 bytes", mid, 2},
		{"remaining length, 2 of 3 bytes", large, 3},
		{"remaining length, 3 of 4 bytes", huge, 4},
		{"body, first byte missing", small, 2},
		{"body, middle", small, 5},
		{"body, last byte missing", small, len(small) - 1},
		{"body 200, middle", mid, 100},
		{"chunked body, first chunk", large, 1000},
		{"chunked body, second chunk", large, 20_000},
		{"chunked body, last byte missing", large, len(large) - 1},
	}
	for _, c := range cases {
		for _, first := range [][]byte{nil, appendOrFatal(t, &packet.Pingreq{})} {
			stream := append(append([]byte{}, first...), c.pkt[:c.cut]...)
			for _, wrap := range []func(io.Reader) io.Reader{
				func(r io.Reader) io.Reader { return r },
				iotest.OneByteReader,
				iotest.DataErrReader,
			} {
				r := packet.NewReader(wrap(bytes.NewReader(stream)), 4<<20)
				if first != nil {
					if p, err := r.ReadPacket(); err != nil || p.Type() != packet.TypePingreq {
						t.Fatalf("%s: first packet: %v, %v", c.name, p, err)
					}
				}
				if _, err := r.ReadPacket(); err != io.ErrUnexpectedEOF {
					t.Errorf("%s (after %d bytes): %v, want io.ErrUnexpectedEOF", c.name, len(first), err)
				}
			}
		}
	}
	// Cutting between packets is a clean end.
	r := packet.NewReader(bytes.NewReader(small), 0)
	if _, err := r.ReadPacket(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Errorf("at a boundary: %v, want io.EOF", err)
	}
}

// wantReaderRule fails t unless err is a *ProtocolError with the type, rule
// and sentinel.
func wantReaderRule(t *testing.T, what string, err error, typ packet.Type, rule string, sentinel error) {
	t.Helper()
	var pe *packet.ProtocolError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: %v, want a *packet.ProtocolError", what, err)
	}
	if pe.Type != typ || pe.Rule != rule || !errors.Is(err, sentinel) {
		t.Errorf("%s: %v (type %v rule %q), want type %v rule %q matching %v", what, err, pe.Type, pe.Rule, typ, rule, sentinel)
	}
}

func TestReaderRemainingLengthTooLong(t *testing.T) {
	body := bytes.Repeat([]byte{0}, 300)
	for _, hdr := range [][]byte{
		{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f},
		{0x30, 0x80, 0x80, 0x80, 0x80, 0x01},
		{0x82, 0x80, 0x80, 0x80, 0x80, 0x00},
	} {
		src := &oneByteCounter{r: bytes.NewReader(append(hdr, body...))}
		r := packet.NewReader(src, packet.MaxRemainingLength+5)
		_, err := r.ReadPacket()
		wantReaderRule(t, "5-byte remaining length", err, packet.Type(hdr[0]>>4), "2.2.3", packet.ErrRemainingLength)
		if !errors.Is(err, packet.ErrMalformed) {
			t.Errorf("%v does not match ErrMalformed", err)
		}
		if src.n > 5 {
			t.Errorf("% x: read %d bytes before refusing, want at most 5", hdr, src.n)
		}
	}
}

func TestReaderReservedType(t *testing.T) {
	for _, b0 := range []byte{0x00, 0x0f, 0xf0, 0xff} {
		src := &oneByteCounter{r: bytes.NewReader([]byte{b0, 0x02, 0x00, 0x01})}
		_, err := packet.NewReader(src, 0).ReadPacket()
		wantReaderRule(t, "reserved type", err, packet.Type(b0>>4), "2.2.1", packet.ErrPacketType)
		if src.n != 1 {
			t.Errorf("type byte %#x: read %d bytes, want 1", b0, src.n)
		}
	}
}

func TestReaderMaxPacketSize(t *testing.T) {
	// A PUBLISH of 1 + 2 + 200 bytes.
	pkt := appendOrFatal(t, &packet.Publish{Topic: []byte("t"), Payload: bytes.Repeat([]byte{'x'}, 197)})
	if len(pkt) != 203 {
		t.Fatalf("test packet is %d bytes", len(pkt))
	}
	for _, max := range []int{100, 202} {
		src := &oneByteCounter{r: bytes.NewReader(pkt)}
		_, err := packet.NewReader(src, max).ReadPacket()
		var pe *packet.ProtocolError
		if !errors.As(err, &pe) || pe.Type != packet.TypePublish {
			t.Fatalf("max %d: %v, want a *ProtocolError for PUBLISH", max, err)
		}
		if !errors.Is(err, packet.ErrPacketTooLarge) {
			t.Errorf("max %d: %v does not match ErrPacketTooLarge", max, err)
		}
		if errors.Is(err, packet.ErrMalformed) {
			t.Errorf("max %d: %v matches ErrMalformed", max, err)
		}
		if src.n != 3 {
			t.Errorf("max %d: read %d bytes, want the 3 of the fixed header", max, src.n)
		}
	}
	p, err := packet.NewReader(bytes.NewReader(pkt), 203).ReadPacket()
	if err != nil {
		t.Fatalf("a packet of exactly MaxPacketSize: %v", err)
	}
	sameEncoding(t, "max size", p, pkt)

	// The default is DefaultMaxPacketSize.
	big := appendOrFatal(t, &packet.Publish{Topic: []byte("t"), Payload: make([]byte, packet.DefaultMaxPacketSize)})
	if _, err := packet.NewReader(bytes.NewReader(big), 0).ReadPacket(); !errors.Is(err, packet.ErrPacketTooLarge) {
		t.Errorf("default limit: %v, want ErrPacketTooLarge", err)
	}
}

// TestReaderSetMaxPacketSize raises the limit between packets, as a server
// does once a client's CONNECT is accepted.
func TestReaderSetMaxPacketSize(t *testing.T) {
	pkt := appendOrFatal(t, &packet.Publish{Topic: []byte("t"), Payload: bytes.Repeat([]byte{'x'}, 197)})
	r := packet.NewReader(bytes.NewReader(append(slices.Clone(pkt), pkt...)), 203)
	if _, err := r.ReadPacket(); err != nil {
		t.Fatalf("first packet at the limit: %v", err)
	}
	r.SetMaxPacketSize(202)
	if _, err := r.ReadPacket(); !errors.Is(err, packet.ErrPacketTooLarge) {
		t.Errorf("after SetMaxPacketSize(202): %v, want ErrPacketTooLarge", err)
	}
	r = packet.NewReader(bytes.NewReader(append(slices.Clone(pkt), pkt...)), 100)
	r.SetMaxPacketSize(203)
	for i := range 2 {
		if _, err := r.ReadPacket(); err != nil {
			t.Fatalf("packet %d after SetMaxPacketSize(203): %v", i, err)
		}
	}
}

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestReaderLyingLength(t *testing.T) {
	const claim = 200 << 20
	hdr := []byte{0x30}
	for n := claim; ; n >>= 7 {
		if n < 0x80 {
			hdr = append(hdr, byte(n))
			break
		}
		hdr = append(hdr, byte(n)|0x80)
	}
	for _, sent := range []int{10, 300 << 10} {
		stream := append(append([]byte{}, hdr...), make([]byte, sent)...)
		var err error
		n := allocated(func() {
			r := packet.NewReader(bytes.NewReader(stream), 256<<20)
			_, err = r.ReadPacket()
		})
		if err != io.ErrUnexpectedEOF {
			t.Errorf("claim %d, sent %d: %v, want io.ErrUnexpectedEOF", claim, sent, err)
		}
		limit := uint64(1 << 20)
		if sent > 10 {
			limit = uint64(4*sent + 64<<10) // a small multiple of what arrived
		}
		t.Logf("claim %d bytes, sent %d: allocated %d bytes", claim, sent, n)
		if n > limit {
			t.Errorf("claim %d, sent %d: allocated %d bytes, want at most %d", claim, sent, n, limit)
		}
	}
}

func TestReaderFixedLength(t *testing.T) {
	cases := []struct {
		b0 byte
		rl byte
	}{
		{0x20, 3}, {0x20, 0}, // CONNACK
		{0x40, 3}, {0x40, 0}, {0x40, 1}, {0x40, 100}, // PUBACK
		{0x50, 4}, {0x62, 3}, {0x70, 1}, {0xb0, 5}, // PUBREC, PUBREL, PUBCOMP, UNSUBACK
		{0xc0, 1}, {0xc0, 2}, {0xd0, 1}, {0xe0, 1}, // PINGREQ, PINGRESP, DISCONNECT
	}
	for _, c := range cases {
		stream := append([]byte{c.b0, c.rl}, bytes.Repeat([]byte{0x01}, int(c.rl))...)
		src := &oneByteCounter{r: bytes.NewReader(stream)}
		_, err := packet.NewReader(src, 0).ReadPacket()
		var pe *packet.ProtocolError
		if !errors.As(err, &pe) || pe.Type != packet.Type(c.b0>>4) || !errors.Is(err, packet.ErrRemainingLength) {
			t.Errorf("% x: %v, want a remaining length error for %v", stream[:2], err, packet.Type(c.b0>>4))
		}
		if src.n != 2 {
			t.Errorf("% x: read %d bytes, want 2 (the fixed header only)", stream[:2], src.n)
		}
	}
}

func TestReaderLargeBodies(t *testing.T) {
	mk := func(n int, seed uint64) *packet.Publish {
		rng := rand.New(rand.NewPCG(seed, seed))
		p := &packet.Publish{QoS: packet.QoS1, PacketID: uint16(seed), Topic: []byte("large/body"), Payload: make([]byte, n)}
		for i := range p.Payload {
			p.Payload[i] = byte(rng.Uint32())
		}
		return p
	}
	seq := []packet.Packet{
		&packet.Puback{PacketID: 1},
		mk(100_000, 2),
		mk(1_000_000, 3),
		&packet.Publish{Topic: []byte("small"), Payload: []byte("between")},
		mk(1_000_000, 4),
		mk(100_000, 5),
		mk(4_000, 6), // fits the bufio.Reader
		mk(4_097, 7),
		&packet.Pingreq{},
	}
	var stream []byte
	var want [][]byte
	for _, p := range seq {
		b := appendOrFatal(t, p)
		stream = append(stream, b...)
		want = append(want, b)
	}
	for _, c := range []struct {
		name string
		r    func() io.Reader
	}{
		{"bytes.Reader", func() io.Reader { return bytes.NewReader(stream) }},
		{"OneByteReader", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"DataErrReader", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream)) }},
		{"DataErrReader+OneByteReader", func() io.Reader {
			return iotest.DataErrReader(iotest.OneByteReader(bytes.NewReader(stream)))
		}},
		{"HalfReader", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := packet.NewReader(c.r(), 2<<20)
			for i, w := range want {
				p, err := r.ReadPacket()
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				sameEncoding(t, "large", p, w)
			}
			if _, err := r.ReadPacket(); err != io.EOF {
				t.Fatalf("at the end: %v, want io.EOF", err)
			}
		})
	}
}

func TestReaderStickyError(t *testing.T) {
	valid := appendOrFatal(t, &packet.Pingreq{})
	boom := errors.New("boom")
	cases := []struct {
		name string
		r    io.Reader
	}{
		{"malformed", bytes.NewReader(append([]byte{0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}, valid...))},
		{"bad flags", bytes.NewReader(append([]byte{0x41, 0x02, 0x00, 0x01}, valid...))},
		{"unexpected EOF", bytes.NewReader([]byte{0x30, 0x05, 0x00})},
		{"reader error", io.MultiReader(bytes.NewReader(valid), iotest.ErrReader(boom))},
	}
	for _, c := range cases {
		r := packet.NewReader(c.r, 0)
		var first error
		for i := 0; first == nil && i < 2; i++ {
			_, first = r.ReadPacket()
		}
		if first == nil || first == io.EOF {
			t.Fatalf("%s: no error", c.name)
		}
		for range 3 {
			if p, err := r.ReadPacket(); err != first || p != nil {
				t.Errorf("%s: later call gave %v, %v; want nil, %v", c.name, p, err, first)
			}
		}
		if c.name == "reader error" && first != boom {
			t.Errorf("reader error: got %v, want the reader's own error", first)
		}
	}
}

func TestReaderAliasingAndClone(t *testing.T) {
	pub1 := &packet.Publish{QoS: packet.QoS1, PacketID: 1, Topic: []byte("first"), Payload: []byte("payload one")}
	pub2 := &packet.Publish{QoS: packet.QoS2, PacketID: 2, Topic: []byte("second"), Payload: []byte("payload two!")}
	big1 := &packet.Publish{Topic: []byte("big/1"), Payload: bytes.Repeat([]byte{1}, 50_000)}
	big2 := &packet.Publish{Topic: []byte("big/2"), Payload: bytes.Repeat([]byte{2}, 50_000)}
	conn := everyType()[0].(*packet.Connect)
	sub := &packet.Subscribe{PacketID: 9, Filters: []packet.Subscription{{Filter: []byte("a/+"), QoS: 1}, {Filter: []byte("#")}}}
	sub2 := &packet.Subscribe{PacketID: 10, Filters: []packet.Subscription{{Filter: []byte("zz/zz")}}}
	seq := []packet.Packet{pub1, pub2, big1, big2, conn, sub, sub2, pub1}
	var stream []byte
	for _, p := range seq {
		stream = append(stream, appendOrFatal(t, p)...)
	}
	// The source hands out a few bytes at a time, so that the bufio.Reader
	// refills, and moves its contents, between packets.
	r := packet.NewReader(iotest.HalfReader(bytes.NewReader(stream)), 0)
	type kept struct {
		clone packet.Packet
		want  []byte
	}
	var clones []kept
	for i, want := range seq {
		p, err := r.ReadPacket()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		wantBytes := appendOrFatal(t, want)
		sameEncoding(t, "just read", p, wantBytes)
		var c packet.Packet
		switch p := p.(type) {
		case *packet.Publish:
			c = p.Clone()
		case *packet.Connect:
			c = p.Clone()
		case *packet.Subscribe:
			c = p.Clone()
		}
		// Still intact after cloning and re-encoding, before the next read.
		sameEncoding(t, "before the next read", p, wantBytes)
		clones = append(clones, kept{c, wantBytes})
	}
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	for _, k := range clones {
		sameEncoding(t, "clone after later reads", k.clone, k.want)
	}
}

// TestReaderUsesBufioReader checks that a Reader given a *bufio.Reader reads
// from it directly: it takes from it no byte beyond the packets it returned,
// so that the caller can go on reading the stream after them.
func TestReaderUsesBufioReader(t *testing.T) {
	pub := appendOrFatal(t, &packet.Publish{Topic: []byte("t"), Payload: bytes.Repeat([]byte{'p'}, 100)})
	stream := append(append(append([]byte{}, pub...), appendOrFatal(t, &packet.Pingreq{})...), "raw tail"...)
	br := bufio.NewReaderSize(bytes.NewReader(stream), 64)
	r := packet.NewReader(br, 0)
	for _, want := range []packet.Type{packet.TypePublish, packet.TypePingreq} {
		p, err := r.ReadPacket()
		if err != nil || p.Type() != want {
			t.Fatalf("got %v, %v; want %v", p, err, want)
		}
	}
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "raw tail" {
		t.Errorf("the bufio.Reader holds %q, %v after the packets; want %q", rest, err, "raw tail")
	}
}
