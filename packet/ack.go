package packet

// The acknowledgements PUBACK, PUBREC, PUBREL, PUBCOMP and UNSUBACK share one
// shape: a fixed header and a two-byte packet identifier, Remaining Length 2.

func appendAck(b []byte, t Type, id uint16) []byte {
	return append(b, byte(t)<<4|requiredFlags[t], 2, byte(id>>8), byte(id))
}

// idRule names the rule that makes each acknowledgement's identifier
// non-zero: it repeats the non-zero identifier of the packet it answers.
var idRule = [16]string{
	TypePuback: "MQTT-2.3.1-6", TypePubrec: "MQTT-2.3.1-6", TypePubrel: "MQTT-2.3.1-6",
	TypePubcomp: "MQTT-2.3.1-6", TypeUnsuback: "MQTT-2.3.1-7", TypeSuback: "MQTT-2.3.1-7",
	TypeSubscribe: "MQTT-2.3.1-1", TypeUnsubscribe: "MQTT-2.3.1-1",
}

func checkAck(t Type, id uint16) error {
	if id == 0 {
		return perr(t, "packet identifier", idRule[t], ErrPacketID)
	}
	return nil
}

func decodeAck(t Type, flags byte, b []byte) (uint16, error) {
	if err := checkFlags(t, flags); err != nil {
		return 0, err
	}
	if err := checkFixedLength(t, len(b)); err != nil {
		return 0, err
	}
	id := uint16(b[0])<<8 | uint16(b[1])
	return id, checkAck(t, id)
}

// grow makes room for n more bytes in b with at most one allocation.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		return nb
	}
	return b
}
