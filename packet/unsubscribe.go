package packet

// Unsubscribe is an UNSUBSCRIBE packet (section 3.10). Its fixed-header
// flags are 0010 [MQTT-3.10.1-1] and it carries at least one filter
// [MQTT-3.10.3-2].
//
// An Unsubscribe filled by a Decoder or Reader aliases its input: the
// filters stay valid only until the next decode into the same storage, which
// also reuses the Filters slice. Use Clone to keep them.
type Unsubscribe struct {
	PacketID uint16   // non-zero [MQTT-2.3.1-1]
	Filters  [][]byte // topic filters, compared by the server character for character
}

// Type returns TypeUnsubscribe.
func (*Unsubscribe) Type() Type { return TypeUnsubscribe }

func (p *Unsubscribe) remainingLength() int {
	n := 2
	for _, f := range p.Filters {
		n += sizeBytes16(f)
	}
	return n
}

// Size returns the length of the encoded packet.
func (p *Unsubscribe) Size() int {
	rl := p.remainingLength()
	return 1 + sizeRemainingLength(rl) + rl
}

// AppendBinary validates p and appends its encoding to b.
func (p *Unsubscribe) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Unsubscribe) validate() error {
	if err := checkAck(TypeUnsubscribe, p.PacketID); err != nil {
		return err
	}
	if len(p.Filters) == 0 {
		return perr(TypeUnsubscribe, "payload", "MQTT-3.10.3-2", ErrNoFilters)
	}
	for _, f := range p.Filters {
		if err := checkTopicFilter(TypeUnsubscribe, "topic filter", f); err != nil {
			return err
		}
	}
	return checkRemainingLength(TypeUnsubscribe, p.remainingLength())
}

func (p *Unsubscribe) appendUnchecked(b []byte) []byte {
	rl := p.remainingLength()
	b = grow(b, 1+sizeRemainingLength(rl)+rl)
	b = appendHeader(b, TypeUnsubscribe, requiredFlags[TypeUnsubscribe], rl)
	b = appendUint16(b, p.PacketID)
	for _, f := range p.Filters {
		b = appendBytes16(b, f)
	}
	return b
}

// Decode decodes the UNSUBSCRIBE packet at the front of b into p and
// returns the number of bytes it took. The filters alias b; p.Filters is
// reused.
func (p *Unsubscribe) Decode(b []byte) (int, error) { return decodeInto(b, TypeUnsubscribe, p) }

func (p *Unsubscribe) decode(flags byte, b []byte) error {
	if err := checkFlags(TypeUnsubscribe, flags); err != nil {
		return err
	}
	id, ok := consumeUint16(b)
	if !ok {
		return errShort(TypeUnsubscribe, "packet identifier")
	}
	if err := checkAck(TypeUnsubscribe, id); err != nil {
		return err
	}
	p.PacketID, b = id, b[2:]
	p.Filters = p.Filters[:0]
	if len(b) == 0 {
		return perr(TypeUnsubscribe, "payload", "MQTT-3.10.3-2", ErrNoFilters)
	}
	for len(b) > 0 {
		f, n, ok := consumeBytes16(b)
		if !ok {
			return errShort(TypeUnsubscribe, "topic filter")
		}
		if err := checkTopicFilter(TypeUnsubscribe, "topic filter", f); err != nil {
			return err
		}
		p.Filters = append(p.Filters, f)
		b = b[n:]
	}
	return nil
}

// Clone returns a deep copy of p that shares no memory with it.
func (p *Unsubscribe) Clone() *Unsubscribe {
	n := 0
	for _, f := range p.Filters {
		n += len(f)
	}
	buf := make([]byte, 0, n)
	c := &Unsubscribe{PacketID: p.PacketID, Filters: make([][]byte, len(p.Filters))}
	for i, f := range p.Filters {
		c.Filters[i], buf = cloneInto(buf, f)
	}
	return c
}
