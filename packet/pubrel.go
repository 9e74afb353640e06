package packet

// Pubrel is a PUBREL packet (section 3.6): the answer to a PUBREC. Its fixed-header flags are
// 0010 [MQTT-3.6.1-1].
type Pubrel struct {
	PacketID uint16 // the identifier of the QoS 2 flow it releases
}

// Type returns TypePubrel.
func (*Pubrel) Type() Type { return TypePubrel }

// Size returns the length of the encoded packet: always 4.
func (*Pubrel) Size() int { return 4 }

// AppendBinary validates p and appends its encoding to b.
func (p *Pubrel) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Pubrel) validate() error { return checkAck(TypePubrel, p.PacketID) }

func (p *Pubrel) appendUnchecked(b []byte) []byte { return appendAck(b, TypePubrel, p.PacketID) }

// Decode decodes the PUBREL packet at the front of b into p and returns the
// number of bytes it took.
func (p *Pubrel) Decode(b []byte) (int, error) { return decodeInto(b, TypePubrel, p) }

func (p *Pubrel) decode(flags byte, b []byte) (err error) {
	p.PacketID, err = decodeAck(TypePubrel, flags, b)
	return err
}
