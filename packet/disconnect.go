package packet

// Disconnect is a DISCONNECT packet (section 3.14): the client's last packet on a connection; the
// server then discards the will [MQTT-3.14.4-3].
type Disconnect struct{}

// Type returns TypeDisconnect.
func (*Disconnect) Type() Type { return TypeDisconnect }

// Size returns the length of the encoded packet: always 2.
func (*Disconnect) Size() int { return 2 }

// AppendBinary appends the encoding of p to b; it never fails.
func (p *Disconnect) AppendBinary(b []byte) ([]byte, error) { return p.appendUnchecked(b), nil }

func (*Disconnect) validate() error { return nil }

func (*Disconnect) appendUnchecked(b []byte) []byte { return append(b, byte(TypeDisconnect)<<4, 0) }

// Decode decodes the DISCONNECT packet at the front of b and returns the number
// of bytes it took.
func (p *Disconnect) Decode(b []byte) (int, error) { return decodeInto(b, TypeDisconnect, p) }

func (*Disconnect) decode(flags byte, b []byte) error {
	if err := checkFlags(TypeDisconnect, flags); err != nil {
		return err
	}
	return checkFixedLength(TypeDisconnect, len(b))
}
