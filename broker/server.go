package broker

import (
	"container/list"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/petrel-mqtt/petrel/internal/nowait"
)

// Server is an MQTT 3.1.1 broker. Create it with New, give it connections
// with Serve, ServeWebSocket, WebSocketHandler or ServeConn, and stop it
// with Shutdown. All its methods are safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context // cancelled by Shutdown
	cancel context.CancelFunc
	start  time.Time

	// mu guards the fields below. Lock order: Server.mu, conn.mu,
	// session.mu; index.mu and retainStore.mu are taken alone.
	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	https     map[*http.Server]struct{}
	upgrading upgrading // WebSocket connections before their upgrade
	conns     map[*conn]struct{}
	sessions  map[string]*session
	// persistent counts the sessions of sessions with CleanSession 0,
	// against Config.MaxSessions; offline holds those without a client,
	// the longest offline first, the first to give way at the bound.
	persistent int
	offline    list.List
	// The peaks of conns and sessions, for shrink (tables.go).
	connsPeak, sessionsPeak peak
	// pending holds the connections whose CONNECT is not handled yet,
	// oldest first (see Config.MaxPending); pendingByIP counts them by IP
	// address when Config.MaxPendingPerIP is set.
	pending     list.List
	pendingByIP map[string]int
	admitted    int // clients whose CONNECT was accepted, against MaxConnections

	subs     index
	retained retainStore
	stats    counters
	// checkReads is set when an Authorizer is configured: each delivery
	// is then checked with CanSubscribe on its topic.
	checkReads bool
	// inline is set when handling a client's packets calls nothing that
	// may wait (no store, no Authorizer but the built-in ones): the
	// poller's goroutine handles a parked client's packets itself.
	inline bool
	store  *store // nil without PersistenceDir
	// queuedBytes is what all sessions' queues and flights cost, against
	// Config.MaxTotalQueuedBytes.
	queuedBytes atomic.Int64
	// bridgeIDs holds the bridges by the client ids of their in-process
	// connections; written in New, read-only afterwards (bridge_run.go).
	bridgeIDs map[string]*bridge

	wg        sync.WaitGroup // Serve loops, connections, background tasks
	finalOnce sync.Once
	finalErr  error
}

// New returns a Server configured by cfg (see Config for the defaults).
// With a PersistenceDir it loads the state saved there. It starts no
// goroutine that Shutdown does not end.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, start: time.Now(),
		listeners: make(map[net.Listener]struct{}),
		https:     make(map[*http.Server]struct{}),
		conns:     make(map[*conn]struct{}),
		sessions:  make(map[string]*session),
	}
	s.retained.max = cfg.MaxRetainedBytes
	s.checkReads = !isAllowAll(cfg.Authorizer)
	if _, acl := cfg.Authorizer.(*ACL); (acl || !s.checkReads) && cfg.PersistenceDir == "" {
		// Nothing that handling a PUBLISH or an acknowledgement calls
		// may wait: the poller's goroutine may handle them (conn.unpark).
		s.inline = true
	}
	if len(cfg.Bridges) > 0 {
		s.cfg.Authorizer = bridgeAuthorizer{s, cfg.Authorizer}
	}
	if cfg.PersistenceDir != "" {
		if err := s.openPersistence(); err != nil {
			cancel()
			return nil, err
		}
	}
	if err := s.startBridges(); err != nil {
		cancel()
		if s.store != nil {
			s.closePersistence()
		}
		return nil, err
	}
	if cfg.SysInterval > 0 {
		s.wg.Go(s.sysLoop)
	}
	return s, nil
}

// Serve accepts connections on l and serves each in its own goroutines
// until Shutdown, then returns ErrServerClosed; it returns any other
// accept error at once, after closing l. For TLS, pass a listener from
// tls.NewListener; the handshake runs within Config.ConnectTimeout.
func (s *Server) Serve(l net.Listener) error {
	pl := nowait.NewListener(l)
	if pl != nil {
		l = pl // plain TCP on Linux: connections that park while idle
	}
	if !s.addListener(l) {
		l.Close()
		return ErrServerClosed
	}
	defer s.wg.Done()
	defer s.removeListener(l)
	if pl != nil {
		return s.servePolled(pl)
	}
	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if retry, end := s.acceptFailed(l, err, &backoff); !retry {
				return end
			}
			continue
		}
		backoff = 0
		if c := s.track(nc); c != nil {
			go func() {
				r := c.open()
				if r == nil {
					c.finish()
					s.wg.Done()
					return
				}
				// The rest on a new goroutine, whose stack holds only
				// what reading needs, not what CONNECT took: an idle
				// client costs a small stack.
				go func() {
					defer s.wg.Done()
					c.run(r)
				}()
			}()
		}
	}
}

// acceptFailed reports whether Serve retries after an Accept error, once
// a delay has passed: out of file descriptors, say, as http.Server does.
// If not, Serve returns end.
func (s *Server) acceptFailed(l net.Listener, err error, backoff *time.Duration) (retry bool, end error) {
	if s.isClosing() {
		return false, ErrServerClosed
	}
	if te, ok := err.(interface{ Temporary() bool }); ok && te.Temporary() {
		*backoff = min(max(2**backoff, 5*time.Millisecond), time.Second)
		s.log.Warn("accept failed; retrying", "err", err, "delay", *backoff)
		select {
		case <-time.After(*backoff):
		case <-s.ctx.Done():
		}
		return true, nil
	}
	l.Close()
	return false, err
}

// servePolled serves a nowait.Listener. The poller's goroutine accepts
// the connections as they come, as Mosquitto's one thread does, and
// starts each parked (startParked): with no goroutine, woken when its
// CONNECT comes. Serve's goroutine waits meanwhile, for what stops the
// accepting: an error, or the listener closed.
func (s *Server) servePolled(pl *nowait.Listener) error {
	a := &polledAccept{s: s, pl: pl, stopped: make(chan error, 1)}
	a.ready = a.accept
	var backoff time.Duration
	for {
		a.accept(nil)
		err := <-a.stopped
		if a.accepted.Swap(false) {
			backoff = 0
		}
		if retry, end := s.acceptFailed(pl, err, &backoff); !retry {
			return end
		}
	}
}

// polledAccept is a Serve of a nowait.Listener.
type polledAccept struct {
	s        *Server
	pl       *nowait.Listener
	ready    func(*nowait.Yield) // accept, bound once
	stopped  chan error          // an Accept error, for Serve's goroutine
	accepted atomic.Bool         // a connection came since the last error
}

// accept accepts the pending connections, then parks the listener until
// more come; on an error it stops, and tells Serve's goroutine. Called by
// the poller (y), by Serve's goroutine, and by Close.
func (a *polledAccept) accept(*nowait.Yield) {
	for {
		nc, err := a.pl.TryAccept()
		if err == nowait.ErrWouldBlock {
			if a.pl.Park(a.ready) {
				return
			}
			continue // closed: TryAccept says so
		}
		if err != nil {
			select {
			case a.stopped <- err:
			default: // told already
			}
			return
		}
		a.accepted.Store(true)
		a.s.startParked(nc.(*nowait.Conn))
	}
}

// ServeConn serves one connection on the calling goroutine and returns
// when it ends; it closes nc. After Shutdown it closes nc at once.
func (s *Server) ServeConn(nc net.Conn) { s.serveConn(nc, nil) }

// serveConn is ServeConn for a connection whose TLS state, if any, is
// known: WebSocket over TLS.
func (s *Server) serveConn(nc net.Conn, st *tls.ConnectionState) {
	if c := s.track(nc); c != nil {
		defer s.wg.Done()
		c.tls = st
		c.serve()
	}
}

// track registers a new connection, counted in s.wg and held as pending
// until its CONNECT is accepted, or closes nc and returns nil if the
// server is closing or the connection's address has MaxPendingPerIP
// pending connections already. When MaxPending connections are pending,
// the oldest is closed to make room.
func (s *Server) track(nc net.Conn) *conn {
	c := newConn(s, nc)
	var evicted *conn
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		nc.Close()
		return nil
	}
	if max := s.cfg.MaxPendingPerIP; max > 0 {
		c.ip = remoteIP(nc)
		if s.pendingByIP[c.ip] >= max {
			s.mu.Unlock()
			s.stats.pendingClosed.Add(1)
			s.log.Warn("connection closed: too many pending connections from its address",
				"remote", c.remote, "limit", max)
			nc.Close()
			return nil
		}
		if s.pendingByIP == nil {
			s.pendingByIP = make(map[string]int)
		}
		s.pendingByIP[c.ip]++
	}
	if s.pending.Len() >= s.cfg.MaxPending {
		evicted = s.pending.Front().Value.(*conn)
		s.unpendLocked(evicted)
	}
	c.pend = s.pending.PushBack(c)
	s.conns[c] = struct{}{}
	s.connsPeak.grew(len(s.conns))
	s.wg.Add(1)
	s.mu.Unlock()
	s.stats.connections.Add(1)
	s.stats.connectionsTotal.Add(1)
	if evicted != nil {
		s.stats.pendingClosed.Add(1)
		evicted.close(errPendingEvicted)
	}
	return c
}

// unpendLocked takes c off the pending list, if it is there. The caller
// holds s.mu.
func (s *Server) unpendLocked(c *conn) {
	if c.pend == nil {
		return
	}
	s.pending.Remove(c.pend)
	c.pend = nil
	if c.ip != "" {
		if s.pendingByIP[c.ip]--; s.pendingByIP[c.ip] <= 0 {
			delete(s.pendingByIP, c.ip)
		}
	}
}

// admit moves c from the pending connections to the clients, if there
// is room for one more client (Config.MaxConnections).
func (s *Server) admit(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admitted >= s.cfg.MaxConnections {
		return false
	}
	s.unpendLocked(c)
	s.admitted++
	c.admitted = true
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.conns = shrink(s.conns, &s.connsPeak)
	s.unpendLocked(c)
	if c.admitted {
		s.admitted--
	}
	s.mu.Unlock()
	s.stats.connections.Add(-1)
}

// remoteIP returns the IP address of nc's peer, or its whole address if
// it has no IP.
func remoteIP(nc net.Conn) string {
	a := nc.RemoteAddr()
	if a == nil {
		return ""
	}
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Server) addListener(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.listeners[l] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) removeListener(l net.Listener) {
	s.mu.Lock()
	delete(s.listeners, l)
	s.mu.Unlock()
}

// Shutdown stops the broker: it closes the listeners, so that Serve
// returns, and every connection. Clients that did not send DISCONNECT have
// their wills published; persistent sessions are kept, and with a
// PersistenceDir written to disk. Shutdown returns when every goroutine of
// the broker has ended and the state is saved, or with ctx's error when
// ctx ends first; a later call waits again. The Server cannot be used
// again.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.closing
	s.closing = true
	var conns []*conn
	if first {
		for l := range s.listeners {
			l.Close()
		}
		for h := range s.https {
			h.Close()
		}
		for c := range s.conns {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	if first {
		s.cancel()
		for _, c := range conns {
			c.close(ErrServerClosed)
		}
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.finalOnce.Do(func() {
		if s.store != nil {
			s.finalErr = s.closePersistence()
		}
	})
	return s.finalErr
}
