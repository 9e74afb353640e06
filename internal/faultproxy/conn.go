package faultproxy

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// bufSize is the size of each pump's read buffer.
const bufSize = 32 << 10

// conn is one proxied connection: the client's socket, the target's once
// dialed, and the two pumps between them.
type conn struct {
	p       *Proxy
	id      int // 1 for the first connection accepted, and so on
	client  net.Conn
	ctx     context.Context // cancelled on close, to abandon the dial
	cancel  context.CancelFunc
	done    chan struct{} // closed on close
	running atomic.Int32  // pumps still running

	mu     sync.Mutex // guards server and closed
	server net.Conn
	closed bool
}

func newConn(p *Proxy, id int, client net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{p: p, id: id, client: client, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// close is the connection's one close path: it closes both sockets, which
// unblocks the pumps, and wakes them from any wait. It reports whether
// this call closed the connection.
func (c *conn) close() bool { return c.shut(false) }

// cut closes the connection on purpose, because of a fault in dir (0 for
// CutAll), and counts it. It reports whether this call closed it.
func (c *conn) cut(dir Direction, why string) bool {
	if !c.shut(true) {
		return false
	}
	if dir == 0 {
		c.p.log.Info("faultproxy: cut", "conn", c.id, "why", why)
	} else {
		c.p.log.Info("faultproxy: cut", "conn", c.id, "dir", dir, "why", why)
	}
	return true
}

// shut closes the connection, counting a cut first if cut is set, so that
// Cuts and Live have counted it by the time either end sees it end.
func (c *conn) shut(cut bool) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.closed = true
	server := c.server
	c.mu.Unlock()

	if cut {
		c.p.cuts.Add(1)
	}
	c.p.remove(c)
	close(c.done)
	c.cancel()
	c.client.Close()
	if server != nil {
		server.Close()
	}
	return true
}

// serve dials the target, then pumps client to server itself and starts a
// goroutine to pump server to client.
func (c *conn) serve() {
	defer c.p.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, DialTimeout)
	var d net.Dialer
	server, err := d.DialContext(ctx, "tcp", c.p.target)
	cancel()
	if err != nil {
		if c.close() {
			c.p.log.Warn("faultproxy: dial", "conn", c.id, "err", err)
		}
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		server.Close()
		return
	}
	c.server = server
	c.mu.Unlock()

	up := c.newPump(ClientToServer, c.client, server)
	down := c.newPump(ServerToClient, server, c.client)
	c.running.Store(2)
	c.p.wg.Add(1)
	go func() {
		defer c.p.wg.Done()
		down.run()
	}()
	up.run()
}

// pump copies one direction of a connection, framing it and applying the
// faults. Its fields belong to its goroutine; those of the framing are
// also read and written by Proxy.plan, with Proxy.mu held.
type pump struct {
	c        *conn
	dir      Direction
	src, dst net.Conn
	rng      *rand.Rand // RandomCuts draws, seeded from the seed, the connection and dir
	next     time.Time  // Throttle: when the next slice may be written
	fwd      int64      // bytes planned so far: the stream offset of the next byte

	// Framing (see frame.go).
	st   int
	typ  packet.Type // of the current packet
	hdr  int         // fixed header bytes seen
	rl   int         // Remaining Length so far
	left int64       // body bytes left

	// Choices made for the current packet (see Proxy.decide).
	decided bool
	start   int64   // its stream offset
	claim   *fault  // the TruncateNext it is to honour, if any
	midFrac float64 // >= 0: cut inside it, at this fraction, once its length is known
	cutAt   int64   // >= 0: cut when the stream reaches this offset
	cutEnd  bool    // cut right after it
	why     string  // why it is to be cut
}

func (c *conn) newPump(dir Direction, src, dst net.Conn) *pump {
	return &pump{
		c: c, dir: dir, src: src, dst: dst,
		rng:     rand.New(rand.NewPCG(uint64(c.p.seed), uint64(c.id)<<2|uint64(dir))),
		midFrac: -1,
		cutAt:   -1,
	}
}

func (pp *pump) run() {
	defer pp.exit()
	buf := make([]byte, bufSize)
	held := 0 // bytes at the front of buf kept from the last read
	for {
		n, err := pp.src.Read(buf[held:])
		if n > 0 {
			b := buf[:held+n]
			k, ok := pp.send(b, time.Now())
			if !ok {
				return
			}
			held = copy(buf, b[k:])
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				pp.c.close()
				return
			}
			// The sender has finished: pass the rest and the
			// half-close on.
			if held > 0 && !pp.write(buf[:held], time.Time{}) {
				return
			}
			if cw, ok := pp.dst.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			}
			return
		}
	}
}

// exit hands back a TruncateNext the pump claimed, and closes the
// connection when both pumps are done.
func (pp *pump) exit() {
	p := pp.c.p
	p.mu.Lock()
	pp.clearDecisions(p)
	p.mu.Unlock()
	if pp.c.running.Add(-1) == 0 {
		if pp.c.close() {
			p.log.Info("faultproxy: ended", "conn", pp.c.id)
		}
	}
}

// send writes b, read at readAt, as far as the faults allow, and returns
// how much of it it wrote. It returns false if the connection is closed,
// by a cut or otherwise.
func (pp *pump) send(b []byte, readAt time.Time) (int, bool) {
	if _, ok := pp.wait(readAt, 0); !ok {
		return 0, false
	}
	p := pp.c.p
	off := 0
	for off < len(b) {
		p.mu.Lock()
		n, act, why := p.plan(pp, b[off:])
		p.mu.Unlock()
		if n > 0 && !pp.write(b[off:off+n], readAt) {
			return off, false
		}
		off += n
		switch act {
		case actCut:
			pp.c.cut(pp.dir, why)
			return off, false
		case actHold:
			return off, true
		}
	}
	return off, true
}

// write writes b to dst, slice by slice as the throttle allows.
func (pp *pump) write(b []byte, readAt time.Time) bool {
	for len(b) > 0 {
		k, ok := pp.wait(readAt, len(b))
		if !ok {
			return false
		}
		if _, err := pp.dst.Write(b[:k]); err != nil {
			pp.c.close()
			return false
		}
		b = b[k:]
	}
	return true
}

// wait blocks until the pump may write: no black hole, and the bytes read
// at readAt delayed enough. Then, if want > 0, it waits for the throttle
// and returns how many of want bytes may be written now. It returns false
// once the connection is closed.
func (pp *pump) wait(readAt time.Time, want int) (int, bool) {
	p := pp.c.p
	for {
		p.mu.Lock()
		blackHole, delay, bps, changed := p.blackHole, p.delay, p.bps, p.changed
		p.mu.Unlock()

		var timer *time.Timer
		if !blackHole {
			until := readAt.Add(delay)
			k := want
			if want > 0 && bps > 0 {
				k = min(want, max(1, bps/20))
				if pp.next.After(until) {
					until = pp.next
				}
			}
			now := time.Now()
			if !now.Before(until) {
				if want > 0 && bps > 0 {
					pp.next = now.Add(time.Duration(k) * time.Second / time.Duration(bps))
				}
				return k, true
			}
			timer = time.NewTimer(until.Sub(now))
		}
		var fire <-chan time.Time
		if timer != nil {
			fire = timer.C
		}
		select {
		case <-fire:
		case <-changed:
		case <-pp.c.done:
		}
		if timer != nil {
			timer.Stop()
		}
		select {
		case <-pp.c.done:
			return 0, false
		default:
		}
	}
}
