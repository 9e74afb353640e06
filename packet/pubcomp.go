package packet

// Pubcomp is a PUBCOMP packet (section 3.7): the answer to a PUBREL, which completes a QoS 2
// flow.
type Pubcomp struct {
	PacketID uint16 // the identifier of the QoS 2 flow it completes
}

// Type returns TypePubcomp.
func (*Pubcomp) Type() Type { return TypePubcomp }

// Size returns the length of the encoded packet: always 4.
func (*Pubcomp) Size() int { return 4 }

// AppendBinary validates p and appends its encoding to b.
func (p *Pubcomp) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Pubcomp) validate() error { return checkAck(TypePubcomp, p.PacketID) }

func (p *Pubcomp) appendUnchecked(b []byte) []byte { return appendAck(b, TypePubcomp, p.PacketID) }

// Decode decodes the PUBCOMP packet at the front of b into p and returns the
// number of bytes it took.
func (p *Pubcomp) Decode(b []byte) (int, error) { return decodeInto(b, TypePubcomp, p) }

func (p *Pubcomp) decode(flags byte, b []byte) (err error) {
	p.PacketID, err = decodeAck(TypePubcomp, flags, b)
	return err
}
