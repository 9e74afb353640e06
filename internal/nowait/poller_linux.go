//go:build linux && (amd64 || arm64)

package nowait

import (
	"os"
	"slices"
	"sync"
	"syscall"
	"time"
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
	// Duplicates that a poller goroutine waited on, which no goroutine is
	// in a Read of any more, for the next: the runtime's poller checks
	// an epoll instance added to it against every descriptor in it
	// (against loops), so a new duplicate costs in proportion to the
	// connections open, and a burst of handoffs (each client of a burst
	// hands off to end) would cost their square. Guarded by pollMu.
	spare []*os.File

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
	if p.startLocked(rest) != nil {
		go p.restart(rest) // out of descriptors, say
	}
}

// restart starts the next poller goroutine once a descriptor can be
// duplicated for it, trying every 10 ms.
func (p *poller) restart(rest []func(*Yield)) {
	for {
		time.Sleep(10 * time.Millisecond)
		pollMu.Lock()
		if p != current {
			pollMu.Unlock()
			for _, fn := range rest {
				go fn(nil)
			}
			return
		}
		err := p.startLocked(rest)
		pollMu.Unlock()
		if err == nil {
			return
		}
	}
}

// failDups, for tests, is how many duplications of the epoll descriptor
// fail as if the process were out of descriptors; dups counts those made.
// Guarded by pollMu.
var failDups, dups int

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
		if err := p.startLocked(nil); err != nil {
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
	var files []*os.File
	if last {
		files = append(p.spare, p.cur)
		p.cur, p.spare = nil, nil
	}
	pollMu.Unlock()
	if last {
		// Closing p.cur ends p.run, once the poller goroutine returns
		// from the runtime's poller: this may be that goroutine, in a
		// callback; so it is closed by another.
		go func() {
			for _, f := range files {
				f.Close()
			}
		}()
		syscall.Close(p.epfd)
	}
}

// maxSpare bounds poller.spare: each spare duplicate, registered in the
// runtime's poller, is told of every event too.
const maxSpare = 2

// done takes back f, which a poller goroutine no longer waits on: a
// spare for the next, or closed.
func (p *poller) done(f *os.File) {
	pollMu.Lock()
	if p == current && f != p.cur && len(p.spare) < maxSpare {
		p.spare = append(p.spare, f)
		f = nil
	}
	pollMu.Unlock()
	if f != nil {
		f.Close() // closed already if the poller is: that is harmless
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

// startLocked starts a poller goroutine, on a duplicate of epfd of its
// own (the one before it may still be in its Read, calling a callback
// that handed off), which calls rest first. The caller holds pollMu.
func (p *poller) startLocked(rest []func(*Yield)) error {
	if n := len(p.spare); n > 0 {
		p.cur = p.spare[n-1]
		p.spare[n-1] = nil
		p.spare = p.spare[:n-1]
		go p.run(p.cur, rest)
		return nil
	}
	nfd, _, errno := syscall.RawSyscall(syscall.SYS_FCNTL, uintptr(p.epfd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno == 0 && failDups > 0 {
		failDups--
		syscall.Close(int(nfd))
		errno = syscall.EMFILE
	}
	if errno != 0 {
		return os.NewSyscallError("fcntl", errno)
	}
	dups++
	// A non-blocking descriptor (the duplicate shares epfd's mode) given
	// to os.NewFile is registered with the runtime's poller: reads
	// through its SyscallConn wait there.
	p.cur = os.NewFile(nfd, "epoll")
	go p.run(p.cur, rest)
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

// run calls rest, then takes events from f until it is closed (the
// poller is), or until a callback it called handed off.
func (p *poller) run(f *os.File, rest []func(*Yield)) {
	defer p.done(f)
	y := &Yield{p: p}
	p.todo, p.next = append(p.todo, rest...), 0
	if p.call(y) {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Read(func(fd uintptr) bool { return p.poll(fd, y) })
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

// poll takes what events there are, never waiting, and calls the parked
// callbacks they wake. It reports false, for the runtime to wait for
// more, once there are no more; or true, once a callback has handed off.
//
// The goroutine stays in one Read of f all along: the runtime forgets at
// the start of a Read that f became readable, and within one it keeps
// that, so that an event that comes while the callbacks run (after the
// epoll_pwait) ends the wait at once, and no epoll_pwait is needed after
// the callbacks to see whether one did.
func (p *poller) poll(fd uintptr, y *Yield) bool {
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, fd,
			uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 || n == 0 {
			return false
		}
		p.dispatch(p.events[:n])
		if p.call(y) {
			return true
		}
		if int(n) < len(p.events) {
			return false
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
