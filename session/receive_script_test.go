package session

import (
	"context"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// withDefault is scriptConfig with h as the DefaultHandler, so that
// messages reach it without a subscription.
func withDefault(h Handler) Config {
	cfg := scriptConfig()
	cfg.DefaultHandler = h
	return cfg
}

// TestReceiveQoS0 checks that a QoS 0 message reaches the handler with its
// topic, payload and flags, and that nothing answers it (section 4.3.1).
func TestReceiveQoS0(t *testing.T) {
	leaktest.Check(t)
	in := newInbox()
	_, b := connected(t, withDefault(in))
	b.Send(hx(`30 07  PUBLISH QoS 0
		00 03 61 2f 62  topic "a/b"
		68 69           payload "hi"`))
	m := in.next(t)
	checkMessage(t, m, "a/b", "hi", packet.QoS0)
	if m.Retain || m.Duplicate {
		t.Errorf("Retain %v, Duplicate %v; want false, false", m.Retain, m.Duplicate)
	}
	b.Send(hx("31 05 00 01 72 6f 6b")) // retained, "r" "ok"
	m = in.next(t)
	checkMessage(t, m, "r", "ok", packet.QoS0)
	if !m.Retain {
		t.Error("Retain false for a retained message [MQTT-3.3.1-8]")
	}
	b.Send(hx("30 03 00 01 65")) // "e", empty payload
	checkMessage(t, in.next(t), "e", "", packet.QoS0)
	b.ExpectNothing(100 * time.Millisecond)
}

// TestReceiveQoS1 checks that a QoS 1 message is acknowledged with PUBACK
// of the same identifier [MQTT-2.3.1-6] [MQTT-4.3.2-2] only after the
// handler has returned, and that PUBACKs follow the order of the messages
// [MQTT-4.6.0-2].
func TestReceiveQoS1(t *testing.T) {
	leaktest.Check(t)
	release := make(chan struct{})
	in := newInbox()
	_, b := connected(t, withDefault(HandlerFunc(func(m *Message) {
		<-release
		in.HandleMessage(m)
	})))
	b.Send(hx(`32 07  PUBLISH QoS 1
		00 01 61        topic "a"
		00 07           packet id 7
		68 69`))
	b.ExpectNothing(150 * time.Millisecond) // the handler has not returned
	close(release)
	checkMessage(t, in.next(t), "a", "hi", packet.QoS1)
	b.Expect(hx("40 02 00 07"))

	b.Send(hx("3a 05 00 01 61 00 08")) // DUP, id 8, empty payload
	b.Send(hx("32 05 00 01 61 00 03")) // id 3
	b.Send(hx("32 05 00 01 61 00 05")) // id 5
	if m := in.next(t); !m.Duplicate {
		t.Error("Duplicate false for a PUBLISH with DUP set")
	}
	b.Expect(hx("40 02 00 08"))
	b.Expect(hx("40 02 00 03"))
	b.Expect(hx("40 02 00 05"))
}

// TestReceiveQoS2 checks QoS 2 reception (section 4.3.3): PUBREC after the
// handler; a re-sent PUBLISH with the same identifier before PUBREL is
// answered with PUBREC again but not delivered again [MQTT-4.3.3-2];
// PUBREL is answered with PUBCOMP; after it the identifier names a new
// message.
func TestReceiveQoS2(t *testing.T) {
	leaktest.Check(t)
	in := newInbox()
	_, b := connected(t, withDefault(in))
	b.Send(hx(`34 07  PUBLISH QoS 2
		00 01 61
		00 09           packet id 9
		68 69`))
	checkMessage(t, in.next(t), "a", "hi", packet.QoS2)
	b.Expect(hx("50 02 00 09")) // PUBREC
	b.Send(hx("3c 07 00 01 61 00 09 68 69"))
	b.Expect(hx("50 02 00 09")) // PUBREC again
	in.none(t, 100*time.Millisecond)
	b.Send(hx("62 02 00 09")) // PUBREL
	b.Expect(hx("70 02 00 09"))
	b.Send(hx("34 07 00 01 61 00 09 79 6f")) // id 9 again: a new message
	checkMessage(t, in.next(t), "a", "yo", packet.QoS2)
	b.Expect(hx("50 02 00 09"))
	if n := in.count(); n != 2 {
		t.Errorf("handler called %d times, want 2", n)
	}
}

// TestReceiveQoS2DupWhileHandling checks that a QoS 2 message re-sent while
// the handler still runs is not delivered twice, and is answered once the
// handler has returned [MQTT-4.3.3-2].
func TestReceiveQoS2DupWhileHandling(t *testing.T) {
	leaktest.Check(t)
	release := make(chan struct{})
	in := newInbox()
	_, b := connected(t, withDefault(HandlerFunc(func(m *Message) {
		<-release
		in.HandleMessage(m)
	})))
	b.Send(hx("34 07 00 01 61 00 09 68 69"))
	b.Send(hx("3c 07 00 01 61 00 09 68 69")) // DUP before PUBREC
	b.ExpectNothing(100 * time.Millisecond)
	close(release)
	in.next(t)
	b.Expect(hx("50 02 00 09"))
	b.ExpectNothing(100 * time.Millisecond)
	in.none(t, 10*time.Millisecond)
	b.Send(hx("62 02 00 09"))
	b.Expect(hx("70 02 00 09"))
	if n := in.count(); n != 1 {
		t.Errorf("handler called %d times, want 1", n)
	}
}

// TestUnsolicitedPubrel checks that a PUBREL for an identifier the client
// does not hold is answered with PUBCOMP: the server may re-send PUBREL
// after a reconnect, after the client had already completed the flow
// (section 4.3.3, [MQTT-4.4.0-1]).
func TestUnsolicitedPubrel(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	b.Send(hx("62 02 00 05"))
	b.Expect(hx("70 02 00 05"))
	if err := c.Err(); err != nil {
		t.Errorf("connection ended: %v", err)
	}
}

// TestUnsolicitedAcksIgnored checks that acknowledgements naming no flow
// or request of the client are ignored and the connection stays up:
// PUBACK, PUBREC, PUBCOMP, SUBACK, UNSUBACK.
func TestUnsolicitedAcksIgnored(t *testing.T) {
	leaktest.Check(t)
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"PUBACK", hx("40 02 00 09")},
		{"PUBREC", hx("50 02 00 09")},
		{"PUBCOMP", hx("70 02 00 09")},
		{"SUBACK", hx("90 03 00 09 01")},
		{"UNSUBACK", hx("b0 02 00 09")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaktest.Check(t)
			c, b := connected(t, scriptConfig())
			b.Send(tc.bytes)
			b.ExpectNothing(50 * time.Millisecond)
			done := publishAsync(c, Message{Topic: "t", QoS: packet.QoS1})
			b.Expect(hx("32 05 00 01 74 00 01"))
			b.Send(hx("40 02 00 01"))
			if err := wait(t, done); err != nil {
				t.Fatalf("Publish after the unsolicited %s: %v", tc.name, err)
			}
			if err := c.Err(); err != nil {
				t.Errorf("connection ended: %v", err)
			}
		})
	}
}

// TestUnsolicitedAcksKeepalive checks, with keepalive, that the connection
// outlives unsolicited acknowledgements: the next PINGREQ is answered.
func TestUnsolicitedAcksKeepalive(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, keepAliveConfig())
	b.SetTimeout(3 * time.Second)
	for _, p := range [][]byte{hx("40 02 00 09"), hx("50 02 00 09"), hx("70 02 00 09"), hx("90 03 00 09 01"), hx("b0 02 00 09")} {
		b.Send(p)
	}
	b.Expect(pingreqBytes)
	b.Send(pingrespBytes)
	b.ExpectNothing(200 * time.Millisecond)
	if err := c.Err(); err != nil {
		t.Errorf("connection ended: %v", err)
	}
	done := async(func() error { return c.Disconnect(context.Background()) })
	b.Expect(hx("e0 00"))
	b.ExpectClosed()
	if err := wait(t, done); err != nil {
		t.Error(err)
	}
}
