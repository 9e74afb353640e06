package packet

import (
	"io"
	"net"
)

// Writer encodes packets and writes each with a single call to the
// underlying writer, or, for a PUBLISH with a large payload, a single
// vectored write (net.Buffers) that sends the payload without copying it.
//
// A Writer is not safe for concurrent use: it is the caller's responsibility
// not to call WritePacket from several goroutines at once.
type Writer struct {
	w   io.Writer
	buf []byte
	vec [2][]byte

	// AllowInvalid turns off validation, so that conformance tools can send
	// malformed packets on purpose. Leave it off otherwise.
	AllowInvalid bool
}

// vectorThreshold is the payload size from which a PUBLISH payload is sent
// from the caller's slice rather than copied into the Writer's buffer.
const vectorThreshold = 16 << 10

// NewWriter returns a Writer that writes to w. Wrap w in a bufio.Writer to
// coalesce several packets into one system call, and flush it yourself.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WritePacket validates p, unless AllowInvalid is set, and writes it. A
// packet that fails validation is not written at all.
func (w *Writer) WritePacket(p Packet) error {
	if !w.AllowInvalid {
		if err := p.validate(); err != nil {
			return err
		}
	}
	if pub, ok := p.(*Publish); ok && len(pub.Payload) >= vectorThreshold {
		w.buf = pub.appendPrefix(w.buf[:0])
		w.vec = [2][]byte{w.buf, pub.Payload}
		bufs := net.Buffers(w.vec[:])
		_, err := bufs.WriteTo(w.w)
		w.vec = [2][]byte{}
		return err
	}
	w.buf = p.appendUnchecked(w.buf[:0])
	_, err := w.w.Write(w.buf)
	if cap(w.buf) > maxRetainedBuffer {
		w.buf = nil
	}
	return err
}
