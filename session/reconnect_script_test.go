package session

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// reconnectConfig is keptConfig with automatic reconnection after delay.
func reconnectConfig(delay time.Duration) Config {
	cfg := keptConfig()
	cfg.Reconnect = &Reconnect{MinDelay: delay, MaxDelay: delay}
	return cfg
}

// TestReconnectResends: with Reconnect and PersistentSession, a cut
// connection is re-established by the client itself. The Publish calls
// outstanding keep waiting; on the new connection the client re-sends, in
// the original order [MQTT-4.4.0-1], the QoS 1 PUBLISH with DUP set
// [MQTT-3.3.1-1], the PUBREL of the QoS 2 flow whose PUBREC came (never its
// PUBLISH [MQTT-4.3.3-1]), the QoS 2 PUBLISH awaiting PUBREC with DUP set,
// then the message published while the client was offline, for the first
// time, so with DUP clear. Every Publish then returns nil.
func TestReconnectResends(t *testing.T) {
	leaktest.Check(t)
	cfg := reconnectConfig(300 * time.Millisecond)
	var lost, up sync.WaitGroup
	lost.Add(1)
	up.Add(1)
	cfg.Reconnect.OnConnectionLost = func(err error) {
		if err == nil {
			t.Error("OnConnectionLost(nil)")
		}
		lost.Done()
	}
	cfg.Reconnect.OnConnect = func(present bool) {
		if !present {
			t.Error("OnConnect(false), want true")
		}
		up.Done()
	}
	c, b := newScripted(t, cfg)
	done := connectAsync(c)
	b.Expect(connectKept)
	b.Send(hx("20 02 00 00"))
	wait(t, done)

	q1 := publishAsync(c, Message{Topic: "a", Payload: []byte("1"), QoS: packet.QoS1})
	b.Expect(hx("32 06 00 01 61 00 01 31"))
	q2 := publishAsync(c, Message{Topic: "b", Payload: []byte("2"), QoS: packet.QoS2})
	b.Expect(hx("34 06 00 01 62 00 02 32"))
	b.Send(hx("50 02 00 02"))   // PUBREC 2
	b.Expect(hx("62 02 00 02")) // PUBREL 2
	q3 := publishAsync(c, Message{Topic: "c", Payload: []byte("3"), QoS: packet.QoS2})
	b.Expect(hx("34 06 00 01 63 00 03 33"))
	b.Close()
	waitDone(t, c)
	lost.Wait()

	// Offline: queued, not refused.
	q4 := publishAsync(c, Message{Topic: "d", Payload: []byte("4"), QoS: packet.QoS1})
	for i, q := range []<-chan error{q1, q2, q3, q4} {
		blocked(t, q, 20*time.Millisecond, "Publish "+string(rune('1'+i)))
	}

	b.Expect(connectKept)     // the client reconnects by itself
	b.Send(hx("20 02 01 00")) // session present
	b.Expect(hx("3a 06 00 01 61 00 01 31"))
	b.Expect(hx("62 02 00 02"))
	b.Expect(hx("3c 06 00 01 63 00 03 33"))
	b.Expect(hx("32 06 00 01 64 00 04 34")) // queued while offline: DUP clear
	b.ExpectNothing(50 * time.Millisecond)
	up.Wait()

	b.Send(hx("40 02 00 01")) // PUBACK 1
	b.Send(hx("70 02 00 02")) // PUBCOMP 2
	b.Send(hx("50 02 00 03")) // PUBREC 3
	b.Expect(hx("62 02 00 03"))
	b.Send(hx("70 02 00 03")) // PUBCOMP 3
	b.Send(hx("40 02 00 04")) // PUBACK 4
	for i, q := range []<-chan error{q1, q2, q3, q4} {
		if err := wait(t, q); err != nil {
			t.Errorf("Publish %d: %v", i+1, err)
		}
	}
	disconnect(t, c, b)
}

// TestReconnectResubscribes: when the server has kept no session, the
// client subscribes again to every filter it holds, with the QoS it asked
// for, and their messages reach the same handlers.
func TestReconnectResubscribes(t *testing.T) {
	leaktest.Check(t)
	cfg := reconnectConfig(10 * time.Millisecond)
	c, b := connected(t, cfg)
	in := newInbox()
	sub := async(func() error {
		_, err := c.Subscribe(context.Background(), in, Subscription{Filter: "a/#", QoS: packet.QoS1})
		return err
	})
	b.Expect(hx("82 08 00 01 00 03 61 2f 23 01"))
	b.Send(hx("90 03 00 01 01"))
	if err := wait(t, sub); err != nil {
		t.Fatal(err)
	}
	b.Close()

	b.Expect(connectKept)
	b.Send(hx("20 02 00 00"))                     // no session present
	b.Expect(hx("82 08 00 02 00 03 61 2f 23 01")) // SUBSCRIBE a/# QoS 1 again
	b.Send(hx("90 03 00 02 01"))                  // SUBACK
	b.Send(hx("30 06 00 03 61 2f 62 78"))         // PUBLISH a/b "x"
	checkMessage(t, in.next(t), "a/b", "x", packet.QoS0)
	disconnect(t, c, b)
}

// TestReconnectRefusalNotRetried: a CONNACK refusing the client for its
// credentials ends reconnection at once, rather than a loop: no further
// dial comes, Err names the refusal, and Publish says why it cannot wait.
func TestReconnectRefusalNotRetried(t *testing.T) {
	leaktest.Check(t)
	cfg := reconnectConfig(10 * time.Millisecond)
	gaveUp := make(chan error, 2)
	cfg.Reconnect.OnConnectionLost = func(err error) { gaveUp <- err }
	c, b := newScripted(t, cfg)
	var dials atomic.Int32
	dial := c.cfg.Dial
	c.cfg.Dial = func(ctx context.Context) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx)
	}
	handshake(t, c, b, false)
	b.Close()
	<-gaveUp // the connection lost
	b.Expect(connectKept)
	b.Send(hx("20 02 00 05")) // not authorized
	b.ExpectClosed()
	err := wait(t, gaveUp)
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Code != packet.RefusedNotAuthorized {
		t.Fatalf("OnConnectionLost(%v), want the refusal", err)
	}
	time.Sleep(300 * time.Millisecond) // 30 times the delay
	if n := dials.Load(); n != 2 {
		t.Errorf("%d dials, want 2: no retry after the refusal", n)
	}
	if err := c.Err(); !errors.As(err, &ce) {
		t.Errorf("Err() = %v, want the refusal", err)
	}
	err = c.Publish(context.Background(), Message{Topic: "a", QoS: packet.QoS1})
	if !errors.Is(err, ErrNotConnected) || !errors.As(err, &ce) {
		t.Errorf("Publish: %v, want ErrNotConnected with the refusal", err)
	}
	if err := c.Disconnect(context.Background()); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
}

// TestOfflineQoS0: while reconnecting, a QoS 0 Publish fails with
// ErrNotConnected unless Reconnect.QueueQoS0 is set; then it waits and is
// sent on the next connection. Never a silent drop.
func TestOfflineQoS0(t *testing.T) {
	for _, queue := range []bool{false, true} {
		t.Run(map[bool]string{false: "refused", true: "queued"}[queue], func(t *testing.T) {
			leaktest.Check(t)
			cfg := reconnectConfig(200 * time.Millisecond)
			cfg.Reconnect.QueueQoS0 = queue
			c, b := connected(t, cfg)
			b.Close()
			waitDone(t, c)
			q := publishAsync(c, Message{Topic: "z", Payload: []byte("0")})
			if !queue {
				if err := wait(t, q); !errors.Is(err, ErrNotConnected) {
					t.Errorf("Publish: %v, want ErrNotConnected", err)
				}
			} else {
				blocked(t, q, 20*time.Millisecond, "Publish")
			}
			b.Expect(connectKept)
			b.Send(hx("20 02 01 00"))
			if queue {
				b.Expect(hx("30 04 00 01 7a 30"))
				if err := wait(t, q); err != nil {
					t.Errorf("Publish: %v", err)
				}
			}
			b.ExpectNothing(30 * time.Millisecond)
			disconnect(t, c, b)
		})
	}
}

// TestOfflineQueueBounds: the offline queue holds Reconnect.QueueMessages
// messages; beyond, Publish fails with ErrQueueFull (FailWhenFull) or waits
// for room, which the next connection makes.
func TestOfflineQueueBounds(t *testing.T) {
	for _, fail := range []bool{true, false} {
		t.Run(map[bool]string{true: "fail", false: "wait"}[fail], func(t *testing.T) {
			leaktest.Check(t)
			cfg := reconnectConfig(200 * time.Millisecond)
			cfg.Reconnect.QueueMessages = 2
			cfg.Reconnect.FailWhenFull = fail
			c, b := connected(t, cfg)
			b.Close()
			waitDone(t, c)
			q1 := publishAsync(c, Message{Topic: "a", Payload: []byte("1"), QoS: packet.QoS1})
			blocked(t, q1, 10*time.Millisecond, "Publish 1")
			q2 := publishAsync(c, Message{Topic: "a", Payload: []byte("2"), QoS: packet.QoS1})
			blocked(t, q2, 10*time.Millisecond, "Publish 2")
			q3 := publishAsync(c, Message{Topic: "a", Payload: []byte("3"), QoS: packet.QoS1})
			if fail {
				if err := wait(t, q3); !errors.Is(err, ErrQueueFull) {
					t.Fatalf("Publish 3: %v, want ErrQueueFull", err)
				}
			} else {
				blocked(t, q3, 10*time.Millisecond, "Publish 3")
			}
			b.Expect(connectKept)
			b.Send(hx("20 02 01 00"))
			b.Expect(hx("32 06 00 01 61 00 01 31"))
			b.Expect(hx("32 06 00 01 61 00 02 32"))
			b.Send(hx("40 02 00 01"))
			b.Send(hx("40 02 00 02"))
			if !fail {
				b.Expect(hx("32 06 00 01 61 00 03 33"))
				b.Send(hx("40 02 00 03"))
			}
			for i, q := range []<-chan error{q1, q2, q3}[:map[bool]int{true: 2, false: 3}[fail]] {
				if err := wait(t, q); err != nil {
					t.Errorf("Publish %d: %v", i+1, err)
				}
			}
			disconnect(t, c, b)
		})
	}
}

// TestDisconnectWhileReconnecting: Disconnect ends reconnection; a Publish
// waiting for a connection returns ErrDisconnected, and nothing is dialed
// afterwards.
func TestDisconnectWhileReconnecting(t *testing.T) {
	leaktest.Check(t)
	cfg := reconnectConfig(time.Hour)
	c, b := connected(t, cfg)
	b.Close()
	waitDone(t, c)
	q := publishAsync(c, Message{Topic: "a", QoS: packet.QoS1})
	blocked(t, q, 10*time.Millisecond, "Publish")
	start := time.Now()
	if err := c.Disconnect(context.Background()); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Disconnect took %v while the client waited to reconnect", d)
	}
	if err := wait(t, q); !errors.Is(err, ErrDisconnected) {
		t.Errorf("Publish: %v, want ErrDisconnected", err)
	}
	if c.Connected() {
		t.Error("Connected after Disconnect")
	}
}

// TestBackoff: the delays between failed attempts double from MinDelay up
// to MaxDelay, each less a random part of up to half, so they differ.
func TestBackoff(t *testing.T) {
	r := (&Reconnect{MinDelay: 100 * time.Millisecond, MaxDelay: 3 * time.Second}).withDefaults()
	rnd := rand.New(rand.NewPCG(1, 2))
	seen := map[time.Duration]bool{}
	for n := range 12 {
		base := min(r.MinDelay<<n, r.MaxDelay)
		for range 50 {
			d := r.delay(n, rnd)
			if d < base/2 || d > base {
				t.Fatalf("attempt %d: delay %v, want within [%v, %v]", n, d, base/2, base)
			}
			seen[d] = true
		}
	}
	if len(seen) < 500 {
		t.Errorf("%d distinct delays of 600: not jittered", len(seen))
	}
	if d := r.delay(1000, rnd); d > r.MaxDelay {
		t.Errorf("attempt 1000: %v, above MaxDelay", d)
	}
}

// TestBackoffAttempts: against a broker that refuses connections, the
// attempts come ever further apart; the delay starts again from MinDelay
// only after a connection has lasted StableAfter.
func TestBackoffAttempts(t *testing.T) {
	leaktest.Check(t)
	cfg := keptConfig()
	cfg.Reconnect = &Reconnect{MinDelay: 20 * time.Millisecond, MaxDelay: 320 * time.Millisecond}
	c, b := newScripted(t, cfg)
	var mu sync.Mutex
	var times []time.Time
	var refuse atomic.Bool
	dialed := make(chan struct{}, 64)
	dial := c.cfg.Dial
	c.cfg.Dial = func(ctx context.Context) (net.Conn, error) {
		if !refuse.Load() {
			return dial(ctx)
		}
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		dialed <- struct{}{}
		return nil, errors.New("connection refused")
	}
	handshake(t, c, b, false)
	refuse.Store(true)
	start := time.Now()
	b.Close()
	for range 6 {
		wait(t, dialed)
	}
	if err := c.Disconnect(context.Background()); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	prev := start
	for i, at := range times[:6] {
		gap := at.Sub(prev)
		base := min(20*time.Millisecond<<i, 320*time.Millisecond)
		if gap < base/2 {
			t.Errorf("attempt %d after %v, want at least %v", i+1, gap, base/2)
		}
		t.Logf("attempt %d after %v (delay within [%v, %v])", i+1, gap.Round(time.Millisecond), base/2, base)
		prev = at
	}
}
