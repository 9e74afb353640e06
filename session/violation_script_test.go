package session

import (
	"errors"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/packettest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestServerSendsClientPackets checks that a packet only a client may send
// (CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT) or a second
// CONNACK [MQTT-3.2.0-1], arriving from the server, is a protocol
// violation: the client closes the connection [MQTT-4.8.0-1], Err names
// the packet and matches ErrProtocolViolation, and a Publish in flight
// fails with ErrConnectionLost wrapping the same cause.
func TestServerSendsClientPackets(t *testing.T) {
	leaktest.Check(t)
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"CONNECT", connectC1},
		{"SUBSCRIBE", hx("82 06 00 01 00 01 61 00")},
		{"UNSUBSCRIBE", hx("a2 05 00 01 00 01 61")},
		{"PINGREQ", hx("c0 00")},
		{"DISCONNECT", hx("e0 00")},
		{"CONNACK", hx("20 02 00 00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaktest.Check(t)
			c, b := connected(t, scriptConfig())
			pub := publishAsync(c, Message{Topic: "t", QoS: packet.QoS1})
			b.ExpectType(packet.TypePublish)
			b.Send(tc.bytes)
			b.ExpectClosed()
			waitDone(t, c)
			err := c.Err()
			if !errors.Is(err, ErrProtocolViolation) || !strings.Contains(err.Error(), tc.name) {
				t.Errorf("Err() = %v, want ErrProtocolViolation naming %s", err, tc.name)
			}
			if perr := wait(t, pub); !errors.Is(perr, ErrConnectionLost) || !errors.Is(perr, ErrProtocolViolation) {
				t.Errorf("Publish: %v, want ErrConnectionLost and ErrProtocolViolation", perr)
			}
			if c.Connected() {
				t.Error("still connected")
			}
		})
	}
}

// TestServerSendsMalformed feeds every malformed vector of packettest to a
// connected client: each ends the connection [MQTT-4.8.0-1] with the
// codec's *packet.ProtocolError for the rule the vector breaks (among them
// PUBLISH with QoS 3 [MQTT-3.3.1-4], a five-byte Remaining Length, a
// reserved type, bad flags [MQTT-2.2.2-1], ill-formed UTF-8
// [MQTT-1.5.3-1]), and nothing panics.
func TestServerSendsMalformed(t *testing.T) {
	leaktest.Check(t)
	for _, m := range packettest.MalformedVectors() {
		t.Run(m.Name, func(t *testing.T) {
			leaktest.Check(t)
			c, b := connected(t, scriptConfig())
			b.Send(m.Bytes)
			b.ExpectClosed()
			waitDone(t, c)
			err := c.Err()
			var pe *packet.ProtocolError
			if !errors.As(err, &pe) || pe.Rule != m.Rule || !errors.Is(err, m.Err) {
				t.Errorf("Err() = %v, want a *packet.ProtocolError for rule %s wrapping %v", err, m.Rule, m.Err)
			}
		})
	}
}

// TestMalformedExamples names two malformed packets from the server and
// the errors they end the connection with.
func TestMalformedExamples(t *testing.T) {
	leaktest.Check(t)
	for _, tc := range []struct {
		name  string
		bytes []byte
		rule  string
		want  string
	}{
		{"PUBLISH QoS 3", hx("36 07 00 01 61 00 01 68 69"), "MQTT-3.3.1-4", "PUBLISH QoS"},
		{"remaining length in 5 bytes", hx("30 ff ff ff ff 01"), "2.2.3", "remaining length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaktest.Check(t)
			c, b := connected(t, scriptConfig())
			b.Send(tc.bytes)
			b.ExpectClosed()
			waitDone(t, c)
			err := c.Err()
			var pe *packet.ProtocolError
			if !errors.As(err, &pe) || pe.Rule != tc.rule || !errors.Is(err, packet.ErrMalformed) {
				t.Fatalf("Err() = %v, want a malformed-packet *packet.ProtocolError for %s", err, tc.rule)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Err() = %q, does not say %q", err, tc.want)
			}
		})
	}
}

// TestPacketTooLarge checks that a packet over MaxPacketSize ends the
// connection before its body is read, with packet.ErrPacketTooLarge.
func TestPacketTooLarge(t *testing.T) {
	leaktest.Check(t)
	cfg := scriptConfig()
	cfg.MaxPacketSize = 16
	c, b := connected(t, cfg)
	b.Send(hx("30 0f 00 01 61 00 00 00 00 00 00 00 00 00 00 00 00")) // 17 bytes
	b.ExpectClosed()
	waitDone(t, c)
	if err := c.Err(); !errors.Is(err, packet.ErrPacketTooLarge) {
		t.Errorf("Err() = %v, want packet.ErrPacketTooLarge", err)
	}
}

// TestServerClosesMidPacket checks that a connection ending inside a
// packet is reported as such.
func TestServerClosesMidPacket(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	b.Send(hx("30 07 00 03 61"))
	b.Close()
	waitDone(t, c)
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Errorf("Err() = %v, want an unexpected EOF", err)
	}
}
