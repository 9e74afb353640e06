//go:build unix

package nowait

import (
	"io"
	"net"
	"os"
	"syscall"
)

// Writer writes to one connection without waiting.
type Writer struct {
	rc   syscall.RawConn
	fn   func(fd uintptr) bool // w.write, bound once: a call allocates nothing
	bufs net.Buffers
	n    int
	err  error
}

// New returns a Writer for a plain TCP (or Unix) connection, or nil for
// others (TLS, WebSocket, net.Pipe), which have no descriptor to write to
// without waiting.
func New(nc net.Conn) *Writer {
	rc := rawConn(nc)
	if rc == nil {
		return nil
	}
	w := &Writer{rc: rc}
	w.fn = w.write
	return w
}

// Write writes what it can of bufs without waiting (the descriptor is
// non-blocking). It returns what is left of bufs, the bytes written, and
// an error other than EAGAIN. Calls must not overlap.
//
// Under the race detector (where the call is syscall.Write: see
// rawWrite), the system call is seen reading bufs after the write, with
// nothing ordering that before what the peer's answer leads others to do
// with them: write copies of buffers that an answer frees.
func (w *Writer) Write(bufs net.Buffers) (net.Buffers, int, error) {
	w.bufs, w.n, w.err = bufs, 0, nil
	err := w.rc.Write(w.fn)
	rest, n, werr := w.bufs, w.n, w.err
	w.bufs, w.err = nil, nil
	if werr == nil {
		werr = err
	}
	return rest, n, werr
}

// write is the function the descriptor runs: it never asks to wait.
func (w *Writer) write(fd uintptr) bool {
	for len(w.bufs) > 0 {
		b := w.bufs[0]
		if len(b) == 0 {
			w.bufs = w.bufs[1:]
			continue
		}
		n, errno := rawWrite(fd, b)
		if errno == 0 && n > 0 {
			w.n += n
			if n < len(b) {
				w.bufs[0] = b[n:]
				return true // the socket is full: the rest waits
			}
			w.bufs = w.bufs[1:]
			continue
		}
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
		case 0:
			w.err = io.ErrShortWrite // a write of 0 bytes: never on a socket
		default:
			w.err = os.NewSyscallError("write", errno)
		}
		return true // done either way: never wait here
	}
	return true
}
