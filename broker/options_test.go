package broker

import (
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestMaxPayloadSize checks that a PUBLISH whose payload exceeds
// Config.MaxPayloadSize is acknowledged and dropped, the connection kept,
// while one at the limit is delivered; and that a will over the limit
// refuses the CONNECT.
func TestMaxPayloadSize(t *testing.T) {
	_, addr := startServer(t, Config{MaxPayloadSize: 10})
	sub := connectID(t, addr, "sub", true)
	sub.subscribe(1, "t", packet.QoS1, packet.GrantedQoS1)
	p := connectID(t, addr, "pub", true)
	p.publish("t", strings.Repeat("x", 11), packet.QoS1, false, 1)
	p.publish("t", strings.Repeat("y", 11), packet.QoS2, false, 2)
	p.publish("t", strings.Repeat("z", 10), packet.QoS1, false, 3)
	m := sub.expectPublish(pub("t", strings.Repeat("z", 10), packet.QoS1, false))
	sub.send(&packet.Puback{PacketID: m.PacketID})

	// A will larger than the limit is refused at CONNECT with return
	// code 5 (Mosquitto's 07-will-oversize-payload), whatever the clean
	// flag; one at the limit is kept and published.
	for _, clean := range []bool{true, false} {
		w := dial(t, addr)
		w.connect(&packet.Connect{ClientID: []byte("w"), CleanSession: clean, WillFlag: true, WillTopic: []byte("t"), WillMessage: []byte(strings.Repeat("w", 11))},
			packet.Connack{ReturnCode: packet.RefusedNotAuthorized})
		w.expectClosed()
	}
	w := dial(t, addr)
	w.connect(&packet.Connect{ClientID: []byte("w"), CleanSession: true, WillFlag: true, WillTopic: []byte("t"), WillMessage: []byte(strings.Repeat("w", 10))}, packet.Connack{})
	w.nc.Close()
	sub.expectPublish(pub("t", strings.Repeat("w", 10), packet.QoS0, false))
	sub.expectNothing()
}

// TestMaxKeepAlive checks that a keep alive above Config.MaxKeepAlive
// gets CONNACK 2, and one within it, or none, is accepted.
func TestMaxKeepAlive(t *testing.T) {
	_, addr := startServer(t, Config{MaxKeepAlive: 60})
	for _, c := range []struct {
		ka   uint16
		code packet.ConnectReturnCode
	}{{60, packet.Accepted}, {1, packet.Accepted}, {0, packet.Accepted}, {61, packet.RefusedIdentifierRejected}} {
		cl := dial(t, addr)
		cl.connect(&packet.Connect{ClientID: []byte("k"), CleanSession: true, KeepAlive: c.ka}, packet.Connack{ReturnCode: c.code})
		if c.code != packet.Accepted {
			cl.expectClosed()
		} else {
			cl.send(&packet.Disconnect{})
			cl.expectClosed()
		}
	}
}

// TestEmptyClientIDOptions checks Config.RefuseEmptyClientID and
// Config.GeneratedClientIDPrefix.
func TestEmptyClientIDOptions(t *testing.T) {
	_, addr := startServer(t, Config{RefuseEmptyClientID: true})
	c := dial(t, addr)
	c.connect(&packet.Connect{CleanSession: true}, packet.Connack{ReturnCode: packet.RefusedIdentifierRejected})
	c.expectClosed()

	s, addr := startServer(t, Config{GeneratedClientIDPrefix: "auto-"})
	connectID(t, addr, "", true)
	eventually(t, "a session named auto-…", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for id := range s.sessions {
			if strings.HasPrefix(id, "auto-") {
				return true
			}
		}
		return false
	})
}
