package broker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	psession "github.com/petrel-mqtt/petrel/session"
)

// TestWebSocket serves MQTT over WebSocket with ServeWebSocket and
// connects Petrel's client to it with a ws:// address, beside a TCP
// client of the same broker.
func TestWebSocket(t *testing.T) {
	s, addr := startServer(t, Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeWebSocket(l) }()
	t.Cleanup(func() {
		s.Shutdown(context.Background())
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServeWebSocket = %v, want ErrServerClosed", err)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, err := psession.New(psession.Config{Address: "ws://" + l.Addr().String() + "/mqtt", ClientID: "ws"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	h, ch := collect(4)
	if _, err := ws.Subscribe(ctx, h, psession.Subscription{Filter: "ws/#", QoS: packet.QoS1}); err != nil {
		t.Fatal(err)
	}
	tcp := connectID(t, addr, "tcp", true)
	tcp.publish("ws/x", "over websocket", packet.QoS1, false, 1)
	if m := receive(t, ch); string(m.Payload) != "over websocket" || m.QoS != packet.QoS1 {
		t.Errorf("got %+v", m)
	}
	if err := ws.Publish(ctx, psession.Message{Topic: "tcp/y", Payload: []byte("back"), QoS: packet.QoS0}); err != nil {
		t.Fatal(err)
	}
	if err := ws.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestWebSocketHandler mounts the handler on a mux of an httptest server,
// and checks that a plain HTTP request is refused.
func TestWebSocketHandler(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mqtt", s.WebSocketHandler())
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer s.Shutdown(context.Background())

	resp, err := http.Get(hs.URL + "/mqtt")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("plain GET: %d, want 426", resp.StatusCode)
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := psession.New(psession.Config{Address: "ws://" + strings.TrimPrefix(hs.URL, "http://") + "/mqtt", ClientID: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestWebSocketPending checks that connections to a WebSocket listener
// are pending from the moment they are accepted: sockets that never send
// their HTTP upgrade are bounded by MaxPending, the oldest closed first,
// so that they cannot keep clients out; a client that upgrades and
// connects gets in.
func TestWebSocketPending(t *testing.T) {
	s, err := New(Config{MaxPending: 2})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.ServeWebSocket(l) }()
	defer func() {
		s.Shutdown(context.Background())
		<-served
	}()

	silent := make([]net.Conn, 3)
	for i := range silent {
		nc, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		silent[i] = nc
	}
	closed := func(nc net.Conn) bool {
		nc.SetReadDeadline(time.Now().Add(wait))
		_, err := nc.Read(make([]byte, 1))
		return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
	}
	if !closed(silent[0]) {
		t.Fatal("the oldest silent connection is still open with MaxPending 2 and 3 of them")
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ws, err := psession.New(psession.Config{Address: "ws://" + l.Addr().String() + "/mqtt", ClientID: "ws"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Connect(ctx); err != nil {
		t.Fatalf("a WebSocket client beside silent sockets: %v", err)
	}
	defer ws.Disconnect(ctx)
	if !closed(silent[1]) {
		t.Error("the second silent connection is still open after a client came")
	}
	silent[2].SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := silent[2].Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the newest silent connection: %v; want it still open", err)
	}
	if st := s.Stats(); st.PendingClosed != 2 {
		t.Errorf("PendingClosed %d; want 2", st.PendingClosed)
	}
}
