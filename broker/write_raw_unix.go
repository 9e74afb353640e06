//go:build unix

package broker

import (
	"errors"
	"net"
	"syscall"
)

// rawConn returns the descriptor access of a plain TCP (or Unix)
// connection, for writes that never wait; nil for others (TLS,
// WebSocket).
func rawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// writeNow writes what it can of bufs to rc without waiting (the
// descriptor is non-blocking), consuming what it wrote from bufs. It
// returns the bytes written, and an error other than EAGAIN.
func writeNow(rc syscall.RawConn, bufs *net.Buffers) (int, error) {
	var (
		total int
		werr  error
	)
	err := rc.Write(func(fd uintptr) bool {
		for len(*bufs) > 0 {
			b := (*bufs)[0]
			n, err := syscall.Write(int(fd), b)
			if n > 0 {
				total += n
				if n < len(b) {
					(*bufs)[0] = b[n:]
					return true // the socket is full: the rest waits
				}
				*bufs = (*bufs)[1:]
				continue
			}
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EAGAIN):
			default:
				werr = err
			}
			return true // done either way: never wait here
		}
		return true
	})
	if werr == nil {
		werr = err
	}
	return total, werr
}
