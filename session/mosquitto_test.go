package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// These tests run the client against a real broker, Debian's Mosquitto
// 2.0, started by internal/mosquittotest on a free loopback port (skipped
// if it is not installed).

// mosqConnect returns a Client of b for cfg, connected; it disconnects
// when the test ends.
func mosqConnect(t *testing.T, b *mosquittotest.Broker, cfg Config) *Client {
	t.Helper()
	c := mosqClient(t, b, cfg)
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatalf("Connect %s: %v", cfg.ClientID, err)
	}
	return c
}

// mosqClient returns a Client of b for cfg, not connected, which
// disconnects when the test ends.
func mosqClient(t *testing.T, b *mosquittotest.Broker, cfg Config) *Client {
	t.Helper()
	if cfg.Dial == nil {
		cfg.Address, cfg.Port = "127.0.0.1", b.Port()
	}
	cfg.ConnectionTimeout = 10 * time.Second
	return testClient(t, cfg)
}

// testClient returns a Client for cfg, not connected, which disconnects
// when the test ends.
func testClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Disconnect(ctx)
	})
	return c
}

// mosqSubscribe subscribes c to filter at qos with h; the broker must
// grant qos.
func mosqSubscribe(t *testing.T, c *Client, h Handler, filter string, qos packet.QoS) {
	t.Helper()
	codes, err := c.Subscribe(context.Background(), h, Subscription{Filter: filter, QoS: qos})
	if err != nil || len(codes) != 1 || codes[0] != packet.SubackCode(qos) {
		t.Fatalf("Subscribe %q: %v, %v", filter, codes, err)
	}
}

// TestMosquittoVolume sends 10,000 messages at each QoS from one client to
// another through Mosquitto. QoS 0 comes from one publisher: all arrive,
// in order (no loss on a healthy loopback connection). QoS 1 and 2 come
// from 32 goroutines at once, each publishing a strided share of the
// messages, pipelined up to MaxInflight: all arrive, each publisher's in
// the order it published them [MQTT-4.6.0-6]; at QoS 2 exactly once
// [MQTT-4.3.3-2], and at QoS 1, without reconnects, exactly once too.
func TestMosquittoVolume(t *testing.T) {
	leaktest.Check(t)
	const n = 10000
	b := mosquittotest.Start(t, mosquittotest.Options{})
	for _, qos := range []packet.QoS{packet.QoS0, packet.QoS1, packet.QoS2} {
		t.Run(fmt.Sprintf("QoS%d", qos), func(t *testing.T) {
			publishers := 32
			if qos == packet.QoS0 {
				publishers = 1
			}
			type seen struct{ publisher, seq uint32 }
			var mu sync.Mutex
			var got []seen
			all := make(chan struct{})
			sub := mosqConnect(t, b, Config{ClientID: fmt.Sprintf("sub%d", qos)})
			topic := fmt.Sprintf("volume/%d", qos)
			mosqSubscribe(t, sub, HandlerFunc(func(m *Message) {
				if m.QoS != qos {
					t.Errorf("message at %v, want %v", m.QoS, qos)
				}
				mu.Lock()
				got = append(got, seen{binary.BigEndian.Uint32(m.Payload), binary.BigEndian.Uint32(m.Payload[4:])})
				if len(got) == n {
					close(all)
				}
				mu.Unlock()
			}), topic, qos)

			pub := mosqConnect(t, b, Config{ClientID: fmt.Sprintf("pub%d", qos)})
			start := time.Now()
			var wg sync.WaitGroup
			for p := range publishers {
				wg.Go(func() {
					for seq := p; seq < n; seq += publishers {
						payload := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(p)), uint32(seq))
						if err := pub.Publish(context.Background(), Message{Topic: topic, Payload: payload, QoS: qos}); err != nil {
							t.Errorf("Publish %d: %v", seq, err)
							return
						}
					}
				})
			}
			wg.Wait()
			select {
			case <-all:
			case <-time.After(20 * time.Second):
			}
			time.Sleep(50 * time.Millisecond) // for any duplicate to show
			mu.Lock()
			defer mu.Unlock()
			t.Logf("%d messages at QoS %d through Mosquitto in %v, %d publishers", len(got), qos, time.Since(start), publishers)
			if len(got) != n {
				t.Fatalf("%d messages arrived, want %d", len(got), n)
			}
			next := make([]uint32, publishers) // the next seq expected of each publisher
			for i := range next {
				next[i] = uint32(i)
			}
			for i, s := range got {
				if int(s.publisher) >= publishers || s.seq != next[s.publisher] {
					t.Fatalf("message %d is %d from publisher %d, want %d: lost, duplicated or out of order",
						i, s.seq, s.publisher, next[s.publisher%uint32(publishers)])
				}
				next[s.publisher] += uint32(publishers)
			}
		})
	}
}

// TestMosquittoRetained checks that a retained message is delivered, with
// RETAIN set, to a client that subscribes later [MQTT-3.3.1-6]
// [MQTT-3.3.1-8], and that a retained message with an empty payload clears
// it [MQTT-3.3.1-10] [MQTT-3.3.1-11].
func TestMosquittoRetained(t *testing.T) {
	leaktest.Check(t)
	b := mosquittotest.Start(t, mosquittotest.Options{})
	pub := mosqConnect(t, b, Config{ClientID: "pub"})
	ctx := context.Background()
	for _, m := range []Message{
		{Topic: "r/kept", Payload: []byte("keep"), QoS: packet.QoS1, Retain: true},
		{Topic: "r/cleared", Payload: []byte("gone"), QoS: packet.QoS1, Retain: true},
		{Topic: "r/cleared", QoS: packet.QoS1, Retain: true},
		{Topic: "r/plain", Payload: []byte("not kept"), QoS: packet.QoS1},
	} {
		if err := pub.Publish(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	in := newInbox()
	sub := mosqConnect(t, b, Config{ClientID: "later"})
	mosqSubscribe(t, sub, in, "r/#", packet.QoS1)
	m := in.next(t)
	checkMessage(t, m, "r/kept", "keep", packet.QoS1)
	if !m.Retain {
		t.Error("retained message delivered without RETAIN")
	}
	in.none(t, 300*time.Millisecond)
}

// closableDial dials like the client would and keeps the connection, so
// that the test can cut it without DISCONNECT.
type closableDial struct {
	addr string
	mu   sync.Mutex
	conn net.Conn
}

func (d *closableDial) dial(ctx context.Context) (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", d.addr)
	d.mu.Lock()
	d.conn = conn
	d.mu.Unlock()
	return conn, err
}

func (d *closableDial) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.conn.Close()
}

// TestMosquittoWill checks that the server publishes the will of a client
// whose connection ends without DISCONNECT [MQTT-3.1.2-8], and not that
// of a client that disconnects [MQTT-3.1.2-10] [MQTT-3.14.4-3].
func TestMosquittoWill(t *testing.T) {
	leaktest.Check(t)
	b := mosquittotest.Start(t, mosquittotest.Options{})
	in := newInbox()
	watcher := mosqConnect(t, b, Config{ClientID: "watcher"})
	mosqSubscribe(t, watcher, in, "will/#", packet.QoS1)

	polite := mosqConnect(t, b, Config{ClientID: "polite",
		Will: &Will{Topic: "will/polite", Payload: []byte("unexpected"), QoS: packet.QoS1}})
	if err := polite.Disconnect(context.Background()); err != nil {
		t.Fatal(err)
	}

	d := &closableDial{addr: b.Addr()}
	cut := mosqConnect(t, b, Config{ClientID: "cut", Dial: d.dial,
		Will: &Will{Topic: "will/cut", Payload: []byte("gone"), QoS: packet.QoS1}})
	d.cut()
	waitDone(t, cut)
	checkMessage(t, in.next(t), "will/cut", "gone", packet.QoS1)
	in.none(t, 300*time.Millisecond)
}

// TestMosquittoPersistentSession checks a persistent-session subscriber
// [MQTT-3.1.2-4] [MQTT-3.1.2-5]: it disconnects, misses QoS 1 messages,
// reconnects with the session present [MQTT-3.2.2-2] and receives them,
// in order, with its handler still registered (subscriptions are session
// state and outlive the connection).
func TestMosquittoPersistentSession(t *testing.T) {
	leaktest.Check(t)
	b := mosquittotest.Start(t, mosquittotest.Options{})
	in := newInbox()
	sub := mosqClient(t, b, Config{ClientID: "persistent", PersistentSession: true})
	ctx := context.Background()
	if present, err := sub.Connect(ctx); err != nil || present {
		t.Fatalf("first Connect = %v, %v; want false, nil", present, err)
	}
	mosqSubscribe(t, sub, in, "p/#", packet.QoS1)
	if err := sub.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}

	pub := mosqConnect(t, b, Config{ClientID: "pub"})
	for i := range 20 {
		if err := pub.Publish(ctx, Message{Topic: "p/x", Payload: []byte{byte(i)}, QoS: packet.QoS1}); err != nil {
			t.Fatal(err)
		}
	}
	if present, err := sub.Connect(ctx); err != nil || !present {
		t.Fatalf("second Connect = %v, %v; want true, nil", present, err)
	}
	for i := range 20 {
		m := in.next(t)
		if m.Topic != "p/x" || len(m.Payload) != 1 || m.Payload[0] != byte(i) {
			t.Fatalf("message %d: %q %v", i, m.Topic, m.Payload)
		}
	}
	in.none(t, 200*time.Millisecond)
}

// TestMosquittoUnsubscribeAll checks that after UnsubscribeAll no message
// of the former subscriptions arrives: the server deletes them
// [MQTT-3.10.4-2], and the client's handlers are gone.
func TestMosquittoUnsubscribeAll(t *testing.T) {
	leaktest.Check(t)
	b := mosquittotest.Start(t, mosquittotest.Options{})
	in, def := newInbox(), newInbox()
	sub := mosqConnect(t, b, Config{ClientID: "sub", DefaultHandler: def})
	codes, err := sub.Subscribe(context.Background(), in,
		Subscription{Filter: "u/a", QoS: packet.QoS1}, Subscription{Filter: "u/b/#", QoS: packet.QoS2}, Subscription{Filter: "u/+/c", QoS: packet.QoS1})
	if err != nil || len(codes) != 3 {
		t.Fatalf("Subscribe: %v, %v", codes, err)
	}
	pub := mosqConnect(t, b, Config{ClientID: "pub"})
	topics := []string{"u/a", "u/b/x", "u/z/c"}
	for _, topic := range topics {
		if err := pub.Publish(context.Background(), Message{Topic: topic, Payload: []byte("1"), QoS: packet.QoS1}); err != nil {
			t.Fatal(err)
		}
		checkMessage(t, in.next(t), topic, "1", packet.QoS1)
	}
	if err := sub.UnsubscribeAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, topic := range topics {
		if err := pub.Publish(context.Background(), Message{Topic: topic, Payload: []byte("2"), QoS: packet.QoS1}); err != nil {
			t.Fatal(err)
		}
	}
	in.none(t, 300*time.Millisecond)
	def.none(t, 10*time.Millisecond)
}

// TestMosquittoWrongPassword checks that a refused password gives a
// *ConnectError naming the reason. Mosquitto 2.0 answers a wrong password
// with return code 5, not authorized, rather than 4.
func TestMosquittoWrongPassword(t *testing.T) {
	leaktest.Check(t)
	b := mosquittotest.Start(t, mosquittotest.Options{Users: map[string]string{"alice": "secret"}})
	c := mosqClient(t, b, Config{ClientID: "alice-wrong", User: "alice", UserPassword: "wrong"})
	_, err := c.Connect(context.Background())
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Code != packet.RefusedNotAuthorized {
		t.Fatalf("Connect with a wrong password: %v, want a *ConnectError with code 5", err)
	}
	if !errors.Is(err, ErrConnectionRefused) || !strings.Contains(err.Error(), "not authorized") ||
		!strings.Contains(err.Error(), "return code 5") {
		t.Errorf("error %q does not match ErrConnectionRefused or does not name the reason", err)
	}
	ok := mosqClient(t, b, Config{ClientID: "alice", User: "alice", UserPassword: "secret"})
	if _, err := ok.Connect(context.Background()); err != nil {
		t.Errorf("Connect with the right password: %v", err)
	}
}
