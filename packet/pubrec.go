package packet

// Pubrec is a PUBREC packet (section 3.5): the first answer to a QoS 2 PUBLISH.
type Pubrec struct {
	PacketID uint16 // the identifier of the PUBLISH it acknowledges
}

// Type returns TypePubrec.
func (*Pubrec) Type() Type { return TypePubrec }

// Size returns the length of the encoded packet: always 4.
func (*Pubrec) Size() int { return 4 }

// AppendBinary validates p and appends its encoding to b.
func (p *Pubrec) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Pubrec) validate() error { return checkAck(TypePubrec, p.PacketID) }

func (p *Pubrec) appendUnchecked(b []byte) []byte { return appendAck(b, TypePubrec, p.PacketID) }

// Decode decodes the PUBREC packet at the front of b into p and returns the
// number of bytes it took.
func (p *Pubrec) Decode(b []byte) (int, error) { return decodeInto(b, TypePubrec, p) }

func (p *Pubrec) decode(flags byte, b []byte) (err error) {
	p.PacketID, err = decodeAck(TypePubrec, flags, b)
	return err
}
