package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	mqtt "github.com/petrel-mqtt/petrel/session"
)

func TestBridgeConfigErrors(t *testing.T) {
	ok := Bridge{Name: "b", Addresses: []string{"127.0.0.1:1883"}, Topics: []BridgeTopic{{Pattern: "#"}}}
	for _, tc := range []struct {
		field string
		edit  func(b *Bridge)
	}{
		{"Bridges[0].Name", func(b *Bridge) { b.Name = "" }},
		{"Bridges[0].Addresses", func(b *Bridge) { b.Addresses = nil }},
		{"Bridges[0].Addresses[0]", func(b *Bridge) { b.Addresses = []string{"::1"} }},
		{"Bridges[0].Addresses[0]", func(b *Bridge) { b.Addresses = []string{"h:99999"} }},
		{"Bridges[0].Topics", func(b *Bridge) { b.Topics = nil }},
		{"Bridges[0].Topics[0]", func(b *Bridge) { b.Topics = []BridgeTopic{{Pattern: "a/#/b"}} }},
		{"Bridges[0].Topics[0]", func(b *Bridge) { b.Topics = []BridgeTopic{{Pattern: "", LocalPrefix: "l"}} }},
		{"Bridges[0].Topics[0]", func(b *Bridge) { b.Topics = []BridgeTopic{{Pattern: "#", LocalPrefix: "+/"}} }},
		{"Bridges[0].Topics[0]", func(b *Bridge) { b.Topics = []BridgeTopic{{Pattern: "#", QoS: 3}} }},
		{"Bridges[0].Topics[0]", func(b *Bridge) { b.Topics = []BridgeTopic{{Pattern: "#", Direction: 7}} }},
		{"Bridges[0].KeepAlive", func(b *Bridge) { b.KeepAlive = time.Second }},
		{"Bridges[0].RestartMax", func(b *Bridge) { b.RestartMin, b.RestartMax = 10*time.Second, time.Second }},
		{"Bridges[0].Password", func(b *Bridge) { b.Password = "p" }},
		{"Bridges[0].NotificationTopic", func(b *Bridge) { b.NotificationTopic = "a/+" }},
	} {
		b := ok
		tc.edit(&b)
		_, err := New(Config{Bridges: []Bridge{b}})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%+v: got %v, want a ConfigError for %s", b, err, tc.field)
		}
	}
	_, err := New(Config{Bridges: []Bridge{ok, ok}})
	if err == nil || !strings.Contains(err.Error(), "Bridges[1].Name") {
		t.Errorf("two bridges of one name: %v", err)
	}
}

func TestBridgeDefaults(t *testing.T) {
	b, err := Bridge{Name: "edge", Addresses: []string{"mq1", "mq2:1884", "[::1]:1883", "mqtts://mq3"}, Topics: []BridgeTopic{{Pattern: "#"}}}.withDefaults(0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mqtt://mq1:1883", "mqtt://mq2:1884", "mqtt://[::1]:1883", "mqtts://mq3"}
	if fmt.Sprint(b.Addresses) != fmt.Sprint(want) {
		t.Errorf("Addresses %q, want %q", b.Addresses, want)
	}
	if !strings.HasSuffix(b.ClientID, ".edge") || b.LocalClientID != "local."+b.ClientID ||
		b.NotificationTopic != "$SYS/broker/connection/"+b.ClientID+"/state" {
		t.Errorf("ids %q %q, notification topic %q", b.ClientID, b.LocalClientID, b.NotificationTopic)
	}
	if b.KeepAlive != 60*time.Second || b.RestartMin != 5*time.Second || b.RestartMax != 30*time.Second || b.TryPrivate {
		t.Errorf("keepalive %v, restart %v-%v, try_private %v", b.KeepAlive, b.RestartMin, b.RestartMax, b.TryPrivate)
	}
}

// TestBridgeTopicMap follows the table of mosquitto.conf(5), topic.
func TestBridgeTopicMap(t *testing.T) {
	for _, tc := range []struct {
		t             BridgeTopic
		local, remote string
	}{
		{BridgeTopic{Pattern: "pattern", LocalPrefix: "L/", RemotePrefix: "R/"}, "L/pattern", "R/pattern"},
		{BridgeTopic{Pattern: "pattern", LocalPrefix: "L/"}, "L/pattern", "pattern"},
		{BridgeTopic{Pattern: "pattern", RemotePrefix: "R/"}, "pattern", "R/pattern"},
		{BridgeTopic{Pattern: "pattern"}, "pattern", "pattern"},
		{BridgeTopic{LocalPrefix: "local", RemotePrefix: "remote"}, "local", "remote"},
		{BridgeTopic{Pattern: "a/+/c", LocalPrefix: "site/1/", RemotePrefix: "sites/"}, "site/1/a/b/c", "sites/a/b/c"},
	} {
		if r := tc.t.check(); r != "" {
			t.Errorf("%+v: %s", tc.t, r)
			continue
		}
		b := Bridge{Topics: []BridgeTopic{tc.t}}
		b.Topics[0].Direction = Both
		if ot, ok := b.outTopic(tc.local); !ok || ot.toRemote(tc.local) != tc.remote {
			t.Errorf("%+v: local %q goes out as %q (matched %v), want %q", tc.t, tc.local, ot.toRemote(tc.local), ok, tc.remote)
		}
		if it, ok := b.inTopic(tc.remote); !ok || it.toLocal(tc.remote) != tc.local {
			t.Errorf("%+v: remote %q comes in as %q (matched %v), want %q", tc.t, tc.remote, it.toLocal(tc.remote), ok, tc.local)
		}
	}
	for _, bad := range []BridgeTopic{{LocalPrefix: "local"}, {RemotePrefix: "remote"}, {}} {
		if bad.check() == "" {
			t.Errorf("%+v accepted; Mosquitto's table says invalid", bad)
		}
	}
}

func TestMarkBridge(t *testing.T) {
	p, _ := (&packet.Connect{ClientID: []byte("x"), CleanSession: true}).AppendBinary(nil)
	markBridge(p)
	if p[8] != 0x84 {
		t.Errorf("protocol level %#x, want 0x84: % x", p[8], p)
	}
}

// bridgeClient connects a client to addr that feeds what it receives on
// filter into a channel.
func bridgeClient(t *testing.T, addr, id, filter string) (*mqtt.Client, chan *mqtt.Message) {
	t.Helper()
	c, err := mqtt.New(mqtt.Config{Address: addr, ClientID: id})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	got := make(chan *mqtt.Message, 1000)
	if filter != "" {
		if _, err := c.Subscribe(context.Background(), mqtt.HandlerFunc(func(m *mqtt.Message) { got <- m }),
			mqtt.Subscription{Filter: filter, QoS: packet.QoS2}); err != nil {
			t.Fatal(err)
		}
	}
	return c, got
}

// expect reads from got the messages on topic with payloads want, in order,
// skipping other topics, and then nothing more on topic for a moment.
func expect(t *testing.T, got <-chan *mqtt.Message, topic string, want ...string) {
	t.Helper()
	for _, w := range want {
		for {
			select {
			case m := <-got:
				if m.Topic != topic {
					continue
				}
				if string(m.Payload) != w {
					t.Fatalf("%s: got %q, want %q", topic, m.Payload, w)
				}
			case <-time.After(wait):
				t.Fatalf("%s: %q did not arrive", topic, w)
			}
			break
		}
	}
	deadline := time.After(quiet)
	for {
		select {
		case m := <-got:
			if m.Topic == topic {
				t.Fatalf("%s: %q more", topic, m.Payload)
			}
		case <-deadline:
			return
		}
	}
}

func publish(t *testing.T, c *mqtt.Client, topic, payload string, qos packet.QoS) {
	t.Helper()
	if err := c.Publish(context.Background(), mqtt.Message{Topic: topic, Payload: []byte(payload), QoS: qos}); err != nil {
		t.Fatal(err)
	}
}

func testBridge(remote string, topics ...BridgeTopic) Bridge {
	return Bridge{
		Name: "test", Addresses: []string{remote}, ClientID: "edge-1", Topics: topics,
		RestartMin: 20 * time.Millisecond, RestartMax: 200 * time.Millisecond,
	}
}

// TestBridgeDirections: out, in (with prefixes) and both, between two
// brokers, with no message coming back as an echo either way.
func TestBridgeDirections(t *testing.T) {
	_, raddr := startServer(t, Config{})
	remote, rgot := bridgeClient(t, raddr, "remote", "#")
	b := testBridge(raddr,
		BridgeTopic{Pattern: "sensors/#", QoS: 1},
		BridgeTopic{Pattern: "cmd/#", Direction: In, QoS: 1, LocalPrefix: "local/", RemotePrefix: "remote/"},
		BridgeTopic{Pattern: "chat/#", Direction: Both, QoS: 2},
	)
	_, laddr := startServer(t, Config{Bridges: []Bridge{b}})
	_, sgot := bridgeClient(t, laddr, "state", "$SYS/broker/connection/#")
	waitState(t, sgot, "$SYS/broker/connection/edge-1/state", "1")
	local, lgot := bridgeClient(t, laddr, "local", "#")

	publish(t, local, "sensors/1", "21.5", 1)
	expect(t, rgot, "sensors/1", "21.5")
	publish(t, remote, "remote/cmd/reboot", "now", 1)
	expect(t, lgot, "local/cmd/reboot", "now")
	expect(t, rgot, "cmd/reboot") // nothing goes out: cmd is in only
	publish(t, remote, "sensors/2", "r", 1)
	expect(t, lgot, "sensors/2") // sensors is out only

	publish(t, local, "chat/1", "from local", 2)
	expect(t, rgot, "chat/1", "from local")
	expect(t, lgot, "chat/1", "from local") // once: the remote's echo is dropped
	publish(t, remote, "chat/2", "from remote", 2)
	expect(t, lgot, "chat/2", "from remote")
	expect(t, rgot, "chat/2", "from remote") // once: not sent back out
}

// waitState waits for the bridge's state on topic.
func waitState(t *testing.T, got <-chan *mqtt.Message, topic, state string) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case m := <-got:
			if m.Topic == topic && string(m.Payload) == state {
				return
			}
		case <-timeout:
			t.Fatalf("no state %q on %s", state, topic)
		}
	}
}

// TestBridgeNotifications: the state, "1" then "0", retained on both
// brokers; the remote broker's "0" is the will of the bridge's connection.
// (Outside $SYS: Petrel refuses wills on $SYS, and publishes there.)
func TestBridgeNotifications(t *testing.T) {
	rs, raddr := startServer(t, Config{})
	_, rgot := bridgeClient(t, raddr, "remote", "bridges/#")
	b := testBridge(raddr, BridgeTopic{Pattern: "x"})
	b.NotificationTopic = "bridges/edge-1"
	_, laddr := startServer(t, Config{Bridges: []Bridge{b}})
	waitState(t, rgot, "bridges/edge-1", "1")
	_, lgot := bridgeClient(t, laddr, "late", "bridges/#")
	m := <-lgot
	if m.Topic != "bridges/edge-1" || string(m.Payload) != "1" || !m.Retain {
		t.Errorf("retained state on the local broker: %s %q retain %v", m.Topic, m.Payload, m.Retain)
	}
	// The bridge's connection cut: the remote broker publishes its will.
	rs.mu.Lock()
	for c := range rs.conns {
		if c.ident.ClientID == "edge-1" {
			c.close(errors.New("test: cut"))
		}
	}
	rs.mu.Unlock()
	waitState(t, rgot, "bridges/edge-1", "0")
	waitState(t, rgot, "bridges/edge-1", "1") // reconnected
	shutdown(t, rs)
	waitState(t, lgot, "bridges/edge-1", "0")
}

// TestBridgeReservedID: no other client may take the bridge's session.
func TestBridgeReservedID(t *testing.T) {
	_, raddr := startServer(t, Config{})
	_, laddr := startServer(t, Config{Bridges: []Bridge{testBridge(raddr, BridgeTopic{Pattern: "x"})}})
	for _, id := range []string{"local.edge-1", "local.edge-1/in"} {
		c, err := mqtt.New(mqtt.Config{Address: laddr, ClientID: id})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Connect(context.Background())
		var ce *mqtt.ConnectError
		if !errors.As(err, &ce) || ce.Code != packet.RefusedIdentifierRejected {
			t.Errorf("%s: Connect returned %v, want identifier rejected", id, err)
			c.Disconnect(context.Background())
		}
	}
}

// TestBridgeStoreAndForward: messages published while the remote broker
// is down wait, and go out in order once it is up; with persistence, across
// a restart of the local broker too.
func TestBridgeStoreAndForward(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raddr := l.Addr().String()
	l.Close()
	// The remote broker, at raddr, with a persistent subscriber, then down.
	rdir := t.TempDir()
	startRemote := func() *Server {
		rs, err := New(Config{PersistenceDir: rdir, MaxQueued: 10000})
		if err != nil {
			t.Fatal(err)
		}
		rl, err := net.Listen("tcp", raddr)
		if err != nil {
			t.Fatal(err)
		}
		go rs.Serve(rl)
		return rs
	}
	rs := startRemote()
	sub := persistentSub(t, raddr)
	sub.Disconnect(context.Background())
	shutdown(t, rs)

	cfg := Config{PersistenceDir: t.TempDir(), Bridges: []Bridge{testBridge(raddr, BridgeTopic{Pattern: "q/#", QoS: 1})}}
	first, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go first.Serve(pl)
	pub, _ := bridgeClient(t, pl.Addr().String(), "pub", "")
	n := 0
	for ; n < 200; n++ {
		publish(t, pub, "q/a", fmt.Sprint(n), 1)
	}
	pub.Disconnect(context.Background())
	shutdown(t, first)

	_, laddr := startServer(t, cfg)
	pub, _ = bridgeClient(t, laddr, "pub", "")
	for ; n < 300; n++ {
		publish(t, pub, "q/a", fmt.Sprint(n), 1)
	}
	rs = startRemote()
	defer shutdown(t, rs)
	got := make(chan *mqtt.Message, 1000)
	sub = persistentSub(t, raddr, got)
	next, dups := 0, 0
	timeout := time.After(3 * wait)
	for next < n {
		select {
		case m := <-got:
			var i int
			fmt.Sscan(string(m.Payload), &i)
			switch {
			case i == next:
				next++
			case i < next:
				dups++
			default:
				t.Fatalf("message %d after %d: %d to %d lost or out of order", i, next-1, next, i-1)
			}
		case <-timeout:
			t.Fatalf("%d of %d messages arrived", next, n)
		}
	}
	t.Logf("%d messages in order, %d duplicates", next, dups)
}

// persistentSub connects the remote broker's persistent subscriber to q/#,
// feeding got, if given.
func persistentSub(t *testing.T, addr string, got ...chan *mqtt.Message) *mqtt.Client {
	t.Helper()
	h := mqtt.HandlerFunc(func(m *mqtt.Message) {
		if len(got) > 0 {
			got[0] <- m
		}
	})
	c, err := mqtt.New(mqtt.Config{Address: addr, ClientID: "remote-sub", PersistentSession: true, MessageQueue: 1000, DefaultHandler: h})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	if _, err := c.Subscribe(context.Background(), h, mqtt.Subscription{Filter: "q/#", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	return c
}

func shutdown(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

// onlyU lets the user u do everything, and nobody else anything.
type onlyU struct{}

func (onlyU) CanPublish(id Identity, _ string) bool   { return id.Username == "u" }
func (onlyU) CanSubscribe(id Identity, _ string) bool { return id.Username == "u" }

// TestBridgeSecurity: the bridge's in-process connections pass the
// Authenticator and the Authorizer, which refuse every other client but u.
func TestBridgeSecurity(t *testing.T) {
	_, raddr := startServer(t, Config{})
	remote, rgot := bridgeClient(t, raddr, "remote", "#")
	auth := AuthenticatorFunc(func(_ context.Context, info ConnInfo) (string, error) {
		if info.Username != "u" {
			return "", ErrNotAuthorized
		}
		return "u", nil
	})
	b := testBridge(raddr, BridgeTopic{Pattern: "sensors/#", QoS: 1}, BridgeTopic{Pattern: "cmd/#", Direction: In, QoS: 1})
	_, laddr := startServer(t, Config{Authenticator: auth, Authorizer: onlyU{}, Bridges: []Bridge{b}})
	local, err := mqtt.New(mqtt.Config{Address: laddr, ClientID: "local", User: "u"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := local.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer local.Disconnect(context.Background())
	lgot := make(chan *mqtt.Message, 10)
	if _, err := local.Subscribe(context.Background(), mqtt.HandlerFunc(func(m *mqtt.Message) { lgot <- m }),
		mqtt.Subscription{Filter: "cmd/#", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(wait)
	for {
		publish(t, local, "sensors/1", "x", 1)
		select {
		case m := <-rgot:
			if m.Topic != "sensors/1" {
				continue
			}
		case <-time.After(100 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("sensors/1 did not go out")
			}
			continue
		}
		break
	}
	publish(t, remote, "cmd/x", "y", 1)
	select {
	case m := <-lgot:
		if m.Topic != "cmd/x" {
			t.Errorf("in: %s", m.Topic)
		}
	case <-time.After(wait):
		t.Fatal("cmd/x did not come in")
	}
}

// TestBridgeTopicsChanged: a topic removed from the configuration is
// unsubscribed from the bridge's kept session at the next start.
func TestBridgeTopicsChanged(t *testing.T) {
	_, raddr := startServer(t, Config{})
	dir := t.TempDir()
	first, err := New(Config{PersistenceDir: dir, Bridges: []Bridge{testBridge(raddr, BridgeTopic{Pattern: "old/#", QoS: 1}, BridgeTopic{Pattern: "new/#", QoS: 1})}})
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, first)
	s, laddr := startServer(t, Config{PersistenceDir: dir, Bridges: []Bridge{testBridge(raddr, BridgeTopic{Pattern: "new/#", QoS: 1})}})
	_, rgot := bridgeClient(t, raddr, "remote", "#")
	pub, _ := bridgeClient(t, laddr, "pub", "")
	deadline := time.Now().Add(wait)
	for {
		s.mu.Lock()
		sess := s.sessions["local.edge-1"]
		s.mu.Unlock()
		sess.mu.Lock()
		_, old := sess.subs["old/#"]
		sess.mu.Unlock()
		if !old {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("old/# still subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	publish(t, pub, "new/1", "n", 1)
	expect(t, rgot, "new/1", "n")
}
