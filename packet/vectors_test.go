package packet_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/petrel-mqtt/petrel/internal/packettest"
	"github.com/petrel-mqtt/petrel/packet"
)

// The golden vectors of internal/packettest, run through every decoding and
// encoding path of the codec.

// vecEquate treats nil and empty slices alike (a decoded empty field
// aliases its input and is empty but not nil), and compares byte slices
// with bytes.Equal, much faster than element by element on large payloads.
var vecEquate = cmp.Options{
	cmpopts.EquateEmpty(),
	cmp.FilterValues(func(x, y []byte) bool { return len(x) != 0 || len(y) != 0 }, cmp.Comparer(bytes.Equal)),
}

// vecFrame parses the fixed header of b independently of the codec and
// returns the length of the packet it announces; ok is false if the
// Remaining Length is not a valid one-to-four-byte encoding.
func vecFrame(b []byte) (n int, ok bool) {
	rl := 0
	for i := 1; i <= 4 && i < len(b); i++ {
		rl |= int(b[i]&0x7f) << (7 * (i - 1))
		if b[i] < 0x80 {
			return 1 + i + rl, true
		}
	}
	return 0, false
}

func vecConcat(vs []packettest.Vector) []byte {
	var b []byte
	for _, v := range vs {
		b = append(b, v.Bytes...)
	}
	return b
}

func TestVectorsNames(t *testing.T) {
	seen := map[string]bool{}
	check := func(kind, name string) {
		if name == "" || strings.ContainsAny(name, " \t\n") {
			t.Errorf("%s vector %q: name must be non-empty without white space", kind, name)
		}
		if seen[name] {
			t.Errorf("%s vector %q: name used twice", kind, name)
		}
		seen[name] = true
	}
	for _, v := range packettest.Valid() {
		check("valid", v.Name)
	}
	for _, m := range packettest.MalformedVectors() {
		check("malformed", m.Name)
	}
}

// TestVectorsAreComplete checks that every vector's Remaining Length
// matches the bytes that follow it, so that a malformed vector fails on its
// rule and not on a short read.
func TestVectorsAreComplete(t *testing.T) {
	for _, v := range packettest.Valid() {
		if n, ok := vecFrame(v.Bytes); !ok || n != len(v.Bytes) {
			t.Errorf("valid %s: fixed header announces %d bytes (ok %v), vector has %d", v.Name, n, ok, len(v.Bytes))
		}
	}
	for _, m := range packettest.MalformedVectors() {
		n, ok := vecFrame(m.Bytes)
		if !ok {
			if m.Err != packet.ErrRemainingLength {
				t.Errorf("malformed %s: no valid Remaining Length", m.Name)
			}
			continue
		}
		if n != len(m.Bytes) {
			t.Errorf("malformed %s: fixed header announces %d bytes, vector has %d", m.Name, n, len(m.Bytes))
		}
	}
}

func TestVectorsValidCoversAllTypes(t *testing.T) {
	seen := map[packet.Type]bool{}
	for _, v := range packettest.Valid() {
		if got := packet.Type(v.Bytes[0] >> 4); got != v.Packet.Type() {
			t.Errorf("%s: first byte says %v, packet is %v", v.Name, got, v.Packet.Type())
		}
		seen[v.Packet.Type()] = true
	}
	for typ := packet.TypeConnect; typ <= packet.TypeDisconnect; typ++ {
		if !seen[typ] {
			t.Errorf("no valid vector of type %v", typ)
		}
	}
}

// TestVectorsFresh checks that Valid builds new values on each call, so
// that one caller's changes cannot leak into another's vectors.
func TestVectorsFresh(t *testing.T) {
	a, b, c := packettest.Valid(), packettest.Valid(), packettest.Valid()
	for i := range a {
		if a[i].Packet.Size() > 2 && a[i].Packet == b[i].Packet { // PINGREQ and kin are zero-size: any address will do
			t.Errorf("%s: two calls return the same packet value", a[i].Name)
		}
		for j := range a[i].Bytes {
			a[i].Bytes[j] = 0
		}
		if p, ok := a[i].Packet.(*packet.Publish); ok {
			clear(p.Topic)
			clear(p.Payload)
		}
	}
	if diff := cmp.Diff(c, b, vecEquate); diff != "" {
		t.Errorf("changing one call's vectors changed another's (-want +got):\n%s", diff)
	}
	m1, m2, m3 := packettest.MalformedVectors(), packettest.MalformedVectors(), packettest.MalformedVectors()
	for i := range m1 {
		clear(m1[i].Bytes)
		if !bytes.Equal(m2[i].Bytes, m3[i].Bytes) {
			t.Errorf("%s: changing one call's bytes changed another's", m1[i].Name)
		}
	}
}

func TestVectorsValidDecode(t *testing.T) {
	for _, v := range packettest.Valid() {
		t.Run(v.Name, func(t *testing.T) {
			var d packet.Decoder
			p, n, err := d.Decode(v.Bytes)
			if err != nil {
				t.Fatalf("Decoder.Decode: %v", err)
			}
			if n != len(v.Bytes) {
				t.Errorf("Decoder.Decode took %d bytes, want %d", n, len(v.Bytes))
			}
			if diff := cmp.Diff(v.Packet, p, vecEquate); diff != "" {
				t.Errorf("Decoder.Decode (-want +got):\n%s", diff)
			}

			// More bytes after the packet are the next packet's.
			more := append(append([]byte(nil), v.Bytes...), 0xC0, 0x00)
			p, n, err = d.Decode(more)
			if err != nil || n != len(v.Bytes) {
				t.Errorf("Decoder.Decode with a PINGREQ after it: %d bytes, %v; want %d, nil", n, err, len(v.Bytes))
			} else if diff := cmp.Diff(v.Packet, p, vecEquate); diff != "" {
				t.Errorf("Decoder.Decode with a PINGREQ after it (-want +got):\n%s", diff)
			}

			own := packet.New(v.Packet.Type())
			n, err = own.Decode(v.Bytes)
			if err != nil {
				t.Fatalf("%T.Decode: %v", own, err)
			}
			if n != len(v.Bytes) {
				t.Errorf("%T.Decode took %d bytes, want %d", own, n, len(v.Bytes))
			}
			if diff := cmp.Diff(v.Packet, packet.Packet(own), vecEquate); diff != "" {
				t.Errorf("%T.Decode (-want +got):\n%s", own, diff)
			}

			r := packet.NewReader(bytes.NewReader(v.Bytes), 0)
			p, err = r.ReadPacket()
			if err != nil {
				t.Fatalf("Reader.ReadPacket: %v", err)
			}
			if diff := cmp.Diff(v.Packet, p, vecEquate); diff != "" {
				t.Errorf("Reader.ReadPacket (-want +got):\n%s", diff)
			}
			if _, err := r.ReadPacket(); err != io.EOF {
				t.Errorf("Reader.ReadPacket after the packet: %v, want io.EOF", err)
			}
		})
	}
}

// TestVectorsValidDecodeStream decodes all valid vectors back to back with one
// Decoder, whose storage each packet reuses, forwards and backwards.
func TestVectorsValidDecodeStream(t *testing.T) {
	vs := packettest.Valid()
	for _, order := range []string{"forward", "backward"} {
		if order == "backward" {
			for i, j := 0, len(vs)-1; i < j; i, j = i+1, j-1 {
				vs[i], vs[j] = vs[j], vs[i]
			}
		}
		stream := vecConcat(vs)
		var d packet.Decoder
		off := 0
		for _, v := range vs {
			p, n, err := d.Decode(stream[off:])
			if err != nil {
				t.Fatalf("%s: %s at offset %d: %v", order, v.Name, off, err)
			}
			if n != len(v.Bytes) {
				t.Fatalf("%s: %s took %d bytes, want %d", order, v.Name, n, len(v.Bytes))
			}
			if diff := cmp.Diff(v.Packet, p, vecEquate); diff != "" {
				t.Errorf("%s: %s (-want +got):\n%s", order, v.Name, diff)
			}
			off += n
		}
		if off != len(stream) {
			t.Errorf("%s: decoded %d of %d bytes", order, off, len(stream))
		}
	}
}

// TestVectorsValidReadStream reads all valid vectors back to back from one Reader,
// over readers that deliver the stream whole, a byte at a time, and through
// a buffer smaller than most packets.
func TestVectorsValidReadStream(t *testing.T) {
	vs := packettest.Valid()
	stream := vecConcat(vs)
	sources := []struct {
		name string
		r    func() io.Reader
	}{
		{"whole", func() io.Reader { return bytes.NewReader(stream) }},
		{"one-byte-reads", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) }},
		{"half-reads", func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream)) }},
		{"bufio-16", func() io.Reader { return bufio.NewReaderSize(bytes.NewReader(stream), 16) }},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			r := packet.NewReader(src.r(), 0)
			for _, v := range vs {
				p, err := r.ReadPacket()
				if err != nil {
					t.Fatalf("%s: %v", v.Name, err)
				}
				if diff := cmp.Diff(v.Packet, p, vecEquate); diff != "" {
					t.Errorf("%s (-want +got):\n%s", v.Name, diff)
				}
			}
			for range 2 {
				if p, err := r.ReadPacket(); err != io.EOF {
					t.Errorf("after the last packet: %v, %v; want io.EOF", p, err)
				}
			}
		})
	}
}

func TestVectorsReaderEmptyStream(t *testing.T) {
	r := packet.NewReader(bytes.NewReader(nil), 0)
	if p, err := r.ReadPacket(); err != io.EOF || p != nil {
		t.Errorf("ReadPacket on an empty stream: %v, %v; want nil, io.EOF", p, err)
	}
}

func TestVectorsValidEncode(t *testing.T) {
	for _, v := range packettest.Valid() {
		t.Run(v.Name, func(t *testing.T) {
			want := packettest.Valid() // an untouched copy, to see that encoding changes nothing
			if got := v.Packet.Size(); got != len(v.Bytes) {
				t.Errorf("Size() = %d, want %d", got, len(v.Bytes))
			}

			got, err := v.Packet.AppendBinary(nil)
			if err != nil {
				t.Fatalf("AppendBinary(nil): %v", err)
			}
			if !bytes.Equal(got, v.Bytes) {
				t.Errorf("AppendBinary(nil):\n got % x\nwant % x", got, v.Bytes)
			}

			prefix := []byte("prefix")
			got, err = v.Packet.AppendBinary(prefix[:len(prefix):len(prefix)])
			if err != nil {
				t.Fatalf("AppendBinary(prefix): %v", err)
			}
			if !bytes.Equal(got, append([]byte("prefix"), v.Bytes...)) {
				t.Errorf("AppendBinary(prefix):\n got % x\nwant prefix + % x", got, v.Bytes)
			}

			roomy := make([]byte, 3, 3+len(v.Bytes))
			got, err = v.Packet.AppendBinary(roomy)
			if err != nil {
				t.Fatalf("AppendBinary(roomy): %v", err)
			}
			if !bytes.Equal(got, append([]byte{0, 0, 0}, v.Bytes...)) {
				t.Errorf("AppendBinary into a slice with room:\n got % x\nwant 00 00 00 + % x", got, v.Bytes)
			}

			for _, allowInvalid := range []bool{false, true} {
				got, err = packet.Append(nil, v.Packet, allowInvalid)
				if err != nil || !bytes.Equal(got, v.Bytes) {
					t.Errorf("Append(allowInvalid %v): % x, %v; want % x", allowInvalid, got, err, v.Bytes)
				}
			}

			var buf bytes.Buffer
			if err := packet.NewWriter(&buf).WritePacket(v.Packet); err != nil {
				t.Fatalf("Writer.WritePacket: %v", err)
			}
			if !bytes.Equal(buf.Bytes(), v.Bytes) {
				t.Errorf("Writer.WritePacket:\n got % x\nwant % x", buf.Bytes(), v.Bytes)
			}

			// decode(encode(p)) == p
			enc, err := v.Packet.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			dec := packet.New(v.Packet.Type())
			if n, err := dec.Decode(enc); err != nil || n != len(enc) {
				t.Fatalf("decoding the encoding: %d bytes, %v; want %d, nil", n, err, len(enc))
			}
			if diff := cmp.Diff(v.Packet, packet.Packet(dec), vecEquate); diff != "" {
				t.Errorf("decode(encode(p)) != p (-want +got):\n%s", diff)
			}

			for _, w := range want {
				if w.Name == v.Name {
					if diff := cmp.Diff(w.Packet, v.Packet, vecEquate); diff != "" {
						t.Errorf("encoding changed the packet (-want +got):\n%s", diff)
					}
				}
			}
		})
	}
}

// TestVectorsValidPrefixes cuts every valid vector short at every length: the
// decoders must ask for more bytes, never report a malformed packet, never
// panic.
func TestVectorsValidPrefixes(t *testing.T) {
	for _, v := range packettest.Valid() {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			var d packet.Decoder
			for k := range len(v.Bytes) {
				prefix := v.Bytes[:k:k]

				p, n, err := d.Decode(prefix)
				if !errors.Is(err, io.ErrUnexpectedEOF) || vecIsProtocolError(err) || n != 0 || p != nil {
					t.Fatalf("Decoder.Decode of %d of %d bytes: %v, %d, %v; want nil, 0, io.ErrUnexpectedEOF", k, len(v.Bytes), p, n, err)
				}

				own := packet.New(v.Packet.Type())
				n, err = own.Decode(prefix)
				if !errors.Is(err, io.ErrUnexpectedEOF) || vecIsProtocolError(err) || n != 0 {
					t.Fatalf("%T.Decode of %d of %d bytes: %d, %v; want 0, io.ErrUnexpectedEOF", own, k, len(v.Bytes), n, err)
				}

				want := io.ErrUnexpectedEOF
				if k == 0 {
					want = io.EOF // a clean end between packets
				}
				r := packet.NewReader(bytes.NewReader(prefix), 0)
				p, err = r.ReadPacket()
				if !errors.Is(err, want) || vecIsProtocolError(err) || p != nil {
					t.Fatalf("Reader.ReadPacket of %d of %d bytes: %v, %v; want nil, %v", k, len(v.Bytes), p, err, want)
				}
			}
		})
	}
}

func vecIsProtocolError(err error) bool {
	var pe *packet.ProtocolError
	return errors.As(err, &pe)
}

// vecCheckError checks that err is the *packet.ProtocolError that m
// calls for.
func vecCheckError(t *testing.T, where string, err error, m packettest.Malformed) {
	t.Helper()
	var pe *packet.ProtocolError
	if !errors.As(err, &pe) {
		t.Errorf("%s: %v (%T), want a *packet.ProtocolError", where, err, err)
		return
	}
	if pe.Rule != m.Rule {
		t.Errorf("%s: Rule %q, want %q (error: %v)", where, pe.Rule, m.Rule, err)
	}
	if !errors.Is(err, m.Err) {
		t.Errorf("%s: error %v does not match %v", where, err, m.Err)
	}
	if !errors.Is(err, packet.ErrMalformed) {
		t.Errorf("%s: error %v does not match packet.ErrMalformed", where, err)
	}
	if !strings.Contains(err.Error(), m.Rule) {
		t.Errorf("%s: %q does not name rule %s", where, err.Error(), m.Rule)
	}
	if want := packet.Type(m.Bytes[0] >> 4); pe.Type != want {
		t.Errorf("%s: Type %v, want %v (error: %v)", where, pe.Type, want, err)
	}
}

func TestVectorsMalformed(t *testing.T) {
	for _, m := range packettest.MalformedVectors() {
		t.Run(m.Name, func(t *testing.T) {
			var d packet.Decoder
			p, n, err := d.Decode(m.Bytes)
			if p != nil || n != 0 {
				t.Errorf("Decoder.Decode: %v, %d; want nil, 0", p, n)
			}
			vecCheckError(t, "Decoder.Decode", err, m)

			r := packet.NewReader(bytes.NewReader(m.Bytes), 0)
			p, err = r.ReadPacket()
			if p != nil {
				t.Errorf("Reader.ReadPacket: %v, want nil", p)
			}
			vecCheckError(t, "Reader.ReadPacket", err, m)
			if _, again := r.ReadPacket(); again != err {
				t.Errorf("Reader.ReadPacket after an error: %v, want the same error %v", again, err)
			}

			if own := packet.New(packet.Type(m.Bytes[0] >> 4)); own != nil {
				n, err := own.Decode(m.Bytes)
				if n != 0 {
					t.Errorf("%T.Decode took %d bytes, want 0", own, n)
				}
				vecCheckError(t, "own Decode", err, m)
			}
		})
	}
}

// TestVectorsDecoderAndReaderAgree checks that Decoder.Decode and
// Reader.ReadPacket report the same fault, field for field, for every
// malformed vector and for packets that break two rules of the fixed
// header at once (flags and length), where the order of the checks decides.
func TestVectorsDecoderAndReaderAgree(t *testing.T) {
	type input struct {
		name string
		b    []byte
	}
	var inputs []input
	for _, m := range packettest.MalformedVectors() {
		inputs = append(inputs, input{m.Name, m.Bytes})
	}
	inputs = append(inputs,
		input{"double-fault/CONNACK-flags-and-length", []byte{0x21, 0x03, 0x00, 0x00, 0x00}},
		input{"double-fault/PUBACK-flags-and-length", []byte{0x41, 0x03, 0x00, 0x01, 0x00}},
		input{"double-fault/PUBREL-flags-and-length", []byte{0x60, 0x01, 0x01}},
		input{"double-fault/UNSUBACK-flags-and-length", []byte{0xB1, 0x00}},
		input{"double-fault/PINGREQ-flags-and-length", []byte{0xC1, 0x01, 0x00}},
		input{"double-fault/PINGRESP-flags-and-length", []byte{0xD2, 0x01, 0x00}},
		input{"double-fault/DISCONNECT-flags-and-length", []byte{0xE1, 0x01, 0x00}},
	)
	for _, in := range inputs {
		var d packet.Decoder
		_, _, derr := d.Decode(in.b)
		_, rerr := packet.NewReader(bytes.NewReader(in.b), 0).ReadPacket()
		var dpe, rpe *packet.ProtocolError
		if !errors.As(derr, &dpe) || !errors.As(rerr, &rpe) {
			t.Errorf("%s: Decoder %v, Reader %v; want two *packet.ProtocolError", in.name, derr, rerr)
			continue
		}
		if *dpe != *rpe {
			t.Errorf("%s: Decoder and Reader disagree:\nDecoder: %+v (%v)\nReader:  %+v (%v)", in.name, *dpe, dpe, *rpe, rpe)
		}
	}
}

// vecMalformedCoverage lists, for each packet type, the rules and sentinels
// that must keep at least one malformed vector. Type 0 and 15 stand for the
// reserved types.
var vecMalformedCoverage = []struct {
	typ  packet.Type
	rule string
	err  error
}{
	// Fixed header (section 2.2).
	{packet.TypePublish, "2.2.3", packet.ErrRemainingLength}, // five-byte Remaining Length
	{0, "2.2.1", packet.ErrPacketType},
	{15, "2.2.1", packet.ErrPacketType},
	{packet.TypeConnect, "MQTT-2.2.2-1", packet.ErrFlags},
	{packet.TypeConnack, "MQTT-2.2.2-1", packet.ErrFlags},
	{packet.TypePuback, "MQTT-2.2.2-1", packet.ErrFlags},
	{packet.TypePubrec, "MQTT-2.2.2-1", packet.ErrFlags},
	{packet.TypePubrel, "MQTT-3.6.1-1", packet.ErrFlags},
	{packet.TypePubcomp, "MQTT-2.2.2-1", packet.ErrFlags},
	{packet.TypeSubscribe, "MQTT-3.8.1-1", packet.ErrFlags},
	{packet.TypeSuback, "MQTT-2.2.2-1", packet.ErrFlags},
	{packet.TypeUnsubscribe, "MQTT-3.10.1-1", packet.ErrFlags},
	{packet.TypeUnsuback, "MQTT-2.2.2-1", packet.ErrFlags},
	{packet.TypePingreq, "MQTT-2.2.2-1", packet.ErrFlags},
	{packet.TypePingresp, "MQTT-2.2.2-1", packet.ErrFlags},
	{packet.TypeDisconnect, "MQTT-3.14.1-1", packet.ErrFlags},

	// PUBLISH flags.
	{packet.TypePublish, "MQTT-3.3.1-4", packet.ErrQoS},
	{packet.TypePublish, "MQTT-3.3.1-2", packet.ErrDup},

	// Packet identifier 0.
	{packet.TypePublish, "MQTT-2.3.1-1", packet.ErrPacketID},
	{packet.TypePuback, "MQTT-2.3.1-6", packet.ErrPacketID},
	{packet.TypePubrec, "MQTT-2.3.1-6", packet.ErrPacketID},
	{packet.TypePubrel, "MQTT-2.3.1-6", packet.ErrPacketID},
	{packet.TypePubcomp, "MQTT-2.3.1-6", packet.ErrPacketID},
	{packet.TypeSubscribe, "MQTT-2.3.1-1", packet.ErrPacketID},
	{packet.TypeSuback, "MQTT-2.3.1-7", packet.ErrPacketID},
	{packet.TypeUnsubscribe, "MQTT-2.3.1-1", packet.ErrPacketID},
	{packet.TypeUnsuback, "MQTT-2.3.1-7", packet.ErrPacketID},

	// Strings, topic names and topic filters.
	{packet.TypePublish, "MQTT-1.5.3-1", packet.ErrUTF8},
	{packet.TypeConnect, "MQTT-1.5.3-1", packet.ErrUTF8},
	{packet.TypeSubscribe, "MQTT-1.5.3-1", packet.ErrUTF8},
	{packet.TypeUnsubscribe, "MQTT-1.5.3-1", packet.ErrUTF8},
	{packet.TypePublish, "MQTT-4.7.3-2", packet.ErrNullChar},
	{packet.TypeConnect, "MQTT-1.5.3-2", packet.ErrNullChar}, // client identifier, user name
	{packet.TypeConnect, "MQTT-4.7.3-2", packet.ErrNullChar}, // will topic
	{packet.TypeSubscribe, "MQTT-4.7.3-2", packet.ErrNullChar},
	{packet.TypeUnsubscribe, "MQTT-4.7.3-2", packet.ErrNullChar},
	{packet.TypePublish, "MQTT-4.7.3-1", packet.ErrEmptyTopic},
	{packet.TypeConnect, "MQTT-4.7.3-1", packet.ErrEmptyTopic},
	{packet.TypeSubscribe, "MQTT-4.7.3-1", packet.ErrEmptyTopic},
	{packet.TypeUnsubscribe, "MQTT-4.7.3-1", packet.ErrEmptyTopic},
	{packet.TypePublish, "MQTT-3.3.2-2", packet.ErrWildcard},
	{packet.TypeConnect, "MQTT-3.3.2-2", packet.ErrWildcard},
	{packet.TypeSubscribe, "MQTT-4.7.1-2", packet.ErrFilter},
	{packet.TypeSubscribe, "MQTT-4.7.1-3", packet.ErrFilter},
	{packet.TypeUnsubscribe, "MQTT-4.7.1-2", packet.ErrFilter},
	{packet.TypeUnsubscribe, "MQTT-4.7.1-3", packet.ErrFilter},

	// SUBSCRIBE and UNSUBSCRIBE payloads.
	{packet.TypeSubscribe, "MQTT-3.8.3-3", packet.ErrNoFilters},
	{packet.TypeUnsubscribe, "MQTT-3.10.3-2", packet.ErrNoFilters},
	{packet.TypeSubscribe, "MQTT-3.8.3-4", packet.ErrRequestedQoS},

	// CONNECT variable header.
	{packet.TypeConnect, "MQTT-3.1.2-1", packet.ErrProtocolName},
	{packet.TypeConnect, "MQTT-3.1.2-2", packet.ErrProtocolLevel},
	{packet.TypeConnect, "MQTT-3.1.2-3", packet.ErrConnectFlags},
	{packet.TypeConnect, "MQTT-3.1.2-13", packet.ErrConnectFlags},
	{packet.TypeConnect, "MQTT-3.1.2-14", packet.ErrQoS},
	{packet.TypeConnect, "MQTT-3.1.2-15", packet.ErrConnectFlags},
	{packet.TypeConnect, "MQTT-3.1.2-22", packet.ErrConnectFlags},

	// CONNACK and SUBACK.
	{packet.TypeConnack, "3.2.2.1", packet.ErrConnackFlags},
	{packet.TypeConnack, "3.2.2.3", packet.ErrReturnCode},
	{packet.TypeConnack, "MQTT-3.2.2-4", packet.ErrConnackFlags},
	{packet.TypeSuback, "MQTT-3.9.3-2", packet.ErrReturnCode},
	{packet.TypeSuback, "MQTT-3.8.4-5", packet.ErrMissingReturnCode},

	// Bytes left over, and fixed lengths.
	{packet.TypeConnect, "2.2.3", packet.ErrTrailingBytes},
	{packet.TypeConnack, "3.2.1", packet.ErrRemainingLength},
	{packet.TypePuback, "3.4.1", packet.ErrRemainingLength},
	{packet.TypePubrec, "3.5.1", packet.ErrRemainingLength},
	{packet.TypePubrel, "3.6.1", packet.ErrRemainingLength},
	{packet.TypePubcomp, "3.7.1", packet.ErrRemainingLength},
	{packet.TypeUnsuback, "3.11.1", packet.ErrRemainingLength},
	{packet.TypePingreq, "3.12.1", packet.ErrRemainingLength},
	{packet.TypePingresp, "3.13.1", packet.ErrRemainingLength},
	{packet.TypeDisconnect, "3.14.1", packet.ErrRemainingLength},

	// Fields running past the end of the packet.
	{packet.TypeConnect, "2.2.3", packet.ErrShortPacket},
	{packet.TypePublish, "2.2.3", packet.ErrShortPacket},
	{packet.TypeSubscribe, "2.2.3", packet.ErrShortPacket},
	{packet.TypeUnsubscribe, "2.2.3", packet.ErrShortPacket},
	{packet.TypeSuback, "2.2.3", packet.ErrShortPacket},
}

// TestVectorsMalformedCoverage keeps the malformed vectors from silently losing a
// rule: each entry of vecMalformedCoverage needs at least one vector.
func TestVectorsMalformedCoverage(t *testing.T) {
	type key struct {
		typ  packet.Type
		rule string
		err  error
	}
	have := map[key]int{}
	for _, m := range packettest.MalformedVectors() {
		have[key{packet.Type(m.Bytes[0] >> 4), m.Rule, m.Err}]++
	}
	for _, c := range vecMalformedCoverage {
		if have[key{c.typ, c.rule, c.err}] == 0 {
			t.Errorf("no malformed %v vector for rule %s (%v)", c.typ, c.rule, c.err)
		}
	}
}
