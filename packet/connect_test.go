package packet_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/petrel-mqtt/petrel/packet"
)

// connect31 is a CONNECT of MQTT 3.1 ("MQIsdp", level 3) with the given
// connect flags, keep alive 60, client identifier "c", then payload.
func connect31(flags byte, payload ...byte) []byte {
	b := []byte{0x10, byte(15 + len(payload)), 0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', 0x03, flags, 0x00, 0x3C, 0x00, 0x01, 'c'}
	return append(b, payload...)
}

// TestConnectMQTT31Lenient checks the CONNECTs MQTT 3.1 allows and 3.1.1
// does not: 3.1 has no reserved connect flag and no rule for the will
// flags without a will, and old 3.1 clients set the user name or password
// flag with the field missing (Mosquitto takes it as absent). Each decodes
// to a Connect that encodes to a valid 3.1 CONNECT.
func TestConnectMQTT31Lenient(t *testing.T) {
	for _, c := range []struct {
		name string
		b    []byte
		want packet.Connect
	}{
		{"reserved flag", connect31(0x03), packet.Connect{CleanSession: true}},
		{"will QoS without will", connect31(0x12), packet.Connect{CleanSession: true}},
		{"will retain without will", connect31(0x22), packet.Connect{CleanSession: true}},
		{"user name flag, no user name", connect31(0x82), packet.Connect{CleanSession: true}},
		{"user name and password flags, neither", connect31(0xC2), packet.Connect{CleanSession: true}},
		{"password flag, no password", connect31(0xC2, 0x00, 0x01, 'u'), packet.Connect{CleanSession: true, UsernameFlag: true, Username: []byte("u")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p packet.Connect
			n, err := p.Decode(c.b)
			if err != nil || n != len(c.b) {
				t.Fatalf("Decode: %d, %v; want %d, nil", n, err, len(c.b))
			}
			c.want.MQTT31, c.want.KeepAlive, c.want.ClientID = true, 60, []byte("c")
			if d := cmp.Diff(&c.want, &p); d != "" {
				t.Errorf("Decode (-want +got):\n%s", d)
			}
			b, err := p.AppendBinary(nil)
			if err != nil {
				t.Fatalf("AppendBinary: %v", err)
			}
			var q packet.Connect
			if _, err := q.Decode(b); err != nil || !q.MQTT31 {
				t.Errorf("the re-encoded CONNECT decodes to %+v, %v", q, err)
			}
		})
	}
}

// TestConnectMQTT311Strict checks that the same CONNECTs with protocol
// "MQTT" level 4 stay protocol errors.
func TestConnectMQTT311Strict(t *testing.T) {
	for _, flags := range []byte{0x03, 0x12, 0x22, 0x82} {
		b := []byte{0x10, 0x0D, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, flags, 0x00, 0x3C, 0x00, 0x01, 'c'}
		var p packet.Connect
		if _, err := p.Decode(b); err == nil {
			t.Errorf("flags %08b: Decode accepted %+v", flags, p)
		}
	}
}

// TestConnectBridge checks Mosquitto's mark of a bridge, bit 0x80 of the
// protocol level: "MQTT" 0x84 and "MQIsdp" 0x83 decode with Bridge set and
// encode to the same bytes; any other level with the bit stays a protocol
// level error [MQTT-3.1.2-2].
func TestConnectBridge(t *testing.T) {
	connect := func(name string, level byte) []byte {
		b := []byte{0x10, byte(9 + len(name)), 0x00, byte(len(name))}
		b = append(b, name...)
		return append(b, level, 0x02, 0x00, 0x3C, 0x00, 0x01, 'c')
	}
	for _, c := range []struct {
		name   string
		level  byte
		mqtt31 bool
	}{{"MQTT", 0x84, false}, {"MQIsdp", 0x83, true}} {
		b := connect(c.name, c.level)
		var p packet.Connect
		if n, err := p.Decode(b); err != nil || n != len(b) {
			t.Fatalf("%s level %#x: Decode %d, %v", c.name, c.level, n, err)
		}
		want := packet.Connect{MQTT31: c.mqtt31, Bridge: true, ClientID: []byte("c"), CleanSession: true, KeepAlive: 60}
		if d := cmp.Diff(&want, &p); d != "" {
			t.Errorf("%s level %#x (-want +got):\n%s", c.name, c.level, d)
		}
		if got, err := p.AppendBinary(nil); err != nil || string(got) != string(b) {
			t.Errorf("%s level %#x: encodes to % x, %v; want % x", c.name, c.level, got, err, b)
		}
	}
	for _, c := range []struct {
		name  string
		level byte
	}{{"MQTT", 0x85}, {"MQTT", 0x83}, {"MQTT", 0x80}, {"MQIsdp", 0x84}} {
		var p packet.Connect
		if _, err := p.Decode(connect(c.name, c.level)); !errors.Is(err, packet.ErrProtocolLevel) {
			t.Errorf("%s level %#x: %v; want ErrProtocolLevel", c.name, c.level, err)
		}
	}
}
