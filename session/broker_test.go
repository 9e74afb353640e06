package session_test

// The tests of this file run Petrel's broker (package broker), which
// imports package session for its bridges: they are in package
// session_test, which may import it, with the helpers of export_test.go.

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
	"github.com/petrel-mqtt/petrel/internal/brokertest"
	"github.com/petrel-mqtt/petrel/internal/faultproxy"
	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// TestFaultInjectionBroker is TestFaultInjection through Petrel's own
// broker, which must not break exactly-once even now and then.
func TestFaultInjectionBroker(t *testing.T) {
	_, addr := brokertest.Start(t, broker.Config{MaxQueued: 1 << 30})
	session.FaultInjection(t, addr, true)
}

// TestStats carries messages at each QoS between two clients through the
// embedded broker and checks that the clients' counters agree with what
// was done, and with the broker's: what one side wrote the other read.
func TestStats(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, addr := brokertest.Start(t, broker.Config{})
	host, port := session.SplitHostPort(t, addr)
	got := make(chan *session.Message, 10)
	sub := session.StatsClient(t, ctx, session.Config{Address: host, Port: port, ClientID: "stats-sub"})
	if _, err := sub.Subscribe(ctx, session.HandlerFunc(func(m *session.Message) { got <- m }), session.Subscription{Filter: "stats/#", QoS: packet.QoS2}); err != nil {
		t.Fatal(err)
	}
	pub := session.StatsClient(t, ctx, session.Config{Address: host, Port: port, ClientID: "stats-pub"})
	if st := pub.Stats(); st.Connections != 1 || st.MessagesSent != 0 || st.BytesSent == 0 || st.BytesReceived != 4 {
		t.Errorf("after Connect: %+v; want one connection, CONNECT sent and the 4 bytes of CONNACK received", st)
	}
	session.StatsTraffic(t, ctx, pub, got, 3)

	ps, ss := pub.Stats(), sub.Stats()
	if ps.MessagesSent != 9 || ps.MessagesReceived != 0 || ps.InFlight != 0 || ps.Reconnects != 0 || ps.Subscriptions != 0 {
		t.Errorf("publisher: %+v; want 9 messages sent, none in flight", ps)
	}
	if ss.MessagesReceived != 9 || ss.MessagesSent != 0 || ss.Connections != 1 || ss.Subscriptions != 1 {
		t.Errorf("subscriber: %+v; want 9 messages received, 1 connection, 1 subscription", ss)
	}
	// Once the acknowledgements have settled, the broker has read all they
	// wrote and they all it wrote.
	var bs broker.Stats
	for {
		ps, ss, bs = pub.Stats(), sub.Stats(), srv.Stats()
		if bs.BytesReceived == ps.BytesSent+ss.BytesSent && bs.BytesSent == ps.BytesReceived+ss.BytesReceived {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("broker received %d and sent %d bytes; the clients sent %d+%d and received %d+%d",
				bs.BytesReceived, bs.BytesSent, ps.BytesSent, ss.BytesSent, ps.BytesReceived, ss.BytesReceived)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if bs.MessagesSent != ss.MessagesReceived || bs.MessagesReceived != ps.MessagesSent {
		t.Errorf("broker received %d and sent %d messages; the clients sent %d and received %d",
			bs.MessagesReceived, bs.MessagesSent, ps.MessagesSent, ss.MessagesReceived)
	}
}

// TestStatsReconnect cuts a subscriber's connection (internal/faultproxy):
// it counts the reconnection and a second connection, and goes on
// counting the messages of its resumed session.
func TestStatsReconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, addr := brokertest.Start(t, broker.Config{})
	p := session.FaultProxy(t, addr, 1)
	got := make(chan *session.Message, 10)
	sub := session.StatsClient(t, ctx, session.ProxiedConfig(t, p, "stats-sub"))
	if _, err := sub.Subscribe(ctx, session.HandlerFunc(func(m *session.Message) { got <- m }), session.Subscription{Filter: "stats/#", QoS: packet.QoS2}); err != nil {
		t.Fatal(err)
	}
	host, port := session.SplitHostPort(t, addr)
	pub := session.StatsClient(t, ctx, session.Config{Address: host, Port: port, ClientID: "stats-pub"})
	session.StatsTraffic(t, ctx, pub, got, 1)
	p.CutAll()
	for sub.Stats().Reconnects == 0 || !sub.Connected() {
		if ctx.Err() != nil {
			t.Fatalf("no reconnection: %+v", sub.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	session.StatsTraffic(t, ctx, pub, got, 1)
	ss := sub.Stats()
	if ss.Connections != 2 || ss.Reconnects != 1 || ss.Subscriptions != 1 {
		t.Errorf("subscriber: %+v; want 2 connections, 1 reconnect, 1 subscription", ss)
	}
	// A message whose acknowledgement the cut lost is sent again: at
	// least 6 arrived, as many as the broker sent.
	if bs := srv.Stats(); ss.MessagesReceived < 6 || ss.MessagesReceived != bs.MessagesSent {
		t.Errorf("subscriber received %d messages, the broker sent %d; want at least 6, and the same", ss.MessagesReceived, bs.MessagesSent)
	}
}

// TestAddressesInTurn: Connect tries Address, then each of
// Reconnect.Addresses, until one accepts; so does each reconnection, from
// the next address on.
func TestAddressesInTurn(t *testing.T) {
	leaktest.Check(t)
	dead := func() string { // a loopback port nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	_, live := brokertest.Start(t, broker.Config{})
	p, err := faultproxy.Listen(live, faultproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ups := make(chan struct{}, 4)
	c, err := session.New(session.Config{
		Address: "mqtt://" + dead(), ClientID: "turns", ConnectionTimeout: 5 * time.Second,
		Reconnect: &session.Reconnect{
			MinDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond,
			Addresses: []string{"mqtt://" + dead(), "mqtt://" + p.Addr()},
			OnConnect: func(bool) { ups <- struct{}{} },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if n := p.Conns(); n != 1 {
		t.Fatalf("%d connections through the live address, want 1", n)
	}
	p.CutAll()
	wait(t, ups) // after the two dead addresses, the live one again
	if n := p.Conns(); n != 2 {
		t.Errorf("%d connections through the live address, want 2", n)
	}
	if err := c.Publish(context.Background(), session.Message{Topic: "t", QoS: packet.QoS1}); err != nil {
		t.Errorf("Publish after reconnecting: %v", err)
	}
}

// wait receives from ch within 10 s.
func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}
