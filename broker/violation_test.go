package broker

import (
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// connectWithWill connects client id with a will on will/<id> and returns
// it.
func connectWithWill(t testing.TB, addr, id string, q packet.QoS, retain bool) *client {
	t.Helper()
	c := dial(t, addr)
	c.connect(&packet.Connect{
		ClientID: []byte(id), CleanSession: true, KeepAlive: 60,
		WillFlag: true, WillTopic: []byte("will/" + id), WillMessage: []byte("gone " + id), WillQoS: q, WillRetain: retain,
	}, packet.Connack{})
	return c
}

// TestViolations sends, after a valid CONNECT with a will, each protocol
// violation as exact bytes. The broker must close the connection without
// replying [MQTT-4.8.0-1] and publish the will [MQTT-3.1.2-8], which a
// subscriber receives.
func TestViolations(t *testing.T) {
	_, addr := startServer(t, Config{MaxPacketSize: 64})
	watcher := connectID(t, addr, "watcher", true)
	watcher.subscribe(1, "will/#", packet.QoS0, packet.GrantedQoS0)

	tests := []struct {
		name  string
		bytes []byte
	}{
		{"second CONNECT [MQTT-3.1.0-2]", connectBytes(4)},
		{"PUBREL flags 0000 [MQTT-3.6.1-1]", []byte{0x60, 0x02, 0x00, 0x01}},
		{"SUBSCRIBE flags 0000 [MQTT-3.8.1-1]", []byte{0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}},
		{"UNSUBSCRIBE flags 0000 [MQTT-3.10.1-1]", []byte{0xa0, 0x05, 0x00, 0x01, 0x00, 0x01, 'a'}},
		{"DISCONNECT flags 0001 [MQTT-3.14.1-1]", []byte{0xe1, 0x00}},
		{"PINGREQ flags 0001 [MQTT-2.2.2-2]", []byte{0xc1, 0x00}},
		{"PUBACK flags 0010 [MQTT-2.2.2-2]", []byte{0x42, 0x02, 0x00, 0x01}},
		{"reserved type 0 [section 2.2.1]", []byte{0x00, 0x00}},
		{"reserved type 15 [section 2.2.1]", []byte{0xf0, 0x00}},
		{"CONNACK from client", []byte{0x20, 0x02, 0x00, 0x00}},
		{"SUBACK from client", []byte{0x90, 0x03, 0x00, 0x01, 0x00}},
		{"UNSUBACK from client", []byte{0xb0, 0x02, 0x00, 0x01}},
		{"PINGRESP from client", []byte{0xd0, 0x00}},
		{"topic not UTF-8 [MQTT-1.5.3-1]", []byte{0x30, 0x05, 0x00, 0x02, 0xc3, 0x28, 'x'}},
		{"topic with surrogate [MQTT-1.5.3-1]", []byte{0x30, 0x06, 0x00, 0x03, 0xed, 0xa0, 0x80, 'x'}},
		{"topic with U+0000 [MQTT-1.5.3-2]", []byte{0x30, 0x05, 0x00, 0x02, 'a', 0x00, 'x'}},
		{"wildcard + in PUBLISH topic [MQTT-3.3.2-2]", []byte{0x30, 0x06, 0x00, 0x03, 'a', '/', '+', 'x'}},
		{"wildcard # in PUBLISH topic [MQTT-3.3.2-2]", []byte{0x30, 0x04, 0x00, 0x01, '#', 'x'}},
		{"empty PUBLISH topic [MQTT-4.7.3-1]", []byte{0x30, 0x03, 0x00, 0x00, 'x'}},
		{"PUBLISH QoS 3 [MQTT-3.3.1-4]", []byte{0x36, 0x06, 0x00, 0x01, 'a', 0x00, 0x01, 'x'}},
		{"PUBLISH DUP with QoS 0 [MQTT-3.3.1-2]", []byte{0x38, 0x04, 0x00, 0x01, 'a', 'x'}},
		{"PUBLISH QoS 1 packet id 0 [MQTT-2.3.1-1]", []byte{0x32, 0x06, 0x00, 0x01, 'a', 0x00, 0x00, 'x'}},
		{"SUBSCRIBE with no filters [MQTT-3.8.3-3]", []byte{0x82, 0x02, 0x00, 0x01}},
		{"SUBSCRIBE packet id 0 [MQTT-2.3.1-1]", []byte{0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 'a', 0x00}},
		{"SUBSCRIBE requested QoS 3 [MQTT-3.8.3-4]", []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x03}},
		{"SUBSCRIBE reserved QoS bits [MQTT-3.8.3-4]", []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x41}},
		{"SUBSCRIBE filter a/#/b [MQTT-4.7.1-2]", []byte{0x82, 0x0a, 0x00, 0x01, 0x00, 0x05, 'a', '/', '#', '/', 'b', 0x00}},
		{"SUBSCRIBE filter a+ [MQTT-4.7.1-3]", []byte{0x82, 0x07, 0x00, 0x01, 0x00, 0x02, 'a', '+', 0x00}},
		{"SUBSCRIBE empty filter [MQTT-4.7.3-1]", []byte{0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00}},
		{"UNSUBSCRIBE with no filters [MQTT-3.10.3-2]", []byte{0xa2, 0x02, 0x00, 0x01}},
		{"PUBACK remaining length 3", []byte{0x40, 0x03, 0x00, 0x01, 0x00}},
		{"PUBACK packet id 0 [MQTT-2.3.1-6]", []byte{0x40, 0x02, 0x00, 0x00}},
		{"remaining length of 5 bytes", []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"packet larger than MaxPacketSize", append([]byte{0x30, 0x7f, 0x00, 0x01, 'a'}, make([]byte, 124)...)},
		{"claims 256 MB", []byte{0x30, 0xff, 0xff, 0xff, 0x7f}},
		{"truncated PUBLISH then EOF", []byte{0x30, 0x10, 0x00, 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := connectWithWill(t, addr, "v", packet.QoS0, false)
			c.write(tt.bytes)
			if tt.name == "truncated PUBLISH then EOF" {
				c.nc.(interface{ CloseWrite() error }).CloseWrite()
			}
			c.expectClosed()
			watcher.expectPublish(pub("will/v", "gone v", packet.QoS0, false))
		})
	}
}
