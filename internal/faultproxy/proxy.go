package faultproxy

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DialTimeout bounds how long the proxy waits for the target to answer
// when it relays a new connection.
const DialTimeout = 10 * time.Second

// Options configures a Proxy. The zero value is ready to use.
type Options struct {
	// ListenAddr is where the proxy listens: "127.0.0.1:0" (a free
	// loopback port) when empty.
	ListenAddr string

	// Seed seeds RandomCuts: the same seed and the same traffic give the
	// same cuts.
	Seed int64

	// Logger receives a record per connection accepted, ended or cut. Nil
	// discards them.
	Logger *slog.Logger
}

// Proxy relays TCP connections to a target and injects faults into them.
// Create one with Listen. Its methods are safe for concurrent use.
type Proxy struct {
	target   string
	ln       net.Listener
	log      *slog.Logger
	seed     int64
	accepted atomic.Int64
	cuts     atomic.Int64
	wg       sync.WaitGroup // the accept loop and every pump

	// mu guards the fields below, and the framing state of every pump
	// while it plans (see pump). Never held while doing I/O, nor while
	// taking conn.mu.
	mu        sync.Mutex
	closed    bool
	conns     map[*conn]struct{} // live connections
	faults    []*fault           // armed one-shot faults, in arming order
	random    float64            // RandomCuts probability per packet; 0 is off
	randomDir Direction
	blackHole bool
	delay     time.Duration
	bps       int           // Throttle; 0 is off
	refuse    bool          // Refuse
	changed   chan struct{} // closed and replaced when black hole, delay or throttle change
}

// Listen starts a proxy in front of target, the host:port of the broker.
// It listens on Options.ListenAddr and dials target afresh for every
// connection it accepts.
func Listen(target string, opts Options) (*Proxy, error) {
	addr := opts.ListenAddr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{
		target:  target,
		ln:      ln,
		log:     log,
		seed:    opts.Seed,
		conns:   make(map[*conn]struct{}),
		changed: make(chan struct{}),
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Addr returns the host:port the proxy listens on, for clients to dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close closes the listener and every connection, then waits for all the
// proxy's goroutines to return. It returns promptly even while connections
// are black-holed, delayed or throttled. Closing connections this way does
// not count as cuts. Later calls return nil.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	conns := p.liveLocked()
	p.mu.Unlock()

	err := p.ln.Close()
	for _, c := range conns {
		c.close()
	}
	p.wg.Wait()
	return err
}

// CutAll cuts every live connection now, closing both of its sockets, and
// returns how many it cut.
func (p *Proxy) CutAll() int {
	p.mu.Lock()
	conns := p.liveLocked()
	p.mu.Unlock()
	n := 0
	for _, c := range conns {
		if c.cut(0, "cut all") {
			n++
		}
	}
	return n
}

// Conns returns how many connections the proxy has accepted, refused ones
// included.
func (p *Proxy) Conns() int { return int(p.accepted.Load()) }

// Live returns how many connections are open.
func (p *Proxy) Live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Cuts returns how many connections the proxy has cut, by a fault or by
// CutAll.
func (p *Proxy) Cuts() int { return int(p.cuts.Load()) }

func (p *Proxy) liveLocked() []*conn {
	conns := make([]*conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	return conns
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or the like: wait, as net/http does.
			p.log.Warn("faultproxy: accept", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		id := int(p.accepted.Add(1))
		p.mu.Lock()
		if p.closed || p.refuse {
			refused := !p.closed
			p.mu.Unlock()
			nc.Close()
			if refused {
				p.log.Info("faultproxy: refused", "conn", id, "client", nc.RemoteAddr())
			}
			continue
		}
		c := newConn(p, id, nc)
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		p.log.Info("faultproxy: accepted", "conn", id, "client", nc.RemoteAddr())
		go c.serve()
	}
}

// remove forgets a closed connection.
func (p *Proxy) remove(c *conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// settingsChanged wakes the pumps waiting on a black hole, a delay or a
// throttle, so that they look again. Called with p.mu held.
func (p *Proxy) settingsChanged() {
	close(p.changed)
	p.changed = make(chan struct{})
}
