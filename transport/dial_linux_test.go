package transport

import (
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// blackhole returns the address of a loopback listener whose accept queue
// is full, so that the kernel drops further SYNs and a connect hangs, as
// with a broker that never answers.
func blackhole(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	// Fill the queue (backlog 0 holds one connection) until a connect hangs.
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("cannot fill the accept queue of a loopback listener")
	return ""
}

func TestDialTimeoutConnect(t *testing.T) {
	addr := blackhole(t)
	for _, scheme := range []string{"mqtt", "mqtts", "ws", "wss"} {
		t.Run(scheme, func(t *testing.T) { checkTimeout(t, scheme+"://"+addr, "connect", nil) })
	}
}
