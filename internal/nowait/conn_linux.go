//go:build linux && (amd64 || arm64)

package nowait

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Conn is a TCP connection accepted by a Listener, whose descriptor the
// package's own poller watches instead of the runtime's. It is a net.Conn
// and reads and writes as one, with raw system calls; and it can park:
// rather than a goroutine waiting for its next bytes, Park leaves a
// function to be called when they come. A server whose idle clients are
// parked holds no goroutine and no runtime poll descriptor for them, and
// the memory of both is not kept after a burst of connections (the
// runtime never frees either).
type Conn struct {
	fd           int
	p            *poller
	gen          uint32
	laddr, raddr net.Addr

	mu       sync.Mutex
	refs     int  // calls using fd
	closing  bool // Close was called
	fdClosed bool
	rwait    bool          // a reader waits, or a callback is parked
	wwait    bool          // a writer waits
	rch, wch chan struct{} // wake the waiting reader and writer; made on first need
	parked   func(*Yield)
	rdl, wdl time.Time
	rt, wt   *time.Timer
}

var _ net.Conn = (*Conn)(nil)

func (c *Conn) incref() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return net.ErrClosed
	}
	c.refs++
	c.mu.Unlock()
	return nil
}

func (c *Conn) decref() {
	c.mu.Lock()
	c.refs--
	last := c.closing && c.refs == 0 && !c.fdClosed
	if last {
		c.fdClosed = true
	}
	c.mu.Unlock()
	if last {
		c.closeFD()
	}
}

func (c *Conn) closeFD() {
	unregister(c)
	syscall.Close(c.fd)
}

// Read reads into p what the connection has, waiting until it has some;
// io.EOF once the peer has closed its side.
func (c *Conn) Read(p []byte) (int, error) { return c.read(p, true) }

// TryRead reads into p what the connection has, without waiting: with
// nothing to read it returns ErrWouldBlock, or the timeout error if the
// read deadline has passed. After ErrWouldBlock, the reader may Park.
func (c *Conn) TryRead(p []byte) (int, error) { return c.read(p, false) }

func (c *Conn) read(p []byte, wait bool) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := c.incref(); err != nil {
		return 0, c.opError("read", err)
	}
	defer c.decref()
	for {
		n, errno := rawRead(uintptr(c.fd), p)
		switch errno {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			return n, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if wait {
				if err := c.wait(false); err != nil {
					return 0, c.opError("read", err)
				}
				continue
			}
			c.mu.Lock()
			late := c.pastLocked(c.rdl)
			c.mu.Unlock()
			if late {
				return 0, c.opError("read", os.ErrDeadlineExceeded)
			}
			return 0, ErrWouldBlock
		default:
			return 0, c.opError("read", os.NewSyscallError("read", errno))
		}
	}
}

// Park has fn called once, by another goroutine, when the connection may
// be read: bytes are there (they may be already: a reader that expects
// none need not try a read first), the peer closed, the read deadline
// passed or Close was called. Park reports false, and keeps nothing, if
// the connection is closed or its read deadline has passed: the caller
// reads at once. Only the connection's one reader parks, and not while it
// reads.
//
// When bytes come, the poller's goroutine calls fn with a Yield, and
// takes no other event until fn returns: fn may read there, and must call
// Yield.Handoff before anything that waits or lasts. Otherwise (the
// deadline, Close) fn gets nil, from a goroutine that may hold locks: it
// must start another to read.
func (c *Conn) Park(fn func(*Yield)) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.pastLocked(c.rdl) {
		return false
	}
	c.parked = fn
	c.rwait = true
	c.p.arm(c, true, c.wwait)
	return true
}

// Write writes p, waiting while the socket is full.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.incref(); err != nil {
		return 0, c.opError("write", err)
	}
	defer c.decref()
	written := 0
	for written < len(p) {
		n, errno := rawWrite(uintptr(c.fd), p[written:])
		switch errno {
		case 0:
			if n == 0 {
				return written, c.opError("write", io.ErrShortWrite)
			}
			written += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			if err := c.wait(true); err != nil {
				return written, c.opError("write", err)
			}
		default:
			return written, c.opError("write", os.NewSyscallError("write", errno))
		}
	}
	return written, nil
}

// wait arms the descriptor for reading (or writing) and waits until it is
// ready, the deadline passes or the connection is closed; a spurious
// return is allowed, the caller tries again.
func (c *Conn) wait(write bool) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return net.ErrClosed
	}
	dl, ch := &c.rdl, &c.rch
	if write {
		dl, ch = &c.wdl, &c.wch
	}
	if c.pastLocked(*dl) {
		c.mu.Unlock()
		return os.ErrDeadlineExceeded
	}
	if *ch == nil {
		*ch = make(chan struct{}, 1)
	}
	wake := *ch
	if write {
		c.wwait = true
	} else {
		c.rwait = true
	}
	c.p.arm(c, c.rwait, c.wwait)
	c.mu.Unlock()
	<-wake
	return nil
}

// pastLocked reports whether deadline dl is set and has passed.
func (c *Conn) pastLocked(dl time.Time) bool {
	return !dl.IsZero() && !time.Now().Before(dl)
}

// ready is the poller's: events came for the descriptor. It returns the
// parked callback they wake, for the poller to call.
func (c *Conn) ready(events uint32) func(*Yield) {
	const in = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR
	const out = syscall.EPOLLOUT | syscall.EPOLLHUP | syscall.EPOLLERR
	c.mu.Lock()
	var fn func(*Yield)
	var rch, wch chan struct{}
	if events&in != 0 && c.rwait {
		c.rwait = false
		fn, c.parked = c.parked, nil
		rch = c.rch
	}
	if events&out != 0 && c.wwait {
		c.wwait = false
		wch = c.wch
	}
	if (c.rwait || c.wwait) && !c.closing {
		c.p.arm(c, c.rwait, c.wwait) // one-shot: the other still waits
	}
	c.mu.Unlock()
	wake(rch)
	wake(wch)
	return fn
}

// wakeRead wakes the reader, or calls the parked callback: the read
// deadline passed or the connection closed.
func (c *Conn) wakeRead() {
	c.mu.Lock()
	fn := c.parked
	c.parked, c.rwait = nil, false
	ch := c.rch
	c.mu.Unlock()
	wake(ch)
	if fn != nil {
		fn(nil)
	}
}

// wakeWrite wakes the writer: the write deadline passed.
func (c *Conn) wakeWrite() {
	c.mu.Lock()
	c.wwait = false
	ch := c.wch
	c.mu.Unlock()
	wake(ch)
}

func wake(ch chan struct{}) {
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Close closes the connection: a waiting Read or Write returns
// net.ErrClosed, a parked callback is called, and the descriptor is
// closed once no call uses it.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return c.opError("close", net.ErrClosed)
	}
	c.closing = true
	fn := c.parked
	c.parked, c.rwait, c.wwait = nil, false, false
	rch, wch := c.rch, c.wch
	for _, t := range []*time.Timer{c.rt, c.wt} {
		if t != nil {
			t.Stop()
		}
	}
	last := c.refs == 0
	c.fdClosed = last
	c.mu.Unlock()
	wake(rch)
	wake(wch)
	if last {
		c.closeFD()
	}
	if fn != nil {
		fn(nil)
	}
	return nil
}

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the time after which a waiting Read (or a parked
// callback) is woken and reads fail with a timeout; zero means none.
func (c *Conn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(false, t)
}

// SetWriteDeadline sets the time after which Write fails with a timeout.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(true, t)
}

func (c *Conn) setDeadline(write bool, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return c.opError("set deadline", net.ErrClosed)
	}
	dl, tm := &c.rdl, &c.rt
	if write {
		dl, tm = &c.wdl, &c.wt
	}
	*dl = t
	switch {
	case t.IsZero():
		if *tm != nil {
			(*tm).Stop()
		}
	case *tm == nil && write:
		*tm = time.AfterFunc(time.Until(t), c.wakeWrite)
	case *tm == nil:
		*tm = time.AfterFunc(time.Until(t), c.wakeRead)
	default:
		(*tm).Reset(time.Until(t))
	}
	return nil
}

// LocalAddr returns the connection's local address.
func (c *Conn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.raddr }

// SyscallConn gives access to the descriptor, as a net.TCPConn's does:
// Read and Write wait for readiness in the package's poller.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return rawConnOf{c}, nil }

// polled marks the Conn for rawConn (nowait_unix.go).
func (c *Conn) polled() {}

func (c *Conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.laddr, Addr: c.raddr, Err: err}
}

// rawConnOf is a Conn's syscall.RawConn.
type rawConnOf struct{ c *Conn }

func (r rawConnOf) Control(f func(fd uintptr)) error {
	if err := r.c.incref(); err != nil {
		return err
	}
	defer r.c.decref()
	f(uintptr(r.c.fd))
	return nil
}

func (r rawConnOf) Read(f func(fd uintptr) bool) error  { return r.do(false, f) }
func (r rawConnOf) Write(f func(fd uintptr) bool) error { return r.do(true, f) }

func (r rawConnOf) do(write bool, f func(fd uintptr) bool) error {
	c := r.c
	if err := c.incref(); err != nil {
		return err
	}
	defer c.decref()
	for !f(uintptr(c.fd)) {
		if err := c.wait(write); err != nil {
			return err
		}
	}
	return nil
}

// sockaddr converts what accept4 or getsockname filled in.
func sockaddr(rsa *syscall.RawSockaddrAny) net.Addr {
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: int(p[0])<<8 | int(p[1])}
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		a := &net.TCPAddr{IP: net.IP(append([]byte(nil), sa.Addr[:]...)), Port: int(p[0])<<8 | int(p[1])}
		if sa.Scope_id != 0 {
			if ifi, err := net.InterfaceByIndex(int(sa.Scope_id)); err == nil {
				a.Zone = ifi.Name
			}
		}
		return a
	}
	return nil
}
