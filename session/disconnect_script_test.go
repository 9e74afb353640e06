package session

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/testbroker"
	"github.com/petrel-mqtt/petrel/packet"
)

// connGoroutines counts the goroutines in the loop of a connection's
// reader, writer or dispatcher. (Once its loop has returned, a goroutine
// may still be in the deferred call that reports it: it has nothing left
// to do.)
func connGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, loop := range []string{"readLoop", "writeLoop", "dispatchLoop"} {
			if strings.Contains(g, "petrel/session.(*conn)."+loop) {
				n++
			}
		}
	}
	return n
}

// TestDisconnect checks that Disconnect sends DISCONNECT, e0 00, then
// closes the connection and sends nothing more [MQTT-3.14.4-1]
// [MQTT-3.14.4-2]; that it returns once the connection's goroutines have
// ended; and that the Client then reports no connection.
func TestDisconnect(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	for deadline := time.Now().Add(time.Second); connGoroutines() != 3; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connection goroutines while connected, want 3", connGoroutines())
		}
	}
	done := async(func() error { return c.Disconnect(context.Background()) })
	b.Expect(hx("e0 00"))
	b.ExpectClosed()
	if err := wait(t, done); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	if n := connGoroutines(); n != 0 {
		t.Errorf("%d connection goroutines after Disconnect returned, want 0", n)
	}
	if c.Connected() || !isDone(c.Done()) {
		t.Error("the Client reports a connection after Disconnect")
	}
	if err := c.Err(); !errors.Is(err, ErrDisconnected) {
		t.Errorf("Err() = %v, want ErrDisconnected", err)
	}
	if err := c.Disconnect(context.Background()); err != nil {
		t.Errorf("second Disconnect: %v", err)
	}
	if err := c.Publish(context.Background(), Message{Topic: "t"}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Publish after Disconnect: %v, want ErrNotConnected", err)
	}
}

// TestDisconnectSilentBroker checks that Disconnect returns within a second
// when the broker has gone silent and no longer reads: the DISCONNECT
// cannot be written (net.Pipe has no buffer, like a full socket), so the
// client gives up on it and closes the connection.
func TestDisconnectSilentBroker(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	start := time.Now()
	err := c.Disconnect(context.Background())
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("Disconnect took %v, want at most 1s", elapsed)
	}
	if err == nil || !strings.Contains(err.Error(), "DISCONNECT") {
		t.Errorf("Disconnect: %v, want an error saying DISCONNECT was not sent", err)
	}
	if c.Connected() {
		t.Error("still connected")
	}
	b.ExpectClosed()
}

// TestDisconnectWaitsForAck checks that Disconnect lets an outstanding
// QoS 1 flow complete before sending DISCONNECT.
func TestDisconnectWaitsForAck(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	pub := publishAsync(c, Message{Topic: "t", QoS: packet.QoS1})
	b.Expect(hx("32 05 00 01 74 00 01"))
	done := async(func() error { return c.Disconnect(context.Background()) })
	b.ExpectNothing(200 * time.Millisecond)
	blocked(t, done, 10*time.Millisecond, "Disconnect before PUBACK")
	b.Send(hx("40 02 00 01"))
	if err := wait(t, pub); err != nil {
		t.Errorf("Publish: %v", err)
	}
	b.Expect(hx("e0 00"))
	b.ExpectClosed()
	if err := wait(t, done); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
}

// TestDisconnectContextEnds checks that Disconnect waits for an
// outstanding QoS 1 acknowledgement until its context ends, then still
// sends DISCONNECT, so that the server discards the will [MQTT-3.1.2-10],
// closes, and returns the context's error; the Publish learns that the
// connection was closed by Disconnect.
func TestDisconnectContextEnds(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	pub := publishAsync(c, Message{Topic: "t", QoS: packet.QoS1})
	b.Expect(hx("32 05 00 01 74 00 01"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	done := async(func() error { return c.Disconnect(ctx) })
	b.Expect(hx("e0 00"))
	if elapsed := time.Since(start); elapsed < 250*time.Millisecond {
		t.Errorf("DISCONNECT came after %v, before the context ended", elapsed)
	}
	b.ExpectClosed()
	if err := wait(t, done); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Disconnect: %v, want context.DeadlineExceeded", err)
	}
	if err := wait(t, pub); !errors.Is(err, ErrDisconnected) {
		t.Errorf("Publish: %v, want ErrDisconnected", err)
	}
}

// TestDisconnectWaitsForHandlers checks that Disconnect waits for the
// handlers of messages already received.
func TestDisconnectWaitsForHandlers(t *testing.T) {
	leaktest.Check(t)
	release := make(chan struct{})
	handled := make(chan struct{})
	c, b := connected(t, withDefault(HandlerFunc(func(*Message) {
		<-release
		close(handled)
	})))
	b.Send(hx("30 03 00 01 61"))
	done := async(func() error { return c.Disconnect(context.Background()) })
	b.Expect(hx("e0 00"))
	b.ExpectClosed()
	blocked(t, done, 100*time.Millisecond, "Disconnect while a handler runs")
	close(release)
	if err := wait(t, done); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
	if !isDone(handled) {
		t.Error("Disconnect returned before the handler")
	}
}

// lateWriteConn is a client connection whose Write of DISCONNECT returns
// only a while after the bytes went out: as when the writing goroutine is
// paused after its write while the server reads DISCONNECT and closes.
type lateWriteConn struct{ net.Conn }

func (c lateWriteConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if bytes.Equal(p, []byte{0xe0, 0x00}) {
		time.Sleep(100 * time.Millisecond)
	}
	return n, err
}

// TestDisconnectServerClosesFirst checks that Disconnect succeeds when the
// server, having read DISCONNECT, closes the connection before the client
// has seen its write return: the DISCONNECT was sent.
func TestDisconnectServerClosesFirst(t *testing.T) {
	leaktest.Check(t)
	b := testbroker.New(t)
	cfg := scriptConfig()
	cfg.Dial = func(ctx context.Context) (net.Conn, error) {
		nc, err := b.Dial(ctx)
		if err != nil {
			return nil, err
		}
		return lateWriteConn{nc}, nil
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	handshake(t, c, b, false)
	done := async(func() error { return c.Disconnect(context.Background()) })
	b.Expect(hx("e0 00"))
	b.Close()
	if err := wait(t, done); err != nil {
		t.Errorf("Disconnect: %v, want nil", err)
	}
}

// TestDisconnectAfterHandlers: Disconnect lets the handlers of messages
// already received finish, and sends DISCONNECT after their
// acknowledgements, so that the server does not send them again.
func TestDisconnectAfterHandlers(t *testing.T) {
	leaktest.Check(t)
	g := &gate{in: newInbox(), release: make(chan struct{})}
	cfg := keptConfig()
	cfg.DefaultHandler = g
	c, b := connected(t, cfg)
	b.Send(hx("32 06 00 01 61 00 01 31")) // QoS 1, its handler waits
	b.Send(hx("32 06 00 01 61 00 02 32")) // QoS 1, queued behind it
	time.Sleep(20 * time.Millisecond)
	dis := async(func() error { return c.Disconnect(context.Background()) })
	b.ExpectNothing(100 * time.Millisecond)
	close(g.release)
	b.Expect(hx("40 02 00 01"))
	b.Expect(hx("40 02 00 02"))
	b.Expect(hx("e0 00"))
	b.ExpectClosed()
	if err := wait(t, dis); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
}

// TestDisconnectFromHandler: a handler may call Disconnect; Disconnect
// does not wait for the handler that called it for more than a moment.
func TestDisconnectFromHandler(t *testing.T) {
	leaktest.Check(t)
	var c *Client
	result := make(chan error, 1)
	cfg := keptConfig()
	cfg.DefaultHandler = HandlerFunc(func(*Message) {
		result <- c.Disconnect(context.Background())
	})
	c, b := connected(t, cfg)
	b.Send(hx("30 04 00 01 61 31"))
	b.Expect(hx("e0 00"))
	b.ExpectClosed()
	if err := wait(t, result); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
}
