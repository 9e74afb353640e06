package broker

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	psession "github.com/petrel-mqtt/petrel/session"
)

// newSessionClient returns a Petrel client of the broker at addr.
func newSessionClient(t testing.TB, addr, id string, clean bool) *psession.Client {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	c, err := psession.New(psession.Config{Address: host, Port: p, ClientID: id, PersistentSession: !clean, ConnectionTimeout: wait})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collect returns a handler that sends each message to a channel.
func collect(n int) (psession.Handler, chan *psession.Message) {
	ch := make(chan *psession.Message, n)
	return psession.HandlerFunc(func(m *psession.Message) { ch <- m }), ch
}

func receive(t testing.TB, ch chan *psession.Message) *psession.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(wait):
		t.Fatal("no message")
		return nil
	}
}

// TestEndToEnd runs Petrel's own client against the broker: subscribe,
// publish at each QoS, a persistent session's offline messages, retained
// messages, and clean disconnects.
func TestEndToEnd(t *testing.T) {
	s, addr := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()

	sub := newSessionClient(t, addr, "e2e-sub", false)
	if present, err := sub.Connect(ctx); err != nil || present {
		t.Fatalf("Connect = %v, %v; want false, nil", present, err)
	}
	h, ch := collect(16)
	codes, err := sub.Subscribe(ctx, h, psession.Subscription{Filter: "e2e/#", QoS: packet.QoS2})
	if err != nil || len(codes) != 1 || codes[0] != packet.GrantedQoS2 {
		t.Fatalf("Subscribe = %v, %v", codes, err)
	}

	pubc := newSessionClient(t, addr, "e2e-pub", true)
	if _, err := pubc.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for q := range packet.QoS(3) {
		topic := "e2e/q" + strconv.Itoa(int(q))
		if err := pubc.Publish(ctx, psession.Message{Topic: topic, Payload: []byte("hello"), QoS: q}); err != nil {
			t.Fatalf("Publish QoS %d: %v", q, err)
		}
		m := receive(t, ch)
		if m.Topic != topic || string(m.Payload) != "hello" || m.QoS != q || m.Retain {
			t.Errorf("got %+v, want %s at QoS %d", m, topic, q)
		}
	}

	// Offline messages of the persistent psession.
	if err := sub.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	// The broker must have read the acknowledgements sub sent before its
	// DISCONNECT: a new connection of the same ClientId arriving first
	// would take the session over [MQTT-3.1.4-2] and cut them off, and
	// the messages would be sent again, as QoS 1 and 2 allow.
	for deadline := time.Now().Add(wait); s.Stats().Clients > 1; {
		if time.Now().After(deadline) {
			t.Fatalf("the broker still counts %d clients", s.Stats().Clients)
		}
		time.Sleep(time.Millisecond)
	}
	for i := range 3 {
		if err := pubc.Publish(ctx, psession.Message{Topic: "e2e/offline", Payload: []byte{byte(i)}, QoS: packet.QoS1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pubc.Publish(ctx, psession.Message{Topic: "e2e/retained", Payload: []byte("kept"), QoS: packet.QoS1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	h2, ch2 := collect(16)
	sub2 := newSessionClientWithDefault(t, addr, "e2e-sub", h2)
	if present, err := sub2.Connect(ctx); err != nil || !present {
		t.Fatalf("Connect = %v, %v; want true, nil", present, err)
	}
	for i := range 3 {
		m := receive(t, ch2)
		if m.Topic != "e2e/offline" || m.Payload[0] != byte(i) {
			t.Errorf("offline message %d: got %s %v", i, m.Topic, m.Payload)
		}
	}
	m := receive(t, ch2)
	if m.Topic != "e2e/retained" || m.Retain {
		t.Errorf("got %+v, want e2e/retained delivered live (RETAIN=0)", m)
	}

	late := newSessionClient(t, addr, "e2e-late", true)
	if _, err := late.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	h3, ch3 := collect(4)
	if _, err := late.Subscribe(ctx, h3, psession.Subscription{Filter: "e2e/retained", QoS: packet.QoS1}); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, ch3); string(m.Payload) != "kept" || !m.Retain || m.QoS != packet.QoS1 {
		t.Errorf("retained: got %+v", m)
	}
	for _, c := range []*psession.Client{sub2, pubc, late} {
		if err := c.Disconnect(ctx); err != nil {
			t.Error(err)
		}
	}
}

// newSessionClientWithDefault returns a persistent-session client whose
// DefaultHandler receives the messages of subscriptions made by an
// earlier connection.
func newSessionClientWithDefault(t testing.TB, addr, id string, h psession.Handler) *psession.Client {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	c, err := psession.New(psession.Config{Address: host, Port: p, ClientID: id, PersistentSession: true, ConnectionTimeout: wait, DefaultHandler: h})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
