package packet

import (
	"bytes"
	"io"
	"testing"
)

// watchedReader serves its chunks one Read at a time, and calls onRead
// before each, on the reading goroutine.
type watchedReader struct {
	chunks [][]byte
	onRead func()
}

func (w *watchedReader) Read(p []byte) (int, error) {
	w.onRead()
	if len(w.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, w.chunks[0])
	if n == len(w.chunks[0]) {
		w.chunks = w.chunks[1:]
	} else {
		w.chunks[0] = w.chunks[0][n:]
	}
	return n, nil
}

// TestPooledReaderHoldsNoBufferWhileWaiting: a pooled Reader whose buffer
// is empty waits for the next bytes without a buffer, and keeps one while
// bytes remain, so a packet split across reads or several packets in one
// read come out whole.
func TestPooledReaderHoldsNoBufferWhileWaiting(t *testing.T) {
	ping, _ := (&Pingreq{}).AppendBinary(nil)
	pub, _ := (&Publish{Topic: []byte("a/b"), Payload: bytes.Repeat([]byte{'x'}, 200), QoS: QoS1, PacketID: 7}).AppendBinary(nil)
	big, _ := (&Publish{Topic: []byte("big"), Payload: bytes.Repeat([]byte{'y'}, 20000)}).AppendBinary(nil)
	src := &watchedReader{chunks: [][]byte{
		append(append([]byte{}, ping...), pub[:10]...), // a packet and the start of the next
		pub[10:],
		big, // larger than the buffer
		ping,
	}}
	r := NewPooledReader(src, 0)
	var waitsWithout, waitsWith int
	src.onRead = func() {
		switch {
		case r.br == nil:
			waitsWithout++
		case r.br.Buffered() == 0:
			waitsWith++ // reading more for a packet begun
		}
	}
	for i, want := range [][]byte{ping, pub, big, ping} {
		p, err := r.ReadPacket()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		got, _ := p.AppendBinary(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("packet %d: % x, want % x", i, got[:min(len(got), 16)], want[:min(len(want), 16)])
		}
	}
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
	if r.br != nil || r.buf != nil {
		t.Error("the Reader holds a buffer after the stream ended")
	}
	if waitsWithout < 4 {
		t.Errorf("%d waits for a new packet without a buffer, want at least 4", waitsWithout)
	}
	t.Logf("%d reads without a buffer, %d with an empty one", waitsWithout, waitsWith)
}

// TestPooledReaderAllocs: reading packets that arrive one per read, a
// pooled Reader allocates nothing in steady state.
func TestPooledReaderAllocs(t *testing.T) {
	pub, _ := (&Publish{Topic: []byte("a/b"), Payload: []byte("hello"), QoS: QoS1, PacketID: 7}).AppendBinary(nil)
	src := &loopReader{b: pub}
	r := NewPooledReader(src, 0)
	r.ReadPacket()
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := r.ReadPacket(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per packet, want 0", n)
	}
}

// loopReader returns b on every Read.
type loopReader struct{ b []byte }

func (l *loopReader) Read(p []byte) (int, error) { return copy(p, l.b), nil }
