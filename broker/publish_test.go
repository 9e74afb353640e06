package broker

import (
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestPublishQoS checks delivery at the lower of the published and the
// granted QoS [MQTT-3.8.4-6], with RETAIN=0 on live deliveries
// [MQTT-3.3.1-9] and the acknowledgements of each QoS [MQTT-3.3.4-1].
func TestPublishQoS(t *testing.T) {
	_, addr := startServer(t, Config{})
	for _, granted := range []packet.QoS{0, 1, 2} {
		sub := connectID(t, addr, "sub", true)
		sub.subscribe(1, "a/+", granted, packet.SubackCode(granted))
		p := connectID(t, addr, "pub", true)
		for q := range packet.QoS(3) {
			p.publish("a/b", "m", q, false, uint16(q)+10)
			want := min(q, granted)
			got := sub.expectPublish(pub("a/b", "m", want, false))
			switch want {
			case 1:
				sub.send(&packet.Puback{PacketID: got.PacketID})
			case 2:
				sub.send(&packet.Pubrec{PacketID: got.PacketID})
				sub.expect(&packet.Pubrel{PacketID: got.PacketID})
				sub.send(&packet.Pubcomp{PacketID: got.PacketID})
			}
		}
		sub.send(&packet.Disconnect{})
		p.send(&packet.Disconnect{})
		sub.expectClosed()
		p.expectClosed()
	}
}
