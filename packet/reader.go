package packet

import (
	"bufio"
	"errors"
	"io"
	"sync"
)

// Reader reads packets one at a time from a byte stream.
//
// It refuses a reserved packet type, a Remaining Length longer than four
// bytes, a packet larger than its maximum packet size, and a fixed-size
// packet with the wrong length, all before it reads or allocates anything
// for the body. A body too large for the buffered reader is read into a
// buffer grown in step with the bytes that actually arrive, so a peer that
// claims a large size and sends little costs little memory.
//
// The packet ReadPacket returns, and every byte slice in it, stays valid only
// until the next call to ReadPacket: the Reader reuses both the packet
// structs and the buffers. Call the packet's Clone method to keep it.
//
// The Reader consumes a packet's body from the bufio.Reader only at the next
// call to ReadPacket, so that the body can be decoded in place: a caller that
// passed in its own *bufio.Reader must not read from it directly.
//
// A Reader is not safe for concurrent use. After an error other than io.EOF
// the stream is out of step and every later call returns the same error.
type Reader struct {
	br      *bufio.Reader // nil while a pooled Reader holds no buffer
	src     aheadReader   // a pooled Reader's source
	pooled  bool
	direct  bool // the source returned ErrWouldBlock: it never waits between packets
	d       Decoder
	buf     []byte // body storage for packets that do not fit in br
	pending int    // bytes peeked from br for the last packet, to discard
	err     error  // sticky error
}

// DefaultReaderBufferSize is the size of the bufio.Reader that NewReader
// wraps around a reader that is not one already.
const DefaultReaderBufferSize = 4096

// maxRetainedBuffer is the largest body buffer a Reader keeps between
// packets; a larger one, needed for an exceptional packet, is dropped.
const maxRetainedBuffer = 64 << 10

// firstChunk is the first step of the body buffer when a body does not fit
// in the bufio.Reader.
const firstChunk = 16 << 10

// NewReader returns a Reader that reads from r, which it wraps in a
// bufio.Reader unless r is one, and accepts packets of at most maxPacketSize
// bytes, fixed header included (zero or less: DefaultMaxPacketSize).
func NewReader(r io.Reader, maxPacketSize int) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, DefaultReaderBufferSize)
	}
	return &Reader{br: br, d: Decoder{MaxPacketSize: maxPacketSize}}
}

// SetMaxPacketSize changes the largest packet accepted from the next call
// to ReadPacket on (zero or less: DefaultMaxPacketSize). A server reads a
// connection's CONNECT under a small limit, then raises it once the client
// is authenticated.
func (r *Reader) SetMaxPacketSize(n int) { r.d.MaxPacketSize = n }

// SetMQTT31 sets whether the Reader reads the packets of an MQTT 3.1
// client (Decoder.MQTT31).
func (r *Reader) SetMQTT31(v bool) { r.d.MQTT31 = v }

// NewPooledReader returns a Reader like NewReader, except that it holds a
// read buffer only while it has unread bytes: when ReadPacket finds the
// buffer empty, it gives it back to a pool shared by all pooled Readers and
// waits for the next bytes in a small array of its own, then takes a
// buffer again. A server with many idle connections so holds no read
// buffer for them; a busy connection, whose buffer is seldom empty, pays
// one more read call each time it is.
func NewPooledReader(r io.Reader, maxPacketSize int) *Reader {
	return &Reader{src: aheadReader{r: r}, pooled: true, d: Decoder{MaxPacketSize: maxPacketSize}}
}

// readerPool holds the buffers of pooled Readers.
var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, DefaultReaderBufferSize) }}

// aheadReader reads the bytes a pooled Reader read ahead while it held no
// buffer, then from r.
type aheadReader struct {
	r     io.Reader
	ahead [64]byte
	i, n  int
}

func (a *aheadReader) Read(p []byte) (int, error) {
	if a.i < a.n {
		n := copy(p, a.ahead[a.i:a.n])
		a.i += n
		return n, nil
	}
	return a.r.Read(p)
}

// Release gives a pooled Reader's buffer back to the pool if it holds no
// unread bytes, as the next ReadPacket would before waiting; a server
// calls it where its goroutine's stack is deep anyway, so that the waiting
// goroutine's stays small. It does nothing for a Reader from NewReader.
func (r *Reader) Release() {
	if r.pooled && r.br != nil && r.br.Buffered() == r.pending {
		if r.pending > 0 {
			r.br.Discard(r.pending) // cannot fail: the bytes were peeked
			r.pending = 0
		}
		r.br.Reset(nil)
		readerPool.Put(r.br)
		r.br = nil
		r.buf = nil
	}
}

// refill gives a pooled Reader's empty buffer back, and takes one again
// once bytes arrive; it returns the error of that wait.
//
// A source that has returned ErrWouldBlock never waits between packets, so
// a buffer held across its read is held for no time: refill reads it
// straight into a buffer from the pool, and gives that back if nothing
// came. A packet longer than the small array then costs one read, not two.
func (r *Reader) refill() error {
	if r.br != nil {
		if r.br.Buffered() > 0 {
			return nil
		}
		if !r.direct {
			r.Release()
		}
	}
	if r.direct {
		if r.br == nil {
			r.src.i, r.src.n = 0, 0
			r.br = readerPool.Get().(*bufio.Reader)
			r.br.Reset(&r.src)
		}
		if _, err := r.br.Peek(1); err != nil {
			r.Release()
			return err
		}
		return nil
	}
	n, err := r.src.r.Read(r.src.ahead[:])
	if err == ErrWouldBlock {
		r.direct = true
	}
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	r.src.i, r.src.n = 0, n
	r.br = readerPool.Get().(*bufio.Reader)
	r.br.Reset(&r.src)
	return nil
}

// Buffered returns how many bytes have been read from the stream beyond
// the last packet ReadPacket returned: when it is zero, the next
// ReadPacket will wait for the stream. A server flushes what it has to
// write before that wait, and batches what it has to write while packets
// keep coming.
func (r *Reader) Buffered() int {
	if r.br == nil {
		return 0
	}
	return r.br.Buffered() - r.pending
}

// ReadPacket reads and decodes the next packet. It returns io.EOF if the
// stream ends cleanly between packets, io.ErrUnexpectedEOF if it ends inside
// one, a *ProtocolError for a malformed or oversized packet, or the error of
// the underlying reader.
func (r *Reader) ReadPacket() (Packet, error) {
	if r.err != nil {
		return nil, r.err
	}
	p, err := r.readPacket()
	if err != nil && (err != ErrWouldBlock || r.br != nil || !r.pooled) {
		r.err = err // r.br is nil only if the read between packets found nothing
	}
	return p, err
}

// ErrWouldBlock is for the source of a pooled Reader that cannot wait (a
// non-blocking connection): returned by the source from the first read of
// a packet, which a pooled Reader makes only once it has used every byte
// it read (Buffered is zero), it is returned by ReadPacket with nothing
// consumed, and the stream goes on: the caller calls ReadPacket again once
// the source has bytes. It is an error from any other read.
var ErrWouldBlock = errors.New("mqtt: nothing to read without waiting")

func (r *Reader) readPacket() (Packet, error) {
	if r.pending > 0 {
		r.br.Discard(r.pending) // cannot fail: the bytes were peeked
		r.pending = 0
	}
	if cap(r.buf) > maxRetainedBuffer {
		r.buf = nil
	}
	if r.pooled {
		if err := r.refill(); err != nil {
			return nil, err // io.EOF here is a clean end between packets
		}
	}

	b0, err := r.br.ReadByte()
	if err != nil {
		return nil, err // io.EOF here is a clean end between packets
	}
	t, flags := Type(b0>>4), b0&0x0f
	if !t.Valid() {
		return nil, errReservedType(t)
	}
	rl, size := 0, 0
	for {
		if size == 4 {
			return nil, withType(errRemainingLengthTooLong, t)
		}
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, noEOF(err)
		}
		rl |= int(c&0x7f) << (7 * size)
		size++
		if c < 0x80 {
			break
		}
	}
	// Refuse what the header alone condemns, in the order the decoders
	// check it, before reading the body.
	if t != TypePublish {
		if err := checkFlags(t, r.d.dup31(t, flags)); err != nil {
			return nil, err
		}
	}
	if err := checkFixedLength(t, rl); err != nil {
		return nil, err
	}
	if 1+size+rl > r.d.maxPacketSize() {
		return nil, errTooLarge(t)
	}

	var body []byte
	if rl <= r.br.Size() {
		body, err = r.br.Peek(rl)
		if err != nil {
			return nil, noEOF(err)
		}
		r.pending = rl
	} else if body, err = r.readLarge(rl); err != nil {
		return nil, err
	}
	return r.d.decodeBody(t, flags, body[:rl:rl])
}

// readLarge reads a body of n bytes, larger than the bufio.Reader's buffer,
// into r.buf. The buffer grows at most twofold per step, so what it
// allocates stays within a small multiple of the bytes received.
func (r *Reader) readLarge(n int) ([]byte, error) {
	b := r.buf[:0]
	for len(b) < n {
		step := min(n-len(b), max(len(b), firstChunk))
		if cap(b)-len(b) < step {
			nb := make([]byte, len(b), len(b)+step)
			copy(nb, b)
			b = nb
		}
		if _, err := io.ReadFull(r.br, b[len(b):len(b)+step]); err != nil {
			return nil, noEOF(err)
		}
		b = b[:len(b)+step]
	}
	r.buf = b
	return b, nil
}

// noEOF turns an end of stream inside a packet into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
