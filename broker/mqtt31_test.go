package broker

import (
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// denyPrefix refuses every topic and filter that starts with prefix.
type denyPrefix string

func (d denyPrefix) CanPublish(_ Identity, topic string) bool {
	return !strings.HasPrefix(topic, string(d))
}

func (d denyPrefix) CanSubscribe(_ Identity, filter string) bool {
	return !strings.HasPrefix(filter, string(d))
}

// TestMQTT31 checks that MQTT 3.1 clients (protocol "MQIsdp", level 3)
// are served under 3.1's rules: a ClientId of 1 to 23 characters, else
// CONNACK 2 (3.1 has no server-assigned identifiers); no Session Present
// flag, the byte being reserved in 3.1; and, since a 3.1 SUBACK has no
// failure code, a refused subscription granted as asked while nothing is
// delivered. Messages flow between 3.1 and 3.1.1 clients.
func TestMQTT31(t *testing.T) {
	_, addr := startServer(t, Config{Authorizer: denyPrefix("secret/")})
	v31 := func(id string, clean bool) *packet.Connect {
		return &packet.Connect{MQTT31: true, ClientID: []byte(id), CleanSession: clean}
	}
	for _, id := range []string{"", strings.Repeat("x", 24)} {
		c := dial(t, addr)
		c.connect(v31(id, true), packet.Connack{ReturnCode: packet.RefusedIdentifierRejected})
		c.expectClosed()
	}

	// A persistent session resumed: 3.1.1 says so, 3.1 cannot.
	for _, present := range []bool{false, true} {
		c := dial(t, addr)
		c.connect(&packet.Connect{ClientID: []byte("p311"), CleanSession: false}, packet.Connack{SessionPresent: present})
		c.send(&packet.Disconnect{})
		c.expectClosed()
	}
	for range 2 {
		c := dial(t, addr)
		c.connect(v31("p31", false), packet.Connack{})
		c.send(&packet.Disconnect{})
		c.expectClosed()
	}

	sub := dial(t, addr)
	sub.connect(v31(strings.Repeat("s", 23), true), packet.Connack{})
	sub.subscribe(1, "secret/#", packet.QoS1, packet.SubackCode(packet.QoS1))
	sub.subscribe(2, "open/#", packet.QoS1, packet.SubackCode(packet.QoS1))
	pub := connectID(t, addr, "pub311", true)
	pub.publish("secret/x", "hidden", packet.QoS1, false, 1)
	pub.publish("open/x", "shown", packet.QoS1, false, 2)
	got := sub.expectPublish(&packet.Publish{Topic: []byte("open/x"), Payload: []byte("shown"), QoS: packet.QoS1})
	sub.send(&packet.Puback{PacketID: got.PacketID})
	sub.expectNothing()

	// The 3.1.1 client still gets 0x80 for the same filter.
	pub.subscribe(3, "secret/#", packet.QoS1, packet.Failure)
}
