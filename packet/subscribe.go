package packet

// Subscription is one topic filter of a SUBSCRIBE with its requested QoS.
type Subscription struct {
	Filter []byte // a topic filter: UTF-8, '+' and '#' only as whole levels
	QoS    QoS    // the maximum QoS the client asks for
}

// Subscribe is a SUBSCRIBE packet (section 3.8). Its fixed-header flags are
// 0010 [MQTT-3.8.1-1] and it carries at least one filter [MQTT-3.8.3-3].
//
// A Subscribe filled by a Decoder or Reader aliases its input: the filters
// stay valid only until the next decode into the same storage, which also
// reuses the Filters slice. Use Clone to keep them.
type Subscribe struct {
	PacketID uint16 // non-zero [MQTT-2.3.1-1]
	Filters  []Subscription
}

// Type returns TypeSubscribe.
func (*Subscribe) Type() Type { return TypeSubscribe }

func (p *Subscribe) remainingLength() int {
	n := 2
	for i := range p.Filters {
		n += sizeBytes16(p.Filters[i].Filter) + 1
	}
	return n
}

// Size returns the length of the encoded packet.
func (p *Subscribe) Size() int {
	rl := p.remainingLength()
	return 1 + sizeRemainingLength(rl) + rl
}

// AppendBinary validates p and appends its encoding to b.
func (p *Subscribe) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Subscribe) validate() error {
	if err := checkAck(TypeSubscribe, p.PacketID); err != nil {
		return err
	}
	if len(p.Filters) == 0 {
		return perr(TypeSubscribe, "payload", "MQTT-3.8.3-3", ErrNoFilters)
	}
	for i := range p.Filters {
		if err := checkTopicFilter(TypeSubscribe, "topic filter", p.Filters[i].Filter); err != nil {
			return err
		}
		if p.Filters[i].QoS > QoS2 {
			return perr(TypeSubscribe, "requested QoS", "MQTT-3.8.3-4", ErrRequestedQoS)
		}
	}
	return checkRemainingLength(TypeSubscribe, p.remainingLength())
}

func (p *Subscribe) appendUnchecked(b []byte) []byte {
	rl := p.remainingLength()
	b = grow(b, 1+sizeRemainingLength(rl)+rl)
	b = appendHeader(b, TypeSubscribe, requiredFlags[TypeSubscribe], rl)
	b = appendUint16(b, p.PacketID)
	for i := range p.Filters {
		b = appendBytes16(b, p.Filters[i].Filter)
		b = append(b, byte(p.Filters[i].QoS))
	}
	return b
}

// Decode decodes the SUBSCRIBE packet at the front of b into p and returns
// the number of bytes it took. The filters alias b; p.Filters is reused.
func (p *Subscribe) Decode(b []byte) (int, error) { return decodeInto(b, TypeSubscribe, p) }

func (p *Subscribe) decode(flags byte, b []byte) error {
	if err := checkFlags(TypeSubscribe, flags); err != nil {
		return err
	}
	id, ok := consumeUint16(b)
	if !ok {
		return errShort(TypeSubscribe, "packet identifier")
	}
	if err := checkAck(TypeSubscribe, id); err != nil {
		return err
	}
	p.PacketID, b = id, b[2:]
	p.Filters = p.Filters[:0]
	if len(b) == 0 {
		return perr(TypeSubscribe, "payload", "MQTT-3.8.3-3", ErrNoFilters)
	}
	for len(b) > 0 {
		f, n, ok := consumeBytes16(b)
		if !ok || n == len(b) {
			return errShort(TypeSubscribe, "topic filter")
		}
		if err := checkTopicFilter(TypeSubscribe, "topic filter", f); err != nil {
			return err
		}
		q := b[n]
		if q > byte(QoS2) {
			return perr(TypeSubscribe, "requested QoS", "MQTT-3.8.3-4", ErrRequestedQoS)
		}
		p.Filters = append(p.Filters, Subscription{Filter: f, QoS: QoS(q)})
		b = b[n+1:]
	}
	return nil
}

// Clone returns a deep copy of p that shares no memory with it.
func (p *Subscribe) Clone() *Subscribe {
	n := 0
	for i := range p.Filters {
		n += len(p.Filters[i].Filter)
	}
	buf := make([]byte, 0, n)
	c := &Subscribe{PacketID: p.PacketID, Filters: make([]Subscription, len(p.Filters))}
	for i, s := range p.Filters {
		c.Filters[i].QoS = s.QoS
		c.Filters[i].Filter, buf = cloneInto(buf, s.Filter)
	}
	return c
}
