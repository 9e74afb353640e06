package packet

// Puback is a PUBACK packet (section 3.4): the answer to a QoS 1 PUBLISH.
type Puback struct {
	PacketID uint16 // the identifier of the PUBLISH it acknowledges
}

// Type returns TypePuback.
func (*Puback) Type() Type { return TypePuback }

// Size returns the length of the encoded packet: always 4.
func (*Puback) Size() int { return 4 }

// AppendBinary validates p and appends its encoding to b.
func (p *Puback) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Puback) validate() error { return checkAck(TypePuback, p.PacketID) }

func (p *Puback) appendUnchecked(b []byte) []byte { return appendAck(b, TypePuback, p.PacketID) }

// Decode decodes the PUBACK packet at the front of b into p and returns the
// number of bytes it took.
func (p *Puback) Decode(b []byte) (int, error) { return decodeInto(b, TypePuback, p) }

func (p *Puback) decode(flags byte, b []byte) (err error) {
	p.PacketID, err = decodeAck(TypePuback, flags, b)
	return err
}
