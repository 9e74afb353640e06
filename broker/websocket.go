package broker

import (
	"container/list"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/petrel-mqtt/petrel/transport"
)

// WebSocketHandler returns an http.Handler that serves MQTT over WebSocket
// (section 6) on any path: it upgrades the request, selecting the "mqtt"
// subprotocol [MQTT-6.0.0-4], and serves the connection until it ends.
// Mount it on a mux to serve MQTT beside other HTTP handlers; requests
// that are not valid MQTT WebSocket upgrades get an HTTP error. For wss://
// serve it with TLS: the Authenticator sees the TLS state in ConnInfo.
func (s *Server) WebSocketHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.isClosing() {
			http.Error(w, "broker closed", http.StatusServiceUnavailable)
			return
		}
		nc, err := transport.AcceptWebSocket(w, r)
		if err != nil {
			s.log.Info("websocket upgrade refused", "remote", r.RemoteAddr, "err", err)
			return
		}
		s.serveConn(nc, r.TLS)
	})
}

// ServeWebSocket serves MQTT over WebSocket on l, with an http.Server
// running WebSocketHandler, until Shutdown; then it returns
// ErrServerClosed. For wss://, pass a listener from tls.NewListener.
//
// A connection is pending (see Config.MaxPending) from the moment it is
// accepted: in its TLS handshake and HTTP upgrade, which must come within
// Config.ConnectTimeout, as much as before its CONNECT. Up to MaxPending
// connections of ServeWebSocket's listeners may be in their upgrade at
// once; a new one beyond closes the oldest, so that sockets that never
// send a request cannot keep clients out or fill the broker's memory.
func (s *Server) ServeWebSocket(l net.Listener) error {
	hs := &http.Server{
		Handler:           s.WebSocketHandler(),
		ReadHeaderTimeout: s.cfg.ConnectTimeout,
		IdleTimeout:       s.cfg.ConnectTimeout,
		ConnState:         s.upgradeState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.https[hs] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	err := hs.Serve(l)
	s.mu.Lock()
	delete(s.https, hs)
	s.mu.Unlock()
	if errors.Is(err, http.ErrServerClosed) {
		return ErrServerClosed
	}
	hs.Close()
	return err
}

// upgrading holds the connections of ServeWebSocket's listeners that have
// not been upgraded yet, oldest first, bounded by Config.MaxPending.
type upgrading struct {
	mu    sync.Mutex
	order list.List // of net.Conn
	elems map[net.Conn]*list.Element
}

// upgradeState is ServeWebSocket's http.Server.ConnState: a connection
// is upgrading from StateNew until hijacked (upgraded: it is then pending
// as any other until its CONNECT) or closed. The oldest is closed when a
// new one would exceed Config.MaxPending.
func (s *Server) upgradeState(nc net.Conn, st http.ConnState) {
	u := &s.upgrading
	u.mu.Lock()
	switch st {
	case http.StateNew:
		if u.elems == nil {
			u.elems = make(map[net.Conn]*list.Element)
		}
		var oldest net.Conn
		if u.order.Len() >= s.cfg.MaxPending {
			oldest = u.order.Remove(u.order.Front()).(net.Conn)
			delete(u.elems, oldest)
		}
		u.elems[nc] = u.order.PushBack(nc)
		u.mu.Unlock()
		if oldest != nil {
			s.stats.pendingClosed.Add(1)
			s.log.Debug("connection closed", "remote", oldest.RemoteAddr().String(),
				"reason", "closed to make room: the oldest of Config.MaxPending WebSocket connections not upgraded yet")
			oldest.Close()
		}
		return
	case http.StateHijacked, http.StateClosed:
		if e, ok := u.elems[nc]; ok {
			u.order.Remove(e)
			delete(u.elems, nc)
		}
	}
	u.mu.Unlock()
}
