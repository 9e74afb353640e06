package broker

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestServeConnPipe serves a connection over net.Pipe, as the fuzz
// target does.
func TestServeConnPipe(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() {
		s.ServeConn(b)
		close(done)
	}()
	c := newClient(t, a)
	c.connect(&packet.Connect{ClientID: []byte("pipe"), CleanSession: true}, packet.Connack{})
	c.subscribe(1, "p", packet.QoS1, packet.GrantedQoS1)
	c.publish("p", "self", packet.QoS1, false, 2)
	m := c.expectPublish(pub("p", "self", packet.QoS1, false))
	c.send(&packet.Puback{PacketID: m.PacketID})
	c.send(&packet.Pingreq{})
	c.expect(&packet.Pingresp{})
	c.send(&packet.Disconnect{})
	<-done
	a.Close()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestShutdown checks that Shutdown closes listeners and connections,
// publishes the wills of clients that did not disconnect, and refuses new
// connections.
func TestShutdown(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	addr := l.Addr().String()
	persistent := dial(t, addr)
	persistent.connect(&packet.Connect{ClientID: []byte("keep")}, packet.Connack{})
	persistent.subscribe(1, "will/#", packet.QoS1, packet.GrantedQoS1)
	w := connectWithWill(t, addr, "w", packet.QoS1, true)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	persistent.expectClosed()
	w.expectClosed()
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("listener still open")
	}
	if err := s.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
	a, b := net.Pipe()
	s.ServeConn(b) // returns at once
	if _, err := a.Write([]byte{0}); err == nil {
		t.Error("ServeConn after Shutdown left the connection open")
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	st := s.Stats()
	if st.Sessions != 1 || st.Retained != 1 || st.Connections != 0 || st.Clients != 0 {
		t.Errorf("after Shutdown: %+v; want the persistent session, the retained will, no connections", st)
	}
	// The will is queued, or taken into the in-flight window by a write
	// that the closing connection failed: either way the session keeps it.
	s.mu.Lock()
	keep := s.sessions["keep"]
	s.mu.Unlock()
	keep.mu.Lock()
	held := keep.queue.len() + len(keep.inflight)
	keep.mu.Unlock()
	if held != 1 {
		t.Errorf("persistent session holds %d messages, want the will", held)
	}
}

// TestConfigErrors checks that New refuses invalid limits.
func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{MaxInflight: -1},
		{MaxInflight: 70000},
		{MaxQueued: -1},
		{ConnectTimeout: -1},
		{MaxPacketSize: 1 << 30},
		{MaxClientIDLength: 1 << 20},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if _, ok := errors.AsType[*ConfigError](err); !ok {
			t.Errorf("New(%+v) = %v, want a *ConfigError", cfg, err)
		}
	}
}
