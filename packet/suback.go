package packet

import "strconv"

// SubackCode is one return code of a SUBACK (section 3.9.3): the QoS granted
// to a filter, or Failure.
type SubackCode byte

// The SUBACK return codes [MQTT-3.9.3-2].
const (
	GrantedQoS0 SubackCode = 0x00
	GrantedQoS1 SubackCode = 0x01
	GrantedQoS2 SubackCode = 0x02
	Failure     SubackCode = 0x80
)

// Valid reports whether c is one of the four codes MQTT 3.1.1 allows.
func (c SubackCode) Valid() bool { return c <= GrantedQoS2 || c == Failure }

// Granted returns the QoS the code grants and ok false for Failure (or an
// invalid code).
func (c SubackCode) Granted() (q QoS, ok bool) { return QoS(c), c <= GrantedQoS2 }

// String returns "granted QoS n", "failure" or "invalid(0xNN)".
func (c SubackCode) String() string {
	switch {
	case c <= GrantedQoS2:
		return "granted " + QoS(c).String()
	case c == Failure:
		return "failure"
	}
	return "invalid(0x" + strconv.FormatUint(uint64(c), 16) + ")"
}

// Suback is a SUBACK packet (section 3.9), the answer to a SUBSCRIBE: one
// return code per filter, in the order of the filters [MQTT-3.9.3-1].
//
// Decoding into a Suback reuses its ReturnCodes slice.
type Suback struct {
	PacketID    uint16 // the identifier of the SUBSCRIBE it answers [MQTT-3.8.4-2]
	ReturnCodes []SubackCode
}

// Type returns TypeSuback.
func (*Suback) Type() Type { return TypeSuback }

func (p *Suback) remainingLength() int { return 2 + len(p.ReturnCodes) }

// Size returns the length of the encoded packet.
func (p *Suback) Size() int {
	rl := p.remainingLength()
	return 1 + sizeRemainingLength(rl) + rl
}

// AppendBinary validates p and appends its encoding to b.
func (p *Suback) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Suback) validate() error {
	if err := checkAck(TypeSuback, p.PacketID); err != nil {
		return err
	}
	return checkReturnCodes(p.ReturnCodes)
}

func checkReturnCodes(codes []SubackCode) error {
	if len(codes) == 0 {
		return perr(TypeSuback, "payload", "MQTT-3.8.4-5", ErrMissingReturnCode)
	}
	for _, c := range codes {
		if !c.Valid() {
			return perr(TypeSuback, "return code", "MQTT-3.9.3-2", ErrReturnCode)
		}
	}
	return checkRemainingLength(TypeSuback, 2+len(codes))
}

func (p *Suback) appendUnchecked(b []byte) []byte {
	rl := p.remainingLength()
	b = grow(b, 1+sizeRemainingLength(rl)+rl)
	b = appendHeader(b, TypeSuback, 0, rl)
	b = appendUint16(b, p.PacketID)
	for _, c := range p.ReturnCodes {
		b = append(b, byte(c))
	}
	return b
}

// Decode decodes the SUBACK packet at the front of b into p and returns the
// number of bytes it took.
func (p *Suback) Decode(b []byte) (int, error) { return decodeInto(b, TypeSuback, p) }

func (p *Suback) decode(flags byte, b []byte) error {
	if err := checkFlags(TypeSuback, flags); err != nil {
		return err
	}
	id, ok := consumeUint16(b)
	if !ok {
		return errShort(TypeSuback, "packet identifier")
	}
	if err := checkAck(TypeSuback, id); err != nil {
		return err
	}
	p.PacketID = id
	p.ReturnCodes = p.ReturnCodes[:0]
	for _, c := range b[2:] {
		p.ReturnCodes = append(p.ReturnCodes, SubackCode(c))
	}
	return checkReturnCodes(p.ReturnCodes)
}
