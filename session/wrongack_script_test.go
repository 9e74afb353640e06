package session

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestWrongAck checks that an acknowledgement of the wrong type fails the
// Publish it answers, promptly, with an error naming what came and what
// the QoS wants: PUBACK for QoS 2 (RabbitMQ 3.10 does that: it downgrades
// QoS 2 to QoS 1) [MQTT-4.3.3-2], PUBREC or PUBCOMP for QoS 1
// [MQTT-4.3.2-2], PUBCOMP before PUBREC. It is a protocol violation: the
// client closes the connection [MQTT-4.8.0-1].
func TestWrongAck(t *testing.T) {
	leaktest.Check(t)
	for _, tc := range []struct {
		name string
		qos  packet.QoS
		ack  []byte
		want []string
	}{
		{"QoS 2 answered with PUBACK", packet.QoS2, hx("40 02 00 01"),
			[]string{"QoS 2 PUBLISH (packet id 1) with PUBACK", "PUBREC", "MQTT-4.3.3-2", "may not support QoS 2", "RabbitMQ", "publish at QoS 1"}},
		{"QoS 2 answered with PUBCOMP", packet.QoS2, hx("70 02 00 01"),
			[]string{"QoS 2 PUBLISH (packet id 1) with PUBCOMP before PUBREC", "publish at QoS 1"}},
		{"QoS 1 answered with PUBREC", packet.QoS1, hx("50 02 00 01"),
			[]string{"QoS 1 PUBLISH (packet id 1) with PUBREC", "wants PUBACK", "MQTT-4.3.2-2"}},
		{"QoS 1 answered with PUBCOMP", packet.QoS1, hx("70 02 00 01"),
			[]string{"QoS 1 PUBLISH (packet id 1) with PUBCOMP", "wants PUBACK"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaktest.Check(t)
			c, b := connected(t, scriptConfig())
			done := publishAsync(c, Message{Topic: "a/b", Payload: []byte("hi"), QoS: tc.qos})
			b.ExpectType(packet.TypePublish)
			b.Send(tc.ack)
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Second):
				t.Fatal("Publish still waiting a second after the wrong acknowledgement")
			}
			if !errors.Is(err, ErrProtocolViolation) {
				t.Fatalf("Publish = %v, want ErrProtocolViolation", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			b.ExpectClosed()
		})
	}
}

// TestWrongAckNotResent checks that a QoS 2 message answered with PUBACK
// is out of the session: a client that reconnects with its session does
// not send it again (the broker would answer it so again), and its packet
// identifier is free.
func TestWrongAckNotResent(t *testing.T) {
	leaktest.Check(t)
	cfg := reconnectConfig(10 * time.Millisecond)
	c, b := connected(t, cfg)
	done := publishAsync(c, Message{Topic: "a/b", Payload: []byte("hi"), QoS: packet.QoS2})
	b.ExpectType(packet.TypePublish)
	b.Send(hx("40 02 00 01")) // PUBACK 1
	if err := wait(t, done); !errors.Is(err, ErrProtocolViolation) {
		t.Fatalf("Publish = %v, want ErrProtocolViolation", err)
	}
	b.ExpectClosed()
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{SessionPresent: true})
	b.ExpectNothing(100 * time.Millisecond) // no PUBLISH sent again
	done = publishAsync(c, Message{Topic: "a/b", Payload: []byte("2"), QoS: packet.QoS1})
	b.ExpectType(packet.TypePublish)
	b.Send(hx("40 02 00 02")) // PUBACK 2
	if err := wait(t, done); err != nil {
		t.Fatalf("Publish after reconnecting: %v", err)
	}
	disconnect(t, c, b)
}
