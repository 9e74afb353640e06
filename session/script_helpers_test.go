package session

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/testbroker"
	"github.com/petrel-mqtt/petrel/packet"
)

// This file holds the helpers of the scripted tests: a Client wired to an
// internal/testbroker Broker, byte vectors written in hex, and ways to run
// a blocking call on a goroutine of its own and look at its outcome.

// waitLong bounds every wait for a client call that the script has made
// possible: far above what it needs, so that only a hang fails it.
const waitLong = 5 * time.Second

// scriptConfig is the Config of most scripted tests: client "c1", a clean
// session and a keepalive long enough never to fire. Its CONNECT is
// connectC1.
func scriptConfig() Config {
	return Config{ClientID: "c1", KeepAlive: 30 * time.Second}
}

// connectC1 is the CONNECT of scriptConfig.
var connectC1 = hx(`10 0e        CONNECT, remaining length 14
	00 04 4d 51 54 54 04             protocol name "MQTT", level 4
	02                               flags: clean session
	00 1e                            keep alive 30 s
	00 02 63 31                      client id "c1"`)

// hx decodes bytes written in hex, one byte per token. Everything after
// two spaces on a line is a comment.
func hx(s string) []byte {
	var b []byte
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(strings.TrimSpace(line), "  ")
		for _, tok := range strings.Fields(line) {
			v, err := hex.DecodeString(tok)
			if err != nil || len(v) != 1 {
				panic("hx: " + tok + " is not a hex byte")
			}
			b = append(b, v...)
		}
	}
	return b
}

// newScripted returns a Client for cfg that dials a new scripted broker.
func newScripted(t *testing.T, cfg Config) (*Client, *testbroker.Broker) {
	t.Helper()
	b := testbroker.New(t)
	cfg.Dial = b.Dial
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

// connected returns a Client for cfg that has connected to a new scripted
// broker, which accepted it without a session.
func connected(t *testing.T, cfg Config) (*Client, *testbroker.Broker) {
	t.Helper()
	c, b := newScripted(t, cfg)
	handshake(t, c, b, false)
	return c, b
}

// handshake connects c: the broker takes any CONNECT and accepts it with
// sessionPresent.
func handshake(t *testing.T, c *Client, b *testbroker.Broker, sessionPresent bool) {
	t.Helper()
	done := connectAsync(c)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{SessionPresent: sessionPresent})
	r := wait(t, done)
	if r.err != nil || r.present != sessionPresent {
		t.Fatalf("Connect = %v, %v; want %v, nil", r.present, r.err, sessionPresent)
	}
}

// connectResult is what Connect returned.
type connectResult struct {
	present bool
	err     error
}

func connectAsync(c *Client) <-chan connectResult {
	ch := make(chan connectResult, 1)
	go func() {
		present, err := c.Connect(context.Background())
		ch <- connectResult{present, err}
	}()
	return ch
}

// async runs f on a goroutine of its own; the channel receives its error.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// publishAsync publishes m with a context that never ends.
func publishAsync(c *Client, m Message) <-chan error {
	return async(func() error { return c.Publish(context.Background(), m) })
}

// wait returns what ch delivers, failing t if nothing comes within
// waitLong.
func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLong):
		t.Fatalf("the call did not return within %v", waitLong)
		var zero T
		return zero
	}
}

// blocked fails t if ch delivers within d: the call it stands for must
// still be waiting.
func blocked[T any](t *testing.T, ch <-chan T, d time.Duration, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("%s returned (%v); want it still waiting", what, v)
	case <-time.After(d):
	}
}

// inbox is a Handler that records the messages it receives and passes
// each on a channel.
type inbox struct {
	mu   sync.Mutex
	msgs []*Message
	ch   chan *Message
}

func newInbox() *inbox { return &inbox{ch: make(chan *Message, 1024)} }

func (in *inbox) HandleMessage(m *Message) {
	in.mu.Lock()
	in.msgs = append(in.msgs, m)
	in.mu.Unlock()
	in.ch <- m
}

// next returns the next message, failing t if none comes within waitLong.
func (in *inbox) next(t *testing.T) *Message {
	t.Helper()
	return wait(t, in.ch)
}

// none fails t if a message arrives within d.
func (in *inbox) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-in.ch:
		t.Fatalf("unexpected message %+v", m)
	case <-time.After(d):
	}
}

// count returns how many messages the handler received.
func (in *inbox) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.msgs)
}

// checkMessage fails t unless m has the topic, payload and QoS given.
func checkMessage(t *testing.T, m *Message, topic, payload string, qos packet.QoS) {
	t.Helper()
	if m.Topic != topic || string(m.Payload) != payload || m.QoS != qos {
		t.Errorf("message %q %q %v, want %q %q %v", m.Topic, m.Payload, m.QoS, topic, payload, qos)
	}
}

// isDone reports whether ch is closed.
func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitDone waits for the connection of c to end, failing t if it does not
// within waitLong.
func waitDone(t *testing.T, c *Client) {
	t.Helper()
	done := c.Done()
	if done == nil {
		t.Fatal("Done() is nil: the client never connected")
	}
	select {
	case <-done:
	case <-time.After(waitLong):
		t.Fatalf("the connection did not end within %v", waitLong)
	}
}

// disconnect calls Disconnect, which must send DISCONNECT and return nil.
func disconnect(t *testing.T, c *Client, b *testbroker.Broker) {
	t.Helper()
	dis := async(func() error { return c.Disconnect(context.Background()) })
	b.Expect(hx("e0 00"))
	b.ExpectClosed()
	if err := wait(t, dis); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
}
