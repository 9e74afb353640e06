package session

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/testbroker"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestPublishQoS0 checks the bytes of QoS 0 PUBLISH: no packet identifier
// [MQTT-2.3.1-5], DUP 0 [MQTT-3.3.1-2] [MQTT-4.3.1-1], RETAIN as asked;
// Publish returns once the packet is written, and not before, and nothing
// answers it.
func TestPublishQoS0(t *testing.T) {
	leaktest.Check(t)
	for _, tc := range []struct {
		name   string
		retain bool
		want   []byte
	}{
		{"plain", false, hx(`30 07  PUBLISH QoS 0, remaining length 7
			00 03 61 2f 62          topic "a/b"
			68 69                   payload "hi"`)},
		{"retained", true, hx("31 07 00 03 61 2f 62 68 69")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaktest.Check(t)
			c, b := connected(t, scriptConfig())
			done := publishAsync(c, Message{Topic: "a/b", Payload: []byte("hi"), Retain: tc.retain})
			blocked(t, done, 100*time.Millisecond, "Publish before the broker read the PUBLISH") // net.Pipe: the write waits for the read
			b.Expect(tc.want)
			if err := wait(t, done); err != nil {
				t.Fatal(err)
			}
			b.ExpectNothing(50 * time.Millisecond)
		})
	}
}

// TestPublishQoS1 checks QoS 1 (section 4.3.2): PUBLISH with QoS 1, DUP 0
// and a non-zero packet identifier [MQTT-2.3.1-1] [MQTT-4.3.2-1]; Publish
// returns when the PUBACK with that identifier arrives, and not before.
func TestPublishQoS1(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	done := publishAsync(c, Message{Topic: "a/b", Payload: []byte("hi"), QoS: packet.QoS1})
	b.Expect(hx(`32 09  PUBLISH QoS 1
		00 03 61 2f 62
		00 01           packet id 1
		68 69`))
	blocked(t, done, 100*time.Millisecond, "Publish before PUBACK")
	b.Send(hx("40 02 00 01")) // PUBACK 1
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
}

// TestPublishQoS2 checks QoS 2 (section 4.3.3): PUBLISH, then on PUBREC a
// PUBREL with the same identifier and flags 0010 [MQTT-3.6.1-1]
// [MQTT-4.3.3-1]; Publish returns on PUBCOMP, not before.
func TestPublishQoS2(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	done := publishAsync(c, Message{Topic: "a/b", Payload: []byte("hi"), QoS: packet.QoS2, Retain: true})
	b.Expect(hx(`35 09  PUBLISH QoS 2, retained
		00 03 61 2f 62
		00 01
		68 69`))
	blocked(t, done, 50*time.Millisecond, "Publish before PUBREC")
	b.Send(hx("50 02 00 01"))   // PUBREC 1
	b.Expect(hx("62 02 00 01")) // PUBREL 1
	blocked(t, done, 100*time.Millisecond, "Publish before PUBCOMP")
	b.Send(hx("70 02 00 01")) // PUBCOMP 1
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	b.ExpectNothing(50 * time.Millisecond)
}

// TestPublishPipelined checks that concurrent QoS 1 and QoS 2 publishes
// are all sent before any acknowledgement (up to MaxInflight), each with a
// non-zero identifier that no other in-flight message uses [MQTT-2.3.1-1]
// [MQTT-2.3.1-2], and that each returns once its own flow completes.
func TestPublishPipelined(t *testing.T) {
	leaktest.Check(t)
	const n = 20 // half QoS 1, half QoS 2
	c, b := connected(t, scriptConfig())
	results := make([]<-chan error, n)
	for i := range n {
		results[i] = publishAsync(c, Message{Topic: "t", Payload: []byte{byte(i)}, QoS: packet.QoS(1 + i%2)})
	}
	byID := map[uint16]*packet.Publish{}
	for range n {
		p := b.ExpectType(packet.TypePublish).(*packet.Publish)
		if p.PacketID == 0 {
			t.Errorf("PUBLISH %d has packet id 0", p.Payload)
		}
		if byID[p.PacketID] != nil {
			t.Errorf("packet id %d used by two in-flight messages", p.PacketID)
		}
		if p.Dup {
			t.Errorf("first PUBLISH with DUP set")
		}
		byID[p.PacketID] = p
	}
	for _, r := range results {
		blocked(t, r, 10*time.Millisecond, "Publish before its acknowledgement")
	}
	var qos2 []uint16
	for id, p := range byID {
		if p.QoS == packet.QoS1 {
			b.SendPacket(&packet.Puback{PacketID: id})
		} else {
			b.SendPacket(&packet.Pubrec{PacketID: id})
			qos2 = append(qos2, id)
		}
	}
	// PUBRELs go out in the order of the PUBRECs [MQTT-4.6.0-4].
	for _, id := range qos2 {
		b.ExpectPacket(&packet.Pubrel{PacketID: id})
	}
	for _, id := range qos2 {
		b.SendPacket(&packet.Pubcomp{PacketID: id})
	}
	for i, r := range results {
		if err := wait(t, r); err != nil {
			t.Errorf("Publish %d: %v", i, err)
		}
	}
}

// TestPublishMaxInflight checks that no more than MaxInflight QoS 1
// messages await acknowledgement: the others wait in Publish until an ack
// frees a place.
func TestPublishMaxInflight(t *testing.T) {
	leaktest.Check(t)
	cfg := scriptConfig()
	cfg.MaxInflight = 2
	c, b := connected(t, cfg)
	var results []<-chan error
	for i := range 5 {
		results = append(results, publishAsync(c, Message{Topic: "t", Payload: []byte{byte(i)}, QoS: packet.QoS1}))
	}
	inflight := []uint16{
		b.ExpectType(packet.TypePublish).(*packet.Publish).PacketID,
		b.ExpectType(packet.TypePublish).(*packet.Publish).PacketID,
	}
	b.ExpectNothing(200 * time.Millisecond)
	for sent := 2; sent < 5; sent++ {
		b.SendPacket(&packet.Puback{PacketID: inflight[0]})
		inflight = append(inflight[1:], b.ExpectType(packet.TypePublish).(*packet.Publish).PacketID)
		b.ExpectNothing(50 * time.Millisecond)
	}
	for _, id := range inflight {
		b.SendPacket(&packet.Puback{PacketID: id})
	}
	for i, r := range results {
		if err := wait(t, r); err != nil {
			t.Errorf("Publish %d: %v", i, err)
		}
	}
}

// TestPublishContextEnds checks that a Publish whose context ends while it
// awaits PUBACK returns the context's error, while the flow goes on: the
// late PUBACK still frees its place in the window.
func TestPublishContextEnds(t *testing.T) {
	leaktest.Check(t)
	cfg := scriptConfig()
	cfg.MaxInflight = 1
	c, b := connected(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := async(func() error { return c.Publish(ctx, Message{Topic: "t", QoS: packet.QoS1}) })
	b.Expect(hx("32 05 00 01 74 00 01"))
	cancel()
	if err := wait(t, done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish: %v, want context.Canceled", err)
	}
	next := publishAsync(c, Message{Topic: "t", QoS: packet.QoS1})
	b.ExpectNothing(100 * time.Millisecond) // the window is full
	b.Send(hx("40 02 00 01"))
	b.Expect(hx("32 05 00 01 74 00 02"))
	b.Send(hx("40 02 00 02"))
	if err := wait(t, next); err != nil {
		t.Fatal(err)
	}
}

// TestPublishRefused checks that a message the spec forbids is refused
// before anything is sent: a topic with a wildcard [MQTT-3.3.2-2], an
// empty topic [MQTT-4.7.3-1], QoS 3 [MQTT-3.3.1-4].
func TestPublishRefused(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	for _, m := range []Message{
		{Topic: "a/+", QoS: packet.QoS1},
		{Topic: "a/#"},
		{Topic: ""},
		{Topic: "a", QoS: 3},
		{Topic: "a\x00b"},
	} {
		err := c.Publish(context.Background(), m)
		var pe *packet.ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("Publish %+v: %v, want a *packet.ProtocolError", m, err)
		}
	}
	b.ExpectNothing(50 * time.Millisecond)
	// The refusals took no place in the window nor an identifier.
	done := publishAsync(c, Message{Topic: "t", QoS: packet.QoS1})
	b.Expect(hx("32 05 00 01 74 00 01"))
	b.Send(hx("40 02 00 01"))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
}

// TestPublishConcurrentWithLoss checks that publishes racing the end of
// the connection all return, each with nil or an error matching
// ErrConnectionLost or ErrNotConnected, never hanging.
func TestPublishConcurrentWithLoss(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Go(func() {
			errs <- c.Publish(context.Background(), Message{Topic: "t", QoS: packet.QoS(i % 3)})
		})
	}
	b.ExpectType(packet.TypePublish)
	b.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, ErrConnectionLost) && !errors.Is(err, ErrNotConnected) {
			t.Errorf("Publish: %v, want nil, ErrConnectionLost or ErrNotConnected", err)
		}
	}
}

// deafConn is a client connection whose reads, once the connection has
// failed, wait for hold to be closed: so the writer, not the reader, is
// first to see the failure.
type deafConn struct {
	net.Conn
	hold chan struct{}
}

func (c deafConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		<-c.hold
	}
	return n, err
}

// TestPublishWriteFails checks that a QoS 0 Publish whose write fails
// returns an error matching ErrConnectionLost that gives the cause, and
// that the connection ends with that cause.
func TestPublishWriteFails(t *testing.T) {
	leaktest.Check(t)
	b := testbroker.New(t)
	hold := make(chan struct{})
	defer close(hold)
	cfg := scriptConfig()
	cfg.Dial = func(ctx context.Context) (net.Conn, error) {
		nc, err := b.Dial(ctx)
		if err != nil {
			return nil, err
		}
		return deafConn{nc, hold}, nil
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	handshake(t, c, b, false)
	done := publishAsync(c, Message{Topic: "t"})
	blocked(t, done, 50*time.Millisecond, "Publish while the broker does not read")
	b.Close()
	err = wait(t, done)
	if !errors.Is(err, ErrConnectionLost) || !strings.Contains(err.Error(), "write") {
		t.Errorf("Publish: %v, want ErrConnectionLost from the write", err)
	}
	waitDone(t, c)
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "write") {
		t.Errorf("Err() = %v, want the write's failure", err)
	}
}
