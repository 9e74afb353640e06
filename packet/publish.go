package packet

// Publish is a PUBLISH packet (section 3.3), which carries an application
// message in either direction.
//
// A Publish filled by a Decoder or Reader aliases its input: Topic and
// Payload stay valid only until the next decode into the same storage. Use
// Clone to keep them.
type Publish struct {
	Dup      bool   // re-delivery of an earlier attempt [MQTT-3.3.1-1]; never with QoS 0
	QoS      QoS    // 0, 1 or 2
	Retain   bool   // the server keeps the message for future subscribers
	Topic    []byte // the topic name: UTF-8 without wildcards
	PacketID uint16 // non-zero for QoS 1 and 2; absent from the wire for QoS 0 [MQTT-2.3.1-5]
	Payload  []byte // the application message, any bytes
}

// Type returns TypePublish.
func (*Publish) Type() Type { return TypePublish }

func (p *Publish) remainingLength() int {
	n := 2 + len(p.Topic) + len(p.Payload)
	if p.QoS != QoS0 {
		n += 2
	}
	return n
}

// Size returns the length of the encoded packet.
func (p *Publish) Size() int {
	rl := p.remainingLength()
	return 1 + sizeRemainingLength(rl) + rl
}

func (p *Publish) flags() byte {
	f := byte(p.QoS&3) << 1
	if p.Dup {
		f |= 0b1000
	}
	if p.Retain {
		f |= 0b0001
	}
	return f
}

// AppendBinary validates p and appends its encoding to b.
func (p *Publish) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Publish) validate() error {
	if p.QoS > QoS2 {
		return perr(TypePublish, "QoS", "MQTT-3.3.1-4", ErrQoS)
	}
	if p.Dup && p.QoS == QoS0 {
		return perr(TypePublish, "DUP", "MQTT-3.3.1-2", ErrDup)
	}
	if p.QoS != QoS0 && p.PacketID == 0 {
		return perr(TypePublish, "packet identifier", "MQTT-2.3.1-1", ErrPacketID)
	}
	if err := checkTopicName(TypePublish, "topic name", p.Topic); err != nil {
		return err
	}
	return checkRemainingLength(TypePublish, p.remainingLength())
}

func (p *Publish) appendUnchecked(b []byte) []byte {
	b = grow(b, p.Size())
	return append(p.appendPrefix(b), p.Payload...)
}

// AppendPrefix validates p and appends its encoding without the payload:
// the fixed header, the topic name and the packet identifier. Written
// before p.Payload, as one vectored write (net.Buffers), it sends a large
// payload without copying it.
func (p *Publish) AppendPrefix(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendPrefix(b), nil
}

// appendPrefix appends everything but the payload: the fixed header, the
// topic name and the packet identifier.
func (p *Publish) appendPrefix(b []byte) []byte {
	b = appendHeader(b, TypePublish, p.flags(), p.remainingLength())
	b = appendBytes16(b, p.Topic)
	if p.QoS != QoS0 {
		b = appendUint16(b, p.PacketID)
	}
	return b
}

// Decode decodes the PUBLISH packet at the front of b into p and returns the
// number of bytes it took. Topic and Payload alias b.
func (p *Publish) Decode(b []byte) (int, error) {
	flags, body, n, err := consumeTyped(b, TypePublish)
	if err == nil {
		err = p.decode(flags, body) // a static call: decodeInto's is dynamic
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (p *Publish) decode(flags byte, b []byte) error {
	p.Dup = flags&0b1000 != 0
	p.QoS = QoS(flags>>1) & 3
	p.Retain = flags&0b0001 != 0
	if p.QoS > QoS2 {
		return perr(TypePublish, "QoS", "MQTT-3.3.1-4", ErrQoS)
	}
	if p.Dup && p.QoS == QoS0 {
		return perr(TypePublish, "DUP", "MQTT-3.3.1-2", ErrDup)
	}
	topic, n, ok := consumeBytes16(b)
	if !ok {
		return errShort(TypePublish, "topic name")
	}
	// checkTopicName, with its common case inline; the length prefix
	// already bounds the topic to 65,535 bytes.
	if len(topic) == 0 || !plainTopic(topic) {
		if err := checkTopicNameSlow(TypePublish, "topic name", topic); err != nil {
			return err
		}
	}
	p.Topic, b = topic, b[n:]
	p.PacketID = 0
	if p.QoS != QoS0 {
		id, ok := consumeUint16(b)
		if !ok {
			return errShort(TypePublish, "packet identifier")
		}
		if id == 0 {
			return perr(TypePublish, "packet identifier", "MQTT-2.3.1-1", ErrPacketID)
		}
		p.PacketID, b = id, b[2:]
	}
	p.Payload = b
	return nil
}

// Clone returns a deep copy of p that shares no memory with it, made in one
// allocation for the topic and payload.
func (p *Publish) Clone() *Publish {
	c := *p
	buf := make([]byte, 0, len(p.Topic)+len(p.Payload))
	c.Topic, buf = cloneInto(buf, p.Topic)
	c.Payload, _ = cloneInto(buf, p.Payload)
	return &c
}
