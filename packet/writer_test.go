package packet_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// callRecorder records each Write call: a copy of its bytes and the slice
// itself, to see whether the writer was handed the caller's storage.
type callRecorder struct {
	calls  [][]byte // copies
	slices [][]byte // the slices as passed
}

func (c *callRecorder) Write(p []byte) (int, error) {
	c.calls = append(c.calls, append([]byte(nil), p...))
	c.slices = append(c.slices, p)
	return len(p), nil
}

func (c *callRecorder) bytes() []byte { return bytes.Join(c.calls, nil) }

// largePublishes straddle the size from which the Writer sends the payload
// from the caller's slice.
func largePublishes() []*packet.Publish {
	var ps []*packet.Publish
	for i, n := range []int{16<<10 - 1, 16 << 10, 16<<10 + 1, 100 << 10, 1 << 20} {
		p := &packet.Publish{QoS: packet.QoS(i % 3), Topic: []byte("large/payload"), Payload: make([]byte, n)}
		if p.QoS != packet.QoS0 {
			p.PacketID = uint16(i + 1)
		}
		for j := range p.Payload {
			p.Payload[j] = byte(j * 7)
		}
		ps = append(ps, p)
	}
	return ps
}

func TestWriterMatchesAppendBinary(t *testing.T) {
	all := everyType()
	for _, p := range largePublishes() {
		all = append(all, p)
	}
	var whole []byte
	for _, p := range all {
		want := appendOrFatal(t, p)
		whole = append(whole, want...)
		var rec callRecorder
		if err := packet.NewWriter(&rec).WritePacket(p); err != nil {
			t.Fatalf("%v: %v", p.Type(), err)
		}
		if got := rec.bytes(); !bytes.Equal(got, want) {
			t.Errorf("%v (%d bytes): WritePacket wrote % x, AppendBinary % x", p.Type(), len(want), clip32(got), clip32(want))
		}
		pub, ok := p.(*packet.Publish)
		switch {
		case ok && len(pub.Payload) >= 16<<10:
			// A large payload goes out from the caller's slice, uncopied.
			last := rec.slices[len(rec.slices)-1]
			if len(rec.calls) != 2 || len(last) != len(pub.Payload) || &last[0] != &pub.Payload[0] {
				t.Errorf("PUBLISH with %d-byte payload: %d writes; want the header, then the payload slice itself", len(pub.Payload), len(rec.calls))
			}
		case len(rec.calls) != 1:
			t.Errorf("%v (%d bytes): %d writes, want 1", p.Type(), len(want), len(rec.calls))
		}
	}

	// One Writer for all of them, its buffer reused from packet to packet.
	var buf bytes.Buffer
	w := packet.NewWriter(&buf)
	for _, p := range all {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(buf.Bytes(), whole) {
		t.Errorf("a reused Writer wrote %d bytes that differ from the %d of AppendBinary", buf.Len(), len(whole))
	}

	// Through a bufio.Writer, flushed by the caller.
	buf.Reset()
	bw := bufio.NewWriter(&buf)
	w = packet.NewWriter(bw)
	for _, p := range all {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), whole) {
		t.Errorf("through a bufio.Writer: %d bytes that differ from the %d of AppendBinary", buf.Len(), len(whole))
	}
}

func TestWriterLeavesPayloadAlone(t *testing.T) {
	for _, p := range largePublishes() {
		orig := append([]byte(nil), p.Payload...)
		var buf bytes.Buffer
		if err := packet.NewWriter(&buf).WritePacket(p); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p.Payload, orig) {
			t.Errorf("%d-byte payload changed by WritePacket", len(orig))
		}
	}
}

func TestWriterOverPipe(t *testing.T) {
	client, server := net.Pipe()
	defer server.Close()
	seq := []packet.Packet{&packet.Pingreq{}}
	for _, p := range largePublishes() {
		seq = append(seq, p, &packet.Puback{PacketID: 77})
	}
	errc := make(chan error, 1)
	go func() {
		defer client.Close()
		w := packet.NewWriter(client)
		for _, p := range seq {
			if err := w.WritePacket(p); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	r := packet.NewReader(server, 2<<20)
	for i, want := range seq {
		p, err := r.ReadPacket()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		sameEncoding(t, "over net.Pipe", p, appendOrFatal(t, want))
	}
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Errorf("after the writer closed: %v, want io.EOF", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("writer: %v", err)
	}
}

// failingWriter accepts ok bytes, then fails every write.
type failingWriter struct {
	ok  int
	n   int
	err error
}

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n+len(p) <= f.ok {
		f.n += len(p)
		return len(p), nil
	}
	n := f.ok - f.n
	f.n = f.ok
	return n, f.err
}

func TestWriterErrors(t *testing.T) {
	boom := errors.New("boom")
	big := largePublishes()[3]
	for _, c := range []struct {
		name string
		p    packet.Packet
		ok   int
	}{
		{"small, nothing accepted", &packet.Puback{PacketID: 1}, 0},
		{"small, half accepted", &packet.Publish{Topic: []byte("t"), Payload: []byte("0123456789")}, 5},
		{"large, nothing accepted", big, 0},
		{"large, header accepted", big, 5},
		{"large, part of the payload accepted", big, 10_000},
	} {
		f := &failingWriter{ok: c.ok, err: boom}
		w := packet.NewWriter(f)
		if err := w.WritePacket(c.p); !errors.Is(err, boom) {
			t.Errorf("%s: WritePacket = %v, want %v", c.name, err, boom)
		}
	}
	// The pipe closed by the peer.
	client, server := net.Pipe()
	server.Close()
	if err := packet.NewWriter(client).WritePacket(big); err == nil {
		t.Errorf("write to a closed pipe: no error")
	}
	client.Close()
}
