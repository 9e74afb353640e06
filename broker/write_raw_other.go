//go:build !unix

package broker

import (
	"net"
	"syscall"
)

// rawConn returns nil: writes that never wait are written with a short
// deadline instead.
func rawConn(net.Conn) syscall.RawConn { return nil }

func writeNow(syscall.RawConn, *net.Buffers) (int, error) { panic("unreachable") }
