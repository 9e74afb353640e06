//go:build unix

package nowait

import (
	"io"
	"net"
	"os"
	"syscall"
)

// Reader reads from one plain TCP or Unix connection as the connection's
// own Read does, waiting for data in the runtime's network poller and
// honouring the read deadline, but with each read(2) made raw (see
// rawRead): a read never blocks a thread, since the descriptor is
// non-blocking.
type Reader struct {
	rc    syscall.RawConn
	fn    func(fd uintptr) bool // r.read, bound once: a call allocates nothing
	p     []byte
	n     int
	errno syscall.Errno
	file  *os.File // a pipe's own description (NewPipeReader); Close closes it
}

// NewReader returns a Reader for a plain TCP (or Unix) connection, or nil
// for others.
func NewReader(nc net.Conn) *Reader {
	rc := rawConn(nc)
	if rc == nil {
		return nil
	}
	r := &Reader{rc: rc}
	r.fn = r.read
	return r
}

// Read reads into p what the connection has, waiting until it has some.
// It returns io.EOF once the peer has closed its side, and the
// connection's errors otherwise: a timeout past the read deadline is a
// net.Error whose Timeout is true, a closed connection net.ErrClosed.
// Calls must not overlap.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.p, r.n, r.errno = p, 0, 0
	err := r.rc.Read(r.fn)
	n, errno := r.n, r.errno
	r.p = nil
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Close closes the description NewPipeReader opened. It does nothing to
// a connection's reader: the connection is closed as it is.
func (r *Reader) Close() error {
	if r.file == nil {
		return nil
	}
	return r.file.Close()
}

// read is the function the descriptor runs; false waits for data.
func (r *Reader) read(fd uintptr) bool {
	for {
		n, errno := rawRead(fd, r.p)
		switch errno {
		case 0:
			r.n = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		r.errno = errno
		return true
	}
}

// rawConn returns the descriptor access of a plain TCP or Unix stream
// connection, or nil. (On a Unix datagram socket a read of 0 bytes is an
// empty datagram, not the end.)
func rawConn(nc net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case interface {
		syscall.Conn
		polled()
	}: // a Conn (Linux)
		sc = c
	case *net.UnixConn:
		if a := c.LocalAddr(); a == nil || a.Network() != "unix" {
			return nil
		}
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
