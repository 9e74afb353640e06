package session

import "github.com/petrel-mqtt/petrel/packet"

// Message is an application message received from the server, as the
// PUBLISH packet that carried it described it (section 3.3).
//
// The client makes a Message of its own for each PUBLISH it receives,
// copying Payload out of the network buffer before dispatch, so a handler
// may keep m and its Payload after it returns. Messages received close
// together share their memory, taken in chunks of a few KiB (no
// allocation a message): keeping one keeps its chunk. When the message matches
// several subscriptions, each matching handler receives the same Message:
// handlers must not modify it.
type Message struct {
	// Topic is the topic name the message was published to: never empty,
	// never with wildcards [MQTT-3.3.2-2].
	Topic string
	// Payload is the application message, any bytes, possibly none.
	Payload []byte
	// QoS is the QoS the server delivered the message with: no higher
	// than the QoS it was published with, nor than the QoS the server
	// granted to the subscription (section 3.8.4). When subscriptions
	// overlap, the highest QoS granted to them counts [MQTT-3.3.5-1].
	QoS packet.QoS
	// Retain reports that the server sent the message from its retained
	// messages, because a new subscription matched it [MQTT-3.3.1-8].
	Retain bool
	// Duplicate reports the DUP flag: the server may have delivered the
	// message before, on an earlier attempt [MQTT-3.3.1-1]. It is set only
	// for QoS 1 and 2.
	Duplicate bool
	// PacketID is the packet identifier the server gave the PUBLISH: zero
	// at QoS 0, which has none [MQTT-2.3.1-5]. The client acknowledges the
	// message itself; this is for display (petrel sub -F %m).
	PacketID uint16
}
