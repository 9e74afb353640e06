package session

import (
	"context"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
	"github.com/petrel-mqtt/petrel/internal/brokertest"
	"github.com/petrel-mqtt/petrel/packet"
)

// statsClient connects a client with cfg, closed when the test ends.
func statsClient(t *testing.T, ctx context.Context, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return c
}

// statsTraffic publishes n messages at each QoS from pub, and waits for
// them to reach the handler feeding got.
func statsTraffic(t *testing.T, ctx context.Context, pub *Client, got <-chan *Message, n int) {
	t.Helper()
	for q := range 3 {
		for range n {
			if err := pub.Publish(ctx, Message{Topic: "stats/x", Payload: []byte("hello"), QoS: packet.QoS(q)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 3 * n {
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal("messages did not arrive")
		}
	}
}

// TestStats carries messages at each QoS between two clients through the
// embedded broker and checks that the clients' counters agree with what
// was done, and with the broker's: what one side wrote the other read.
func TestStats(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, addr := brokertest.Start(t, broker.Config{})
	host, port := splitHostPort(t, addr)
	got := make(chan *Message, 10)
	sub := statsClient(t, ctx, Config{Address: host, Port: port, ClientID: "stats-sub"})
	if _, err := sub.Subscribe(ctx, HandlerFunc(func(m *Message) { got <- m }), Subscription{Filter: "stats/#", QoS: packet.QoS2}); err != nil {
		t.Fatal(err)
	}
	pub := statsClient(t, ctx, Config{Address: host, Port: port, ClientID: "stats-pub"})
	if st := pub.Stats(); st.Connections != 1 || st.MessagesSent != 0 || st.BytesSent == 0 || st.BytesReceived != 4 {
		t.Errorf("after Connect: %+v; want one connection, CONNECT sent and the 4 bytes of CONNACK received", st)
	}
	statsTraffic(t, ctx, pub, got, 3)

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
	p := faultProxy(t, addr, 1)
	got := make(chan *Message, 10)
	sub := statsClient(t, ctx, proxiedConfig(t, p, "stats-sub"))
	if _, err := sub.Subscribe(ctx, HandlerFunc(func(m *Message) { got <- m }), Subscription{Filter: "stats/#", QoS: packet.QoS2}); err != nil {
		t.Fatal(err)
	}
	host, port := splitHostPort(t, addr)
	pub := statsClient(t, ctx, Config{Address: host, Port: port, ClientID: "stats-pub"})
	statsTraffic(t, ctx, pub, got, 1)
	p.CutAll()
	for sub.Stats().Reconnects == 0 || !sub.Connected() {
		if ctx.Err() != nil {
			t.Fatalf("no reconnection: %+v", sub.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	statsTraffic(t, ctx, pub, got, 1)
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
