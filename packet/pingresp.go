package packet

// Pingresp is a PINGRESP packet (section 3.13): the server's answer to PINGREQ.
type Pingresp struct{}

// Type returns TypePingresp.
func (*Pingresp) Type() Type { return TypePingresp }

// Size returns the length of the encoded packet: always 2.
func (*Pingresp) Size() int { return 2 }

// AppendBinary appends the encoding of p to b; it never fails.
func (p *Pingresp) AppendBinary(b []byte) ([]byte, error) { return p.appendUnchecked(b), nil }

func (*Pingresp) validate() error { return nil }

func (*Pingresp) appendUnchecked(b []byte) []byte { return append(b, byte(TypePingresp)<<4, 0) }

// Decode decodes the PINGRESP packet at the front of b and returns the number
// of bytes it took.
func (p *Pingresp) Decode(b []byte) (int, error) { return decodeInto(b, TypePingresp, p) }

func (*Pingresp) decode(flags byte, b []byte) error {
	if err := checkFlags(TypePingresp, flags); err != nil {
		return err
	}
	return checkFixedLength(TypePingresp, len(b))
}
