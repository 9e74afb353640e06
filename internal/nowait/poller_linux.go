//go:build linux && (amd64 || arm64)

package nowait

import (
	"os"
	"slices"
	"sync"
	"syscall"
	"unsafe"
)

// The poller watches the descriptors of every Conn in one epoll instance
// of its own. Its goroutine waits for that instance in the runtime's
// network poller (an epoll descriptor is itself pollable), so no thread
// blocks for it, and takes the events with a raw epoll_pwait that never
// waits.
//
// Each descriptor is registered one-shot and level-triggered: it is armed
// (epoll_ctl) only while a goroutine waits on it or a callback is parked
// on it, for what they wait for, and an event disarms it. So a busy
// connection, read and written without waiting, causes no event at all,
// and arming cannot miss data that came just before: a level-triggered
// descriptor armed while readable reports at once.
//
// There is one poller at a time, shared by every Listener and Conn of the
// process; it exists, with its goroutine, only while one of them is open.

// poller is one epoll instance and the Conns registered in it.
type poller struct {
	epfd int      // for epoll_ctl; closed with the last user
	cur  *os.File // a duplicate of epfd, which the poller goroutine waits on in the runtime's poller; guarded by pollMu

	// The poller goroutine's; one at a time is.
	events [128]syscall.EpollEvent
	ready  []*Conn        // the Conns of one batch of events
	todo   []func(*Yield) // the parked callbacks the batch calls
	next   int            // the next of todo to call
}

// Yield is given to a parked callback that the poller's goroutine calls
// itself: the callback may read its connection there, with no goroutine
// started and no thread woken, as long as it does nothing that waits or
// lasts; before it would, it calls Handoff.
type Yield struct {
	p      *poller
	handed bool
}

// Handoff makes a new goroutine the poller's, so that the calling
// callback may go on as long as it needs, and wait: its goroutine is its
// own from there, and ends when the callback returns. A nil Yield, or
// one handed off already, does nothing.
func (y *Yield) Handoff() {
	if y == nil || y.handed {
		return
	}
	y.handed = true
	p := y.p
	// The callbacks of the batch still to call go to the next poller
	// goroutine, first thing: the one handing off may wait for what one
	// of them does.
	rest := slices.Clone(p.todo[p.next:])
	clear(p.todo)
	p.todo, p.next = p.todo[:0], 0
	pollMu.Lock()
	defer pollMu.Unlock()
	if p != current {
		for _, fn := range rest {
			go fn(nil)
		}
		return
	}
	// The calling goroutine is out of its Read of p.cur (run calls the
	// callbacks between Reads): the next one reads the same file.
	go p.run(p.cur, rest)
}

// pollMu guards the current poller, its users and its table.
var pollMu sync.Mutex

var (
	current *poller
	users   int     // open Listeners and Conns of current
	conns   []*Conn // current's Conns, by descriptor
	gen     uint32  // told apart a Conn from an earlier one on the same descriptor
)

// acquireLocked returns the current poller, starting one if there is
// none, and counts one more user of it. The caller holds pollMu.
func acquireLocked() (*poller, error) {
	if current == nil {
		p, err := newPoller()
		if err != nil {
			return nil, err
		}
		if err := p.startLocked(); err != nil {
			syscall.Close(p.epfd)
			return nil, err
		}
		current = p
	}
	users++
	return current, nil
}

// release counts one user less of p, and closes p with its last. The
// closing waits for p's goroutine to return from the runtime's poller, so
// it is made without pollMu, which that goroutine may be waiting for.
func release(p *poller) {
	pollMu.Lock()
	last := p == current && users == 1
	if p == current {
		users--
	}
	if last {
		current = nil
		conns = nil
	}
	var f *os.File
	if last {
		f, p.cur = p.cur, nil
	}
	pollMu.Unlock()
	if last {
		// Closing f ends p.run's Read: this may be the poller goroutine,
		// in a callback, and closing waits for the Read to return; so it
		// is closed by another goroutine.
		go f.Close()
		syscall.Close(p.epfd)
	}
}

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	return &poller{epfd: epfd}, nil
}

// startLocked starts the poller goroutine, on a duplicate of epfd that
// the runtime's poller watches: closing it ends the goroutine, and epfd
// stays open for epoll_ctl until then. The caller holds pollMu.
func (p *poller) startLocked() error {
	nfd, _, errno := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(p.epfd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return os.NewSyscallError("fcntl", errno)
	}
	// A non-blocking descriptor (the duplicate shares epfd's mode) given
	// to os.NewFile is registered with the runtime's poller: reads
	// through its SyscallConn wait there.
	p.cur = os.NewFile(nfd, "epoll")
	go p.run(p.cur, nil)
	return nil
}

// register adds c's descriptor to the current poller, disarmed.
func register(c *Conn) error {
	pollMu.Lock()
	p, err := acquireLocked()
	if err != nil {
		pollMu.Unlock()
		return err
	}
	gen++
	c.p, c.gen = p, gen
	ev := syscall.EpollEvent{Events: syscall.EPOLLONESHOT, Fd: int32(c.fd), Pad: int32(c.gen)}
	if err := epollCtl(p.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev); err != nil {
		pollMu.Unlock()
		release(p)
		return os.NewSyscallError("epoll_ctl", err)
	}
	if c.fd >= len(conns) {
		conns = append(conns, make([]*Conn, c.fd+1-len(conns))...)
	}
	conns[c.fd] = c
	pollMu.Unlock()
	return nil
}

// unregister takes c out of the table before its descriptor is closed
// (which takes it out of the epoll instance).
func unregister(c *Conn) {
	pollMu.Lock()
	if c.p == current && c.fd < len(conns) && conns[c.fd] == c {
		conns[c.fd] = nil
	}
	pollMu.Unlock()
	release(c.p)
}

// arm asks the poller for one event on c's descriptor: readable if in,
// writable if out.
func (p *poller) arm(c *Conn, in, out bool) {
	var ev syscall.EpollEvent
	ev.Events = syscall.EPOLLONESHOT
	if in {
		ev.Events |= syscall.EPOLLIN | syscall.EPOLLRDHUP
	}
	if out {
		ev.Events |= syscall.EPOLLOUT
	}
	ev.Fd, ev.Pad = int32(c.fd), int32(c.gen)
	// It cannot fail on a descriptor that is open and registered, which
	// the caller's reference guarantees; a Conn closed meanwhile has no
	// one left to wake.
	epollCtl(p.epfd, syscall.EPOLL_CTL_MOD, c.fd, &ev)
}

// run calls rest, then takes events from f and calls the parked
// callbacks they wake, until f is closed (the poller is), or until a
// callback it called handed off.
//
// It calls the callbacks between runtime Reads of f, never within one,
// so that a callback that hands off and waits holds nothing of the
// poller's: the next goroutine reads f itself. (A Read within which
// callbacks ran would be held by the one that waits, and each handoff
// would need a duplicate of epfd of its own: one per client that sent
// half a packet, each added to the runtime's poller, which checks an
// epoll instance against every descriptor in it.) The runtime forgets at
// the start of a Read that f became readable; the Read then calls
// harvest before it waits, which takes what came meanwhile.
func (p *poller) run(f *os.File, rest []func(*Yield)) {
	y := &Yield{p: p}
	p.todo, p.next = append(p.todo, rest...), 0
	if p.call(y) {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	harvest := p.harvest
	for {
		if rc.Read(harvest) != nil {
			return // closed
		}
		if p.call(y) {
			return
		}
	}
}

// call calls the callbacks in todo, and reports whether one handed off:
// the goroutine is then a callback's, and todo the next poller
// goroutine's.
func (p *poller) call(y *Yield) (handed bool) {
	for p.next < len(p.todo) {
		fn := p.todo[p.next]
		p.todo[p.next] = nil
		p.next++
		if fn(y); y.handed {
			return true
		}
	}
	p.todo, p.next = p.todo[:0], 0
	return false
}

// harvest takes what events there are, never waiting, and collects the
// parked callbacks they wake in todo. It reports true, for the Read to
// return and run to call them, once there are some; false, for the
// runtime to wait for more, if the events only woke goroutines (or there
// were none).
func (p *poller) harvest(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, fd,
			uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 || n == 0 {
			return len(p.todo) > 0
		}
		p.dispatch(p.events[:n])
		if int(n) < len(p.events) {
			return len(p.todo) > 0
		}
	}
}

// dispatch wakes what waits on the descriptors of events.
func (p *poller) dispatch(events []syscall.EpollEvent) {
	pollMu.Lock()
	for _, ev := range events {
		var c *Conn
		if fd := int(ev.Fd); p == current && fd < len(conns) {
			if c = conns[fd]; c != nil && int32(c.gen) != ev.Pad {
				c = nil
			}
		}
		p.ready = append(p.ready, c)
	}
	pollMu.Unlock()
	for i, c := range p.ready {
		p.ready[i] = nil
		if c != nil {
			if fn := c.ready(events[i].Events); fn != nil {
				p.todo = append(p.todo, fn)
			}
		}
	}
	p.ready = p.ready[:0]
}

func epollCtl(epfd, op, fd int, ev *syscall.EpollEvent) error {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd),
		uintptr(unsafe.Pointer(ev)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
