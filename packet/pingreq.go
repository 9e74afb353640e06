package packet

// Pingreq is a PINGREQ packet (section 3.12): a client's keepalive probe; the server answers
// with PINGRESP [MQTT-3.12.4-1].
type Pingreq struct{}

// Type returns TypePingreq.
func (*Pingreq) Type() Type { return TypePingreq }

// Size returns the length of the encoded packet: always 2.
func (*Pingreq) Size() int { return 2 }

// AppendBinary appends the encoding of p to b; it never fails.
func (p *Pingreq) AppendBinary(b []byte) ([]byte, error) { return p.appendUnchecked(b), nil }

func (*Pingreq) validate() error { return nil }

func (*Pingreq) appendUnchecked(b []byte) []byte { return append(b, byte(TypePingreq)<<4, 0) }

// Decode decodes the PINGREQ packet at the front of b and returns the number
// of bytes it took.
func (p *Pingreq) Decode(b []byte) (int, error) { return decodeInto(b, TypePingreq, p) }

func (*Pingreq) decode(flags byte, b []byte) error {
	if err := checkFlags(TypePingreq, flags); err != nil {
		return err
	}
	return checkFixedLength(TypePingreq, len(b))
}
