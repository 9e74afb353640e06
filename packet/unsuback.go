package packet

// Unsuback is a UNSUBACK packet (section 3.11): the answer to an UNSUBSCRIBE.
type Unsuback struct {
	PacketID uint16 // the identifier of the UNSUBSCRIBE it answers [MQTT-3.10.4-4]
}

// Type returns TypeUnsuback.
func (*Unsuback) Type() Type { return TypeUnsuback }

// Size returns the length of the encoded packet: always 4.
func (*Unsuback) Size() int { return 4 }

// AppendBinary validates p and appends its encoding to b.
func (p *Unsuback) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Unsuback) validate() error { return checkAck(TypeUnsuback, p.PacketID) }

func (p *Unsuback) appendUnchecked(b []byte) []byte { return appendAck(b, TypeUnsuback, p.PacketID) }

// Decode decodes the UNSUBACK packet at the front of b into p and returns the
// number of bytes it took.
func (p *Unsuback) Decode(b []byte) (int, error) { return decodeInto(b, TypeUnsuback, p) }

func (p *Unsuback) decode(flags byte, b []byte) (err error) {
	p.PacketID, err = decodeAck(TypeUnsuback, flags, b)
	return err
}
