package broker

import (
	"fmt"

	"github.com/petrel-mqtt/petrel/packet"
)

// storeWill keeps the will of an accepted CONNECT with the connection
// [MQTT-3.1.2-8], after asking the Authorizer whether the client may
// publish to its topic; if not, or if the will's message is larger than
// Config.MaxPayloadSize, it refuses the connection with return code 5 and
// reports false.
func (c *conn) storeWill(p *packet.Connect) bool {
	if !p.WillFlag {
		return true // no will is published [MQTT-3.1.2-12]
	}
	topic := string(p.WillTopic)
	if max := c.srv.cfg.MaxPayloadSize; max > 0 && len(p.WillMessage) > max {
		// A will the broker would drop when it is due: the client learns
		// it now, as Mosquitto refuses it.
		c.refuse(packet.RefusedNotAuthorized, fmt.Errorf("will message of %d bytes, more than Config.MaxPayloadSize (%d)", len(p.WillMessage), max))
		return false
	}
	if !c.canPublish(topic) {
		c.refuse(packet.RefusedNotAuthorized, fmt.Errorf("will topic %q not authorized", topic))
		return false
	}
	c.will = newMessage(p.WillTopic, p.WillMessage, p.WillQoS, p.WillRetain)
	return true
}

// publishWill publishes the will, with its QoS and RETAIN flag
// [MQTT-3.1.2-16] [MQTT-3.1.2-17], when the connection ends for any reason
// but DISCONNECT, which discards it [MQTT-3.14.4-3]: a network error, a
// keepalive timeout, a protocol violation, a takeover, or Shutdown. Either
// way it is then deleted [MQTT-3.1.2-10].
func (c *conn) publishWill() {
	if c.will != nil && !c.disconnect {
		c.srv.publish(c.will, nil)
	}
	c.will = nil
}
