package session

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/testbroker"
	"github.com/petrel-mqtt/petrel/packet"
)

var (
	pingreqBytes  = hx("c0 00")
	pingrespBytes = hx("d0 00")
)

// pingSlack is the latest a PINGREQ may come after the last packet with a
// keepalive of one second: 1.5 s, plus half a second for a loaded machine
// running the race detector.
const pingSlack = 2 * time.Second

// keepAliveConfig is scriptConfig with a keepalive of one second, and so a
// ping timeout of one second (the default: half the keepalive, at least a
// second).
func keepAliveConfig() Config {
	cfg := scriptConfig()
	cfg.KeepAlive = time.Second
	return cfg
}

// TestPingreqAfterIdle checks that a client that has sent nothing for the
// keepalive interval sends PINGREQ [MQTT-3.1.2-23], and goes on doing so
// as long as the server answers.
func TestPingreqAfterIdle(t *testing.T) {
	leaktest.Check(t)
	c, b := newScripted(t, keepAliveConfig())
	b.SetTimeout(3 * time.Second)
	done := connectAsync(c)
	b.ExpectType(packet.TypeConnect)
	b.Send(hx("20 02 00 00"))
	// The writer's timer starts before Connect returns, and after the
	// CONNACK was read, which Send waits for.
	start := time.Now()
	wait(t, done)
	for i := range 2 {
		b.Expect(pingreqBytes)
		elapsed := time.Since(start)
		t.Logf("PINGREQ %d after %v", i+1, elapsed)
		if elapsed < 900*time.Millisecond || elapsed > pingSlack {
			t.Errorf("PINGREQ %d came %v after the last packet, want about 1s (at most %v)", i+1, elapsed, pingSlack)
		}
		start = time.Now()
		b.Send(pingrespBytes)
	}
	if err := c.Err(); err != nil {
		t.Errorf("connection ended: %v", err)
	}
}

// TestPingreqCountsFromLastPacket checks that any packet the client sends
// restarts the keepalive interval: PINGREQ comes a keepalive after the
// last packet sent, not after the CONNECT [MQTT-3.1.2-23].
func TestPingreqCountsFromLastPacket(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, keepAliveConfig())
	b.SetTimeout(3 * time.Second)
	time.Sleep(600 * time.Millisecond)
	done := async(func() error { return c.Publish(context.Background(), Message{Topic: "a", Payload: []byte("x")}) })
	b.Expect(hx("30 04 00 01 61 78")) // PUBLISH QoS 0 "a" "x"
	sent := time.Now()
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	b.Expect(pingreqBytes)
	if elapsed := time.Since(sent); elapsed < 900*time.Millisecond || elapsed > pingSlack {
		t.Errorf("PINGREQ came %v after the PUBLISH, want about 1s", elapsed)
	}
	b.Send(pingrespBytes)
}

// TestPingTimeout checks that a PINGREQ left unanswered for PingTimeout
// ends the connection with ErrPingTimeout; the client closes it, as it
// would on a network failure (section 3.1.2.10).
func TestPingTimeout(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, keepAliveConfig())
	b.SetTimeout(3 * time.Second)
	b.Expect(pingreqBytes)
	sent := time.Now()
	b.ExpectClosed()
	if elapsed := time.Since(sent); elapsed < 900*time.Millisecond || elapsed > 2500*time.Millisecond {
		t.Errorf("the client closed %v after PINGREQ, want about the ping timeout, 1s", elapsed)
	}
	waitDone(t, c)
	if err := c.Err(); !errors.Is(err, ErrPingTimeout) {
		t.Errorf("Err() = %v, want ErrPingTimeout", err)
	}
	if c.Connected() {
		t.Error("Connected() is true after the ping timeout")
	}
	if err := c.Publish(context.Background(), Message{Topic: "a"}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Publish after the ping timeout: %v, want ErrNotConnected", err)
	}
}

// pongFirstConn is a client connection on which the PINGRESP is read before
// the write of the PINGREQ returns: a scheduling the network allows (the
// writing goroutine may be paused just after its write while the server
// answers and the reader reads), made certain here.
type pongFirstConn struct {
	net.Conn
	pong chan struct{} // 1-buffered: a read returned PINGRESP
}

func (c *pongFirstConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if bytes.Contains(p[:n], pingrespBytes) {
		select {
		case c.pong <- struct{}{}:
		default:
		}
	}
	return n, err
}

func (c *pongFirstConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err == nil && bytes.Equal(p, pingreqBytes) {
		select {
		case <-c.pong:
			time.Sleep(20 * time.Millisecond) // for the reader to handle it
		case <-time.After(time.Second):
		}
	}
	return n, err
}

// TestPingrespBeforePingreqWriteReturns checks that a PINGRESP that the
// reader handles before the writer's write of PINGREQ has returned still
// counts: the connection stays up (section 3.1.2.10).
func TestPingrespBeforePingreqWriteReturns(t *testing.T) {
	leaktest.Check(t)
	b := testbroker.New(t)
	cfg := keepAliveConfig()
	cfg.Dial = func(ctx context.Context) (net.Conn, error) {
		nc, err := b.Dial(ctx)
		if err != nil {
			return nil, err
		}
		return &pongFirstConn{Conn: nc, pong: make(chan struct{}, 1)}, nil
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	handshake(t, c, b, false)
	b.SetTimeout(3 * time.Second)
	for range 3 {
		b.Expect(pingreqBytes)
		b.Send(pingrespBytes)
	}
	if err := c.Err(); err != nil {
		t.Errorf("connection ended: %v", err)
	}
}

// TestSlowHandlerKeepsConnection checks that a handler that takes three
// keepalive intervals does not stall keepalive: the client goes on sending
// PINGREQ, reads the PINGRESPs, and keeps the connection (section
// 3.1.2.10; the server would drop a client silent for 1.5 keepalives
// [MQTT-3.1.2-24]).
func TestSlowHandlerKeepsConnection(t *testing.T) {
	leaktest.Check(t)
	cfg := keepAliveConfig()
	handled := make(chan struct{})
	cfg.DefaultHandler = HandlerFunc(func(m *Message) {
		time.Sleep(3 * time.Second)
		close(handled)
	})
	c, b := connected(t, cfg)
	b.SetTimeout(3 * time.Second)
	b.Send(hx("30 04 00 01 61 78")) // PUBLISH QoS 0 "a" "x"
	for range 3 {
		b.Expect(pingreqBytes)
		b.Send(pingrespBytes)
	}
	wait(t, handled)
	b.Expect(pingreqBytes)
	b.Send(pingrespBytes)
	if err := c.Err(); err != nil {
		t.Errorf("connection ended: %v", err)
	}
}
