package session

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/testbroker"
	"github.com/petrel-mqtt/petrel/packet"
)

// keptConfig is scriptConfig with PersistentSession: the session outlives
// the connection [MQTT-3.1.2-4]. Its CONNECT is connectKept.
func keptConfig() Config {
	cfg := scriptConfig()
	cfg.PersistentSession = true
	return cfg
}

var connectKept = hx(`10 0e
	00 04 4d 51 54 54 04
	00          flags: none, the session is kept
	00 1e
	00 02 63 31`)

// TestResendAfterReconnect checks the client's side of message delivery
// retry (section 4.4). With PersistentSession the connection is cut with
// three flows outstanding: QoS 1 awaiting PUBACK, QoS 2 whose PUBREC came
// (PUBREL sent, awaiting PUBCOMP), QoS 2 awaiting PUBREC. Their Publish
// calls fail with ErrConnectionLost. On the next connection, with a
// session present, the client re-sends, in the original order, with the
// original packet identifiers [MQTT-4.4.0-1] [MQTT-2.3.1-3]
// [MQTT-4.6.0-1]: the first PUBLISH with DUP set [MQTT-3.3.1-1], the
// PUBREL (never the PUBLISH, whose PUBREC came [MQTT-4.3.3-1]), the last
// PUBLISH with DUP set. The flows then complete.
func TestResendAfterReconnect(t *testing.T) {
	leaktest.Check(t)
	c, b := newScripted(t, keptConfig())
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

	for i, q := range []<-chan error{q1, q2, q3} {
		if err := wait(t, q); !errors.Is(err, ErrConnectionLost) {
			t.Errorf("Publish %d: %v, want ErrConnectionLost", i+1, err)
		}
	}
	waitDone(t, c)
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "closed the connection") {
		t.Errorf("Err() = %v, want the server closing the connection", err)
	}

	done = connectAsync(c)
	b.Expect(connectKept)
	b.Send(hx("20 02 01 00")) // session present
	if r := wait(t, done); r.err != nil || !r.present {
		t.Fatalf("Connect = %v, %v; want true, nil", r.present, r.err)
	}
	b.Expect(hx("3a 06 00 01 61 00 01 31")) // PUBLISH 1, DUP
	b.Expect(hx("62 02 00 02"))             // PUBREL 2
	b.Expect(hx("3c 06 00 01 63 00 03 33")) // PUBLISH 3, DUP
	b.ExpectNothing(100 * time.Millisecond)

	b.Send(hx("40 02 00 01"))   // PUBACK 1
	b.Send(hx("70 02 00 02"))   // PUBCOMP 2
	b.Send(hx("50 02 00 03"))   // PUBREC 3
	b.Expect(hx("62 02 00 03")) // PUBREL 3
	b.Send(hx("70 02 00 03"))   // PUBCOMP 3

	// Nothing is outstanding: Disconnect need not wait, and the next
	// Publish finds the window empty and a free identifier.
	q4 := publishAsync(c, Message{Topic: "d", QoS: packet.QoS1})
	p := b.ExpectType(packet.TypePublish).(*packet.Publish)
	if p.PacketID == 0 || p.Dup {
		t.Errorf("new PUBLISH with packet id %d, DUP %v; want a non-zero id, DUP clear", p.PacketID, p.Dup)
	}
	b.SendPacket(&packet.Puback{PacketID: p.PacketID})
	if err := wait(t, q4); err != nil {
		t.Fatal(err)
	}
	disconnect(t, c, b)
}

// TestCleanSessionDropsFlows checks that without PersistentSession the flows
// end with the connection [MQTT-3.1.2-6]: nothing is re-sent on the next
// connection, and their places in the window are free again.
func TestCleanSessionDropsFlows(t *testing.T) {
	leaktest.Check(t)
	cfg := scriptConfig()
	cfg.MaxInflight = 1
	c, b := connected(t, cfg)
	q1 := publishAsync(c, Message{Topic: "a", QoS: packet.QoS1})
	b.ExpectType(packet.TypePublish)
	b.Close()
	if err := wait(t, q1); !errors.Is(err, ErrConnectionLost) {
		t.Errorf("Publish: %v, want ErrConnectionLost", err)
	}
	handshake(t, c, b, false)
	b.ExpectNothing(100 * time.Millisecond)
	q2 := publishAsync(c, Message{Topic: "a", QoS: packet.QoS1})
	p := b.ExpectType(packet.TypePublish).(*packet.Publish)
	if p.Dup {
		t.Error("a new message with DUP set")
	}
	b.SendPacket(&packet.Puback{PacketID: p.PacketID})
	if err := wait(t, q2); err != nil {
		t.Fatal(err)
	}
}

// TestInboundQoS2SurvivesReconnect checks that with PersistentSession the
// client remembers, across connections, a received QoS 2 message awaiting
// PUBREL: the server's re-sent PUBLISH (DUP) is answered with PUBREC and
// not delivered again [MQTT-4.3.3-2] [MQTT-4.4.0-1].
func TestInboundQoS2SurvivesReconnect(t *testing.T) {
	leaktest.Check(t)
	in := newInbox()
	cfg := keptConfig()
	cfg.DefaultHandler = in
	c, b := connected(t, cfg)
	b.Send(hx("34 07 00 01 61 00 09 68 69"))
	in.next(t)
	b.Expect(hx("50 02 00 09"))
	b.Close()
	waitDone(t, c)

	handshake(t, c, b, true)
	b.Send(hx("3c 07 00 01 61 00 09 68 69"))
	b.Expect(hx("50 02 00 09"))
	b.Send(hx("62 02 00 09"))
	b.Expect(hx("70 02 00 09"))
	in.none(t, 50*time.Millisecond)
	if n := in.count(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
}

// slowCloseConn is a connection whose Close takes a while, as closing a
// TLS or WebSocket connection may.
type slowCloseConn struct{ net.Conn }

func (c slowCloseConn) Close() error {
	time.Sleep(20 * time.Millisecond)
	return c.Conn.Close()
}

// TestConnectRightAfterDone checks that Connect may be called as soon as
// Done is closed, as a reconnecting wrapper does, even while the ended
// connection is still being closed: it no longer counts as live (no
// ErrAlreadyConnected), and Connected and Publish agree.
func TestConnectRightAfterDone(t *testing.T) {
	leaktest.Check(t)
	b := testbroker.New(t)
	cfg := scriptConfig()
	cfg.Dial = func(ctx context.Context) (net.Conn, error) {
		nc, err := b.Dial(ctx)
		if err != nil {
			return nil, err
		}
		return slowCloseConn{nc}, nil
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	handshake(t, c, b, false)
	for i := range 5 {
		b.Close()
		<-c.Done()
		if c.Connected() {
			t.Errorf("round %d: Connected() after Done was closed", i)
		}
		if err := c.Publish(context.Background(), Message{Topic: "t", QoS: packet.QoS1}); !errors.Is(err, ErrNotConnected) {
			t.Errorf("round %d: Publish after Done: %v, want ErrNotConnected", i, err)
		}
		done := connectAsync(c)
		b.ExpectType(packet.TypeConnect)
		b.Send(hx("20 02 00 00"))
		if r := wait(t, done); r.err != nil {
			t.Fatalf("round %d: Connect right after Done: %v", i, r.err)
		}
	}
}

// gate is a Handler that records the messages it receives and holds each
// one until the test lets it go.
type gate struct {
	in      *inbox
	release chan struct{}
}

func (g *gate) HandleMessage(m *Message) {
	<-g.release
	g.in.HandleMessage(m)
}

// TestQoS2NotHandedOverIsDeliveredLater: a QoS 2 message that the reader
// could not hand over before the connection ended (the handlers were
// behind, the queue full; the writer's PINGREQ finds the connection gone)
// was never delivered, so when the server sends it
// again on the next connection it is delivered, not taken for a duplicate
// [MQTT-4.3.3-2]; and none of the messages handed over is lost or
// delivered twice.
func TestQoS2NotHandedOverIsDeliveredLater(t *testing.T) {
	leaktest.Check(t)
	g := &gate{in: newInbox(), release: make(chan struct{})}
	cfg := keptConfig()
	cfg.DefaultHandler = g
	cfg.MessageQueue = 1
	cfg.KeepAlive = time.Second // its PINGREQ finds the connection closed
	c, b := connected(t, cfg)
	b.Send(hx("34 06 00 01 61 00 01 31")) // with the handler, which waits
	b.Send(hx("34 06 00 01 61 00 02 32")) // in the queue
	b.Send(hx("34 06 00 01 61 00 03 33")) // read; the reader waits for room
	time.Sleep(50 * time.Millisecond)     // let the reader reach the full queue
	b.Close()
	waitDone(t, c)
	close(g.release)
	checkMessage(t, g.in.next(t), "a", "1", packet.QoS2)
	checkMessage(t, g.in.next(t), "a", "2", packet.QoS2)
	g.in.none(t, 50*time.Millisecond)

	handshake(t, c, b, true)
	b.Send(hx("3c 06 00 01 61 00 01 31")) // each sent again, DUP set
	b.Expect(hx("50 02 00 01"))
	b.Send(hx("3c 06 00 01 61 00 02 32"))
	b.Expect(hx("50 02 00 02"))
	b.Send(hx("3c 06 00 01 61 00 03 33"))
	checkMessage(t, g.in.next(t), "a", "3", packet.QoS2)
	b.Expect(hx("50 02 00 03"))
	g.in.none(t, 50*time.Millisecond)
	if n := g.in.count(); n != 3 {
		t.Errorf("%d deliveries, want 3", n)
	}
}
