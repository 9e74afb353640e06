package packet

import (
	"bytes"
	"io"
	"slices"
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

// blockingSource serves its chunks one Read at a time; a nil chunk is a
// read that would have to wait (ErrWouldBlock).
type blockingSource struct{ chunks [][]byte }

func (b *blockingSource) Read(p []byte) (int, error) {
	if len(b.chunks) == 0 {
		return 0, io.EOF
	}
	c := b.chunks[0]
	b.chunks = b.chunks[1:]
	if c == nil {
		return 0, ErrWouldBlock
	}
	return copy(p, c), nil
}

// TestPooledReaderWouldBlock: ErrWouldBlock from the read between packets
// is returned with nothing consumed and the stream goes on; from a read
// inside a packet it is an error that ends the stream, like any other.
func TestPooledReaderWouldBlock(t *testing.T) {
	pub, _ := (&Publish{Topic: []byte("a/b"), Payload: []byte("hello"), QoS: QoS1, PacketID: 7}).AppendBinary(nil)
	r := NewPooledReader(&blockingSource{chunks: [][]byte{nil, pub, nil, nil, pub[:4], nil}}, 0)
	steps := []struct {
		err  error
		want bool // a PUBLISH
	}{{ErrWouldBlock, false}, {nil, true}, {ErrWouldBlock, false}, {ErrWouldBlock, false}}
	for i, s := range steps {
		p, err := r.ReadPacket()
		if err != s.err || (p != nil) != s.want {
			t.Fatalf("step %d: %v, %v; want error %v", i, p, err, s.err)
		}
		if err == ErrWouldBlock && (r.br != nil || r.Buffered() != 0) {
			t.Fatalf("step %d: the Reader holds a buffer after ErrWouldBlock", i)
		}
	}
	// The next read starts a packet and stops within it: ErrWouldBlock
	// there breaks the stream for good.
	if _, err := r.ReadPacket(); err != ErrWouldBlock {
		t.Fatalf("inside a packet: %v, want ErrWouldBlock", err)
	}
	if _, err := r.ReadPacket(); err != ErrWouldBlock {
		t.Fatalf("after ErrWouldBlock inside a packet: %v, want the same error again (sticky)", err)
	}
	if r.err == nil {
		t.Fatal("ErrWouldBlock inside a packet did not end the stream")
	}
}

// countingSource is a blockingSource that records the size of each read.
type countingSource struct {
	blockingSource
	sizes []int
}

func (c *countingSource) Read(p []byte) (int, error) {
	c.sizes = append(c.sizes, len(p))
	if len(c.chunks) > 0 && len(c.chunks[0]) > len(p) {
		n := copy(p, c.chunks[0])
		c.chunks[0] = c.chunks[0][n:] // the rest, at the next read
		return n, nil
	}
	return c.blockingSource.Read(p)
}

// TestPooledReaderDirect: until its source has returned ErrWouldBlock, a
// pooled Reader waits for a packet in its small array, holding no buffer;
// once it has, the source never waits between packets, and a packet
// longer than the array is read in one call, straight into a pooled
// buffer, given back when a read finds nothing.
func TestPooledReaderDirect(t *testing.T) {
	pub, _ := (&Publish{Topic: []byte("a/b"), Payload: bytes.Repeat([]byte("x"), 300), QoS: QoS1, PacketID: 7}).AppendBinary(nil)
	src := &countingSource{blockingSource: blockingSource{chunks: [][]byte{pub, nil, pub, nil}}}
	r := NewPooledReader(src, 0)
	if _, err := r.ReadPacket(); err != nil {
		t.Fatal(err)
	}
	if len(src.sizes) != 2 || src.sizes[0] != 64 {
		t.Fatalf("a packet before ErrWouldBlock: reads of %v bytes, want two: 64 (the small array), then the rest into a buffer", src.sizes)
	}
	if _, err := r.ReadPacket(); err != ErrWouldBlock {
		t.Fatalf("got %v, want ErrWouldBlock", err)
	}
	if r.br != nil {
		t.Fatal("the Reader holds a buffer after ErrWouldBlock")
	}
	src.sizes = nil
	p, err := r.ReadPacket()
	if err != nil || len(p.(*Publish).Payload) != 300 {
		t.Fatalf("got %v, %v; want the PUBLISH", p, err)
	}
	if want := []int{DefaultReaderBufferSize}; !slices.Equal(src.sizes, want) {
		t.Fatalf("a packet after ErrWouldBlock: reads of %v bytes, want %v (one, into a buffer)", src.sizes, want)
	}
	if _, err := r.ReadPacket(); err != ErrWouldBlock || r.br != nil {
		t.Fatalf("got %v, holding a buffer: %v; want ErrWouldBlock and no buffer", err, r.br != nil)
	}
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Fatalf("at the end: %v, want io.EOF", err)
	}
}
