package packet

import "io"

// DefaultMaxPacketSize is the largest packet, fixed header included, that a
// Decoder or Reader accepts when no other limit is set: 1 MiB. The protocol
// allows up to 268,435,461 bytes; raise the limit for larger messages.
const DefaultMaxPacketSize = 1 << 20

// Decoder decodes packets from byte slices into storage it owns and reuses:
// each Decode overwrites the packet the previous Decode of the same type
// returned, and the byte fields of a decoded packet alias the input slice.
// Call Clone on a packet to keep it.
//
// The zero value is ready to use, with DefaultMaxPacketSize. A Decoder is not
// safe for concurrent use.
type Decoder struct {
	// MaxPacketSize is the largest packet accepted, fixed header included.
	// Zero or less means DefaultMaxPacketSize.
	MaxPacketSize int
	// MQTT31 reads the packets of an MQTT 3.1 client: PUBREL, SUBSCRIBE
	// and UNSUBSCRIBE may also carry the DUP flag (flags 1010), which 3.1
	// sets when it sends them again; 3.1.1 fixes their flags at 0010
	// [MQTT-3.6.1-1] [MQTT-3.8.1-1] [MQTT-3.10.1-1].
	MQTT31 bool

	connect     Connect
	connack     Connack
	publish     Publish
	puback      Puback
	pubrec      Pubrec
	pubrel      Pubrel
	pubcomp     Pubcomp
	subscribe   Subscribe
	suback      Suback
	unsubscribe Unsubscribe
	unsuback    Unsuback
	pingreq     Pingreq
	pingresp    Pingresp
	disconnect  Disconnect
}

func (d *Decoder) maxPacketSize() int {
	if d.MaxPacketSize <= 0 {
		return DefaultMaxPacketSize
	}
	return d.MaxPacketSize
}

// Decode decodes the packet at the front of b and returns it with the number
// of bytes it took. It returns io.ErrUnexpectedEOF if b ends inside the
// packet, and a *ProtocolError if the packet is malformed or larger than
// MaxPacketSize; the size is checked from the fixed header alone.
func (d *Decoder) Decode(b []byte) (Packet, int, error) {
	if len(b) == 0 {
		return nil, 0, io.ErrUnexpectedEOF
	}
	t, flags := Type(b[0]>>4), b[0]&0x0f
	if !t.Valid() {
		return nil, 0, errReservedType(t)
	}
	rl, size, err := consumeRemainingLength(b[1:])
	if err != nil {
		return nil, 0, withType(err, t)
	}
	end := 1 + size + rl
	if end > d.maxPacketSize() {
		return nil, 0, errTooLarge(t)
	}
	if len(b) < end {
		return nil, 0, io.ErrUnexpectedEOF
	}
	p, err := d.decodeBody(t, flags, b[1+size:end:end])
	if err != nil {
		return nil, 0, err
	}
	return p, end, nil
}

// dup31 returns the flags of a packet of type t with the DUP flag of
// MQTT 3.1 cleared, where d reads 3.1 and t is a type 3.1 lets a client
// send again with DUP (section 3.6.1 and its kin in 3.1).
func (d *Decoder) dup31(t Type, flags byte) byte {
	if d.MQTT31 && flags == 0b1010 && (t == TypePubrel || t == TypeSubscribe || t == TypeUnsubscribe) {
		return 0b0010
	}
	return flags
}

// decodeBody decodes the body of a packet of type t into d's storage.
func (d *Decoder) decodeBody(t Type, flags byte, body []byte) (Packet, error) {
	var p Packet
	switch t {
	case TypePublish: // the hot path, without dynamic dispatch
		if err := d.publish.decode(flags, body); err != nil {
			return nil, err
		}
		return &d.publish, nil
	case TypeConnect:
		p = &d.connect
	case TypeConnack:
		p = &d.connack
	case TypePuback:
		p = &d.puback
	case TypePubrec:
		p = &d.pubrec
	case TypePubrel:
		p = &d.pubrel
	case TypePubcomp:
		p = &d.pubcomp
	case TypeSubscribe:
		p = &d.subscribe
	case TypeSuback:
		p = &d.suback
	case TypeUnsubscribe:
		p = &d.unsubscribe
	case TypeUnsuback:
		p = &d.unsuback
	case TypePingreq:
		p = &d.pingreq
	case TypePingresp:
		p = &d.pingresp
	case TypeDisconnect:
		p = &d.disconnect
	default:
		return nil, errReservedType(t)
	}
	if err := p.decode(d.dup31(t, flags), body); err != nil {
		return nil, err
	}
	return p, nil
}

func errReservedType(t Type) error { return perr(t, "packet type", "2.2.1", ErrPacketType) }

func errTooLarge(t Type) error { return perr(t, "remaining length", "", ErrPacketTooLarge) }

// withType returns err, a remaining-length error, naming the packet type.
func withType(err error, t Type) error {
	if pe, ok := err.(*ProtocolError); ok {
		c := *pe
		c.Type = t
		return &c
	}
	return err
}
