package packet

import "strconv"

// Type is the MQTT Control Packet type, the high nibble of the first byte of
// every packet (section 2.2.1). Values 0 and 15 are reserved.
type Type byte

// The fourteen control packet types of MQTT 3.1.1.
const (
	TypeConnect     Type = 1
	TypeConnack     Type = 2
	TypePublish     Type = 3
	TypePuback      Type = 4
	TypePubrec      Type = 5
	TypePubrel      Type = 6
	TypePubcomp     Type = 7
	TypeSubscribe   Type = 8
	TypeSuback      Type = 9
	TypeUnsubscribe Type = 10
	TypeUnsuback    Type = 11
	TypePingreq     Type = 12
	TypePingresp    Type = 13
	TypeDisconnect  Type = 14
)

var typeNames = [16]string{
	"RESERVED(0)", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "RESERVED(15)",
}

// String returns the packet type's name as the spec spells it, e.g. "PUBLISH".
func (t Type) String() string {
	if t < 16 {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the fourteen packet types.
func (t Type) Valid() bool { return t >= TypeConnect && t <= TypeDisconnect }

// requiredFlags holds the fixed-header flag bits each type other than PUBLISH
// must carry [MQTT-2.2.2-1].
var requiredFlags = [16]byte{TypePubrel: 0b0010, TypeSubscribe: 0b0010, TypeUnsubscribe: 0b0010}

// flagsRule names the rule that fixes the flag bits of each type.
var flagsRule = [16]string{
	TypeConnect: "MQTT-2.2.2-1", TypeConnack: "MQTT-2.2.2-1", TypePuback: "MQTT-2.2.2-1",
	TypePubrec: "MQTT-2.2.2-1", TypePubrel: "MQTT-3.6.1-1", TypePubcomp: "MQTT-2.2.2-1",
	TypeSubscribe: "MQTT-3.8.1-1", TypeSuback: "MQTT-2.2.2-1", TypeUnsubscribe: "MQTT-3.10.1-1",
	TypeUnsuback: "MQTT-2.2.2-1", TypePingreq: "MQTT-2.2.2-1", TypePingresp: "MQTT-2.2.2-1",
	TypeDisconnect: "MQTT-3.14.1-1",
}

// fixedLength holds the Remaining Length of packets whose length never
// varies, so that the Reader can refuse any other before reading the body.
// -1 means variable.
var fixedLength = [16]int{
	-1, -1, 2, -1, 2, 2, 2, 2, -1, -1, -1, 2, 0, 0, 0, -1,
}

// lengthRule names the section that fixes the Remaining Length of each
// fixed-size packet type.
var lengthRule = [16]string{
	TypeConnack: "3.2.1", TypePuback: "3.4.1", TypePubrec: "3.5.1", TypePubrel: "3.6.1",
	TypePubcomp: "3.7.1", TypeUnsuback: "3.11.1", TypePingreq: "3.12.1", TypePingresp: "3.13.1",
	TypeDisconnect: "3.14.1",
}

// checkFixedLength refuses a fixed-size packet whose Remaining Length is not
// the one its type requires.
func checkFixedLength(t Type, rl int) error {
	if fl := fixedLength[t]; fl >= 0 && rl != fl {
		return perr(t, "remaining length", lengthRule[t], ErrRemainingLength)
	}
	return nil
}

// checkFlags validates the flag nibble of a non-PUBLISH packet.
func checkFlags(t Type, flags byte) error {
	if flags != requiredFlags[t] {
		return perr(t, "fixed header flags", flagsRule[t], ErrFlags)
	}
	return nil
}

// QoS is a Quality of Service level (section 4.3).
type QoS byte

// The three QoS levels.
const (
	QoS0 QoS = 0 // at most once
	QoS1 QoS = 1 // at least once
	QoS2 QoS = 2 // exactly once
)

// String returns "QoS 0", "QoS 1", "QoS 2", or "QoS n" for an invalid level.
func (q QoS) String() string { return "QoS " + strconv.Itoa(int(q)) }

// Valid reports whether q is 0, 1 or 2.
func (q QoS) Valid() bool { return q <= QoS2 }
