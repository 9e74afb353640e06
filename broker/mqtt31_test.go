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

// TestMQTT31Dup checks that an MQTT 3.1 client may set DUP on a PUBREL,
// SUBSCRIBE or UNSUBSCRIBE it sends again, as 3.1 does (Mosquitto's
// 03-publish-c2b-disconnect-qos2 sends 0x6a on reconnecting), while a
// 3.1.1 client that does so is disconnected [MQTT-3.6.1-1].
func TestMQTT31Dup(t *testing.T) {
	_, addr := startServer(t, Config{})
	c := dial(t, addr)
	c.connect(&packet.Connect{MQTT31: true, ClientID: []byte("dup31"), CleanSession: true}, packet.Connack{})
	c.write([]byte{0x8a, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x01}) // SUBSCRIBE, DUP
	c.expect(&packet.Suback{PacketID: 1, ReturnCodes: []packet.SubackCode{packet.GrantedQoS1}})
	c.send(&packet.Publish{Topic: []byte("q2"), Payload: []byte("m"), QoS: packet.QoS2, PacketID: 7})
	c.expect(&packet.Pubrec{PacketID: 7})
	c.write([]byte{0x6a, 0x02, 0x00, 0x07}) // PUBREL, DUP
	c.expect(&packet.Pubcomp{PacketID: 7})
	c.write([]byte{0xaa, 0x05, 0x00, 0x02, 0x00, 0x01, 'a'}) // UNSUBSCRIBE, DUP
	c.expect(&packet.Unsuback{PacketID: 2})
	c.write([]byte{0x6b, 0x02, 0x00, 0x07}) // PUBREL with the reserved bit set
	c.expectClosed()

	c = connectID(t, addr, "dup311", true)
	c.write([]byte{0x6a, 0x02, 0x00, 0x07})
	c.expectClosed()
}
