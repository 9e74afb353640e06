//go:build linux && (amd64 || arm64)

package nowait

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// Listener accepts the connections of a TCP listener as Conns, waiting
// for them in the package's poller. accept4 and the socket options are
// raw system calls: a call the scheduler is told of wakes a sleeping
// sysmon thread, which cost one wake-up per connection in a burst of
// them.
type Listener struct {
	tl    *net.TCPListener
	rc    syscall.RawConn
	lc    *Conn            // the listening descriptor, borrowed from tl, in the poller
	fn    func(fd uintptr) // a.accept, bound once
	nfd   int              // what accept4 returned
	rsa   syscall.RawSockaddrAny
	errno syscall.Errno
}

var _ net.Listener = (*Listener)(nil)

// NewListener returns a Listener over l, or nil if l is not a
// *net.TCPListener. The Listener owns l: closing it closes l.
func NewListener(l net.Listener) *Listener {
	tl, ok := l.(*net.TCPListener)
	if !ok {
		return nil
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return nil
	}
	fd := -1
	rc.Control(func(d uintptr) { fd = int(d) })
	if fd < 0 {
		return nil
	}
	a := &Listener{tl: tl, rc: rc, lc: &Conn{fd: fd}}
	if register(a.lc) != nil {
		return nil
	}
	a.fn = a.accept4
	return a
}

// Accept waits for the next connection and returns it as a *Conn. Its
// errors are a *net.OpError whose Temporary method says whether to try
// again (out of descriptors), or one for the closed listener.
func (a *Listener) Accept() (net.Conn, error) { return a.accept(true) }

// TryAccept is Accept that never waits: with no connection pending it
// returns ErrWouldBlock, and the caller may Park.
func (a *Listener) TryAccept() (net.Conn, error) { return a.accept(false) }

// Park has fn called once, by another goroutine, when a connection is
// pending or the listener is closed, as Conn.Park does for bytes: the
// poller's goroutine calls fn with a Yield, and Close calls it with nil.
// It reports false, and keeps nothing, if the listener is closed. Only
// one goroutine accepts, and not while it parks.
func (a *Listener) Park(fn func(*Yield)) bool { return a.lc.Park(fn) }

func (a *Listener) accept(wait bool) (net.Conn, error) {
	for {
		a.nfd, a.errno = -1, 0
		if err := a.rc.Control(a.fn); err != nil {
			return nil, a.opError(err)
		}
		switch a.errno {
		case 0:
		case syscall.EAGAIN:
			if !wait {
				return nil, ErrWouldBlock
			}
			if err := a.lc.wait(false); err != nil {
				return nil, a.opError(err)
			}
			continue
		case syscall.EINTR, syscall.ECONNABORTED:
			continue // the peer gave up before it was accepted
		default:
			return nil, a.opError(os.NewSyscallError("accept4", a.errno))
		}
		c := &Conn{fd: a.nfd, raddr: sockaddr(&a.rsa), laddr: a.tl.Addr()}
		if la, ok := c.laddr.(*net.TCPAddr); ok && la.IP.IsUnspecified() {
			var rsa syscall.RawSockaddrAny
			n := uint32(syscall.SizeofSockaddrAny)
			if _, _, errno := syscall.RawSyscall(syscall.SYS_GETSOCKNAME, uintptr(c.fd),
				uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&n))); errno == 0 {
				c.laddr = sockaddr(&rsa)
			}
		}
		// As the net package does: no Nagle delay, and TCP keepalive
		// probes after 15 s idle, every 15 s.
		setsockopt(c.fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
		setsockopt(c.fd, syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1)
		setsockopt(c.fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, 15)
		setsockopt(c.fd, syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, 15)
		if err := register(c); err != nil {
			syscall.Close(c.fd)
			return nil, a.opError(err)
		}
		return c, nil
	}
}

// accept4 makes one accept4 on the listening descriptor, which
// RawConn.Control keeps open meanwhile.
func (a *Listener) accept4(fd uintptr) {
	n := uint32(syscall.SizeofSockaddrAny)
	nfd, _, errno := syscall.RawSyscall6(syscall.SYS_ACCEPT4, fd, uintptr(unsafe.Pointer(&a.rsa)),
		uintptr(unsafe.Pointer(&n)), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
	a.nfd, a.errno = int(nfd), errno
}

// Close stops a waiting Accept, calls a parked callback and closes the
// listener.
func (a *Listener) Close() error {
	c := a.lc
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return a.tl.Close() // closed already: the net package says so
	}
	c.closing, c.fdClosed = true, true
	rch, fn := c.rch, c.parked
	c.parked, c.rwait = nil, false
	c.mu.Unlock()
	// Out of the poller while the descriptor is still the listener's.
	var ev syscall.EpollEvent
	epollCtl(c.p.epfd, syscall.EPOLL_CTL_DEL, c.fd, &ev)
	unregister(c)
	wake(rch)
	err := a.tl.Close()
	if fn != nil {
		fn(nil)
	}
	return err
}

// Addr returns the listener's address.
func (a *Listener) Addr() net.Addr { return a.tl.Addr() }

func (a *Listener) opError(err error) error {
	return &net.OpError{Op: "accept", Net: "tcp", Addr: a.tl.Addr(), Err: err}
}

func setsockopt(fd, level, name, v int) {
	v32 := int32(v)
	syscall.RawSyscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(unsafe.Pointer(&v32)), 4, 0)
}
