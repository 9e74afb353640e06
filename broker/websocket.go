package broker

import (
	"errors"
	"log/slog"
	"net"
	"net/http"

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
func (s *Server) ServeWebSocket(l net.Listener) error {
	hs := &http.Server{
		Handler:           s.WebSocketHandler(),
		ReadHeaderTimeout: s.cfg.ConnectTimeout,
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
