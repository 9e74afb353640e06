package broker

import (
	"github.com/petrel-mqtt/petrel/packet"
)

// handlePublish handles a PUBLISH from the client (section 3.3.4): it
// routes the message and acknowledges it as its QoS requires
// [MQTT-3.3.4-1]. A QoS 2 message is routed when it first arrives and its
// identifier kept until PUBREL, so that a re-send is acknowledged but not
// routed again [MQTT-4.3.3-2]. A message the Authorizer refuses is
// acknowledged as usual and dropped [MQTT-3.3.5-2].
func (c *conn) handlePublish(p *packet.Publish) {
	srv := c.srv
	srv.countReceived(p.QoS)
	route := true
	if p.QoS == packet.QoS2 {
		route = c.sess.receiveQoS2(p.PacketID)
		if !route && !p.Dup {
			// Not a re-send, which sets DUP [MQTT-3.3.1-1]: a new message
			// on an identifier still in use [MQTT-2.3.1-2].
			srv.log.Warn("QoS 2 publish reuses a packet identifier before its PUBREL: acknowledged, not routed",
				"client", c.ident.ClientID, "id", p.PacketID, "topic", string(p.Topic))
		}
	}
	if route {
		topic := string(p.Topic)
		if max := srv.cfg.MaxPayloadSize; max > 0 && len(p.Payload) > max {
			srv.log.Warn("publish larger than Config.MaxPayloadSize: dropped", "client", c.ident.ClientID,
				"topic", topic, "size", len(p.Payload), "max", max)
		} else if c.canPublish(topic) {
			srv.publish(newMessage(topic, p.Payload, p.QoS, p.Retain), c)
		} else {
			srv.stats.denied.Add(1)
			srv.log.Warn("publish not authorized: dropped", "client", c.ident.ClientID,
				"user", c.ident.Username, "topic", topic)
		}
	}
	switch p.QoS {
	case packet.QoS1:
		c.send(outPacket{t: packet.TypePuback, id: p.PacketID})
	case packet.QoS2:
		c.send(outPacket{t: packet.TypePubrec, id: p.PacketID})
	}
}

// publish takes ownership of m: it stores or clears the retained message
// of its topic if m has RETAIN set [MQTT-3.3.1-5], and queues m for every
// session with a matching subscription [MQTT-4.5.0-1], once per session at
// the lower of its QoS and the highest QoS granted [MQTT-3.8.4-6]
// [MQTT-3.3.5-1], with RETAIN=0 [MQTT-3.3.1-9]; to a bridge, of this
// broker's or another's (session.peerBridge), with its own RETAIN flag,
// and none of its own messages.
//
// With from, the connection the message came from, the sessions it left
// above their high-water marks are added to from.congested, for its reader
// to wait on (flow.go).
func (s *Server) publish(m *message, from *conn) {
	if m.retain && !s.retained.set(m) {
		n := s.stats.retainedDropped.Add(1)
		if isPowerOf10(n) {
			s.log.Warn("retained message not kept: the retained messages would exceed Config.MaxRetainedBytes; delivered, not retained",
				"topic", m.topic, "size", len(m.payload), "max", s.cfg.MaxRetainedBytes, "dropped", n)
		}
	}
	var buf [16]target
	for _, t := range s.subs.match(m.topic, buf[:0]) {
		d := delivery{m: m, qos: min(m.qos, t.qos)}
		if s.bridgeIDs != nil {
			if b := s.bridgeIDs[t.s.id]; b != nil {
				if from != nil && from.bridge() == b {
					continue // what came in through a bridge does not go back out through it
				}
				d.retain = m.retain // to a bridge, retained messages stay retained, as in Mosquitto
			}
		}
		if t.s.peerBridge.Load() {
			if from != nil && from.sess == t.s {
				continue // a bridge gets none of its own messages back, as from Mosquitto
			}
			d.retain = m.retain
		}
		if t.s.mayRead(m.topic) && t.s.enqueue(d, from) && from != nil {
			from.congested = append(from.congested, t.s)
		}
	}
}
