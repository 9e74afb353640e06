package packet

import "io"

// Packet is one MQTT control packet. The fourteen types of this package are
// its only implementations; all use pointer receivers.
type Packet interface {
	// Type returns the packet's control packet type.
	Type() Type
	// Size returns the length of the encoded packet, fixed header included.
	Size() int
	// AppendBinary validates the packet and appends its encoding to b. It
	// refuses, with a *ProtocolError, any packet that this package's
	// decoder would reject, and then returns b unchanged.
	AppendBinary(b []byte) ([]byte, error)
	// Decode decodes the packet at the front of b, which must be of this
	// packet's type, into the packet, and returns the number of bytes it
	// took. Byte fields alias b.
	Decode(b []byte) (int, error)

	validate() error
	appendUnchecked(b []byte) []byte
	decode(flags byte, body []byte) error
}

// New returns a new zero packet of type t, or nil if t is reserved.
func New(t Type) Packet {
	switch t {
	case TypeConnect:
		return new(Connect)
	case TypeConnack:
		return new(Connack)
	case TypePublish:
		return new(Publish)
	case TypePuback:
		return new(Puback)
	case TypePubrec:
		return new(Pubrec)
	case TypePubrel:
		return new(Pubrel)
	case TypePubcomp:
		return new(Pubcomp)
	case TypeSubscribe:
		return new(Subscribe)
	case TypeSuback:
		return new(Suback)
	case TypeUnsubscribe:
		return new(Unsubscribe)
	case TypeUnsuback:
		return new(Unsuback)
	case TypePingreq:
		return new(Pingreq)
	case TypePingresp:
		return new(Pingresp)
	case TypeDisconnect:
		return new(Disconnect)
	}
	return nil
}

// Append appends the encoding of p to b. Unlike p.AppendBinary, it skips
// validation when allowInvalid is set: conformance tools use it to send
// malformed packets on purpose. Fields whose values cannot be represented
// (a string longer than 65,535 bytes, a Remaining Length beyond
// MaxRemainingLength) produce bytes that no peer can decode.
func Append(b []byte, p Packet, allowInvalid bool) ([]byte, error) {
	if !allowInvalid {
		if err := p.validate(); err != nil {
			return b, err
		}
	}
	return p.appendUnchecked(b), nil
}

// appendHeader appends the fixed header: type and flags, then the
// Remaining Length rl.
func appendHeader(b []byte, t Type, flags byte, rl int) []byte {
	return appendRemainingLength(append(b, byte(t)<<4|flags), rl)
}

// checkRemainingLength refuses an encoding whose Remaining Length would not
// fit in four bytes.
func checkRemainingLength(t Type, rl int) error {
	if rl > MaxRemainingLength {
		return perr(t, "remaining length", "2.2.3", ErrPacketTooLarge)
	}
	return nil
}

// consumeHeader decodes the fixed header at the front of b. It returns
// io.ErrUnexpectedEOF if b ends inside the fixed header or the body.
func consumeHeader(b []byte) (t Type, flags byte, body []byte, n int, err error) {
	if len(b) == 0 {
		return 0, 0, nil, 0, io.ErrUnexpectedEOF
	}
	t, flags = Type(b[0]>>4), b[0]&0x0f
	if len(b) >= 2 && b[1] < 0x80 { // a one-byte Remaining Length
		end := 2 + int(b[1])
		if len(b) < end {
			return t, flags, nil, 0, io.ErrUnexpectedEOF
		}
		return t, flags, b[2:end:end], end, nil
	}
	rl, size, err := consumeRemainingLength(b[1:])
	if err != nil {
		return t, flags, nil, 0, withType(err, t)
	}
	end := 1 + size + rl
	if len(b) < end {
		return t, flags, nil, 0, io.ErrUnexpectedEOF
	}
	return t, flags, b[1+size : end : end], end, nil
}

// consumeTyped decodes the fixed header at the front of b, which must be of
// type want, and returns the flags, the body and the packet's length.
func consumeTyped(b []byte, want Type) (flags byte, body []byte, n int, err error) {
	t, flags, body, n, err := consumeHeader(b)
	if err == nil && t != want {
		err = perr(t, "packet type", "2.2.1", ErrPacketType)
	}
	return flags, body, n, err
}

// decodeInto decodes the packet at the front of b into p, which must be of
// type want, and returns the number of bytes it took. The hot types call
// consumeTyped and their decode method directly instead.
func decodeInto(b []byte, want Type, p Packet) (int, error) {
	flags, body, n, err := consumeTyped(b, want)
	if err == nil {
		err = p.decode(flags, body)
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// checkEnd refuses bytes left over after a packet's last field.
func checkEnd(t Type, rest []byte) error {
	if len(rest) != 0 {
		return perr(t, "remaining length", "2.2.3", ErrTrailingBytes)
	}
	return nil
}

func errShort(t Type, field string) error {
	return perr(t, field, "2.2.3", ErrShortPacket)
}
