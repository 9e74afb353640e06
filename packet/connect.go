package packet

// Connect is a CONNECT packet (section 3.1), the client's first packet on a
// connection [MQTT-3.1.0-1]. It names protocol "MQTT" level 4, or, with
// MQTT31 set, the protocol of MQTT 3.1: "MQIsdp" level 3.
//
// The codec checks the wire rules only: an empty ClientID is legal on the
// wire (the server decides whether to accept it [MQTT-3.1.3-8]).
//
// A Connect filled by a Decoder or Reader aliases its input: its byte fields
// stay valid only until the next decode into the same storage. Use Clone to
// keep them.
type Connect struct {
	// MQTT31 marks the CONNECT of MQTT 3.1 (protocol name "MQIsdp", level
	// 3), whose rules a server applies to the connection: a ClientId of 1
	// to 23 bytes, no Session Present flag in CONNACK, no SUBACK failure
	// code. Its wire format is that of 3.1.1 but for the header; the
	// decoder applies 3.1's looser flag rules (see Decode).
	MQTT31 bool
	// Bridge marks a CONNECT whose protocol level has bit 0x80 set (0x84,
	// or 0x83 with MQTT31): Mosquitto's mark of a bridge (its
	// try_private), outside the specification. A Mosquitto server, and
	// Petrel's, then sends the connection back none of the messages it
	// published, and keeps the RETAIN flag of the messages it forwards.
	Bridge bool

	ClientID     []byte // UTF-8 string [MQTT-3.1.3-4]
	CleanSession bool
	KeepAlive    uint16 // seconds; 0 turns keepalive off

	WillFlag    bool   // the payload holds a will [MQTT-3.1.2-9]
	WillQoS     QoS    // 0 without WillFlag [MQTT-3.1.2-13]; never 3 [MQTT-3.1.2-14]
	WillRetain  bool   // false without WillFlag [MQTT-3.1.2-15]
	WillTopic   []byte // a topic name; empty without WillFlag [MQTT-3.1.2-11]
	WillMessage []byte // binary data; empty without WillFlag [MQTT-3.1.2-11]

	UsernameFlag bool   // the payload holds a user name [MQTT-3.1.2-19]
	Username     []byte // UTF-8 string [MQTT-3.1.3-11]; empty without UsernameFlag [MQTT-3.1.2-18]
	PasswordFlag bool   // only with UsernameFlag [MQTT-3.1.2-22]
	Password     []byte // binary data; empty without PasswordFlag [MQTT-3.1.2-20]
}

// protocolName is the Protocol Name field: "MQTT" as a UTF-8 string;
// protocolName31 is MQTT 3.1's, "MQIsdp".
const (
	protocolName   = "\x00\x04MQTT"
	protocolName31 = "\x00\x06MQIsdp"
)

// ProtocolLevel is the protocol level of MQTT 3.1.1; ProtocolLevel31 is
// that of MQTT 3.1, which names its protocol "MQIsdp".
const (
	ProtocolLevel   = 4
	ProtocolLevel31 = 3
)

// Connect flag bits (section 3.1.2.3).
const (
	connectReserved     = 1 << 0
	connectCleanSession = 1 << 1
	connectWill         = 1 << 2
	connectWillQoSShift = 3
	connectWillRetain   = 1 << 5
	connectPassword     = 1 << 6
	connectUsername     = 1 << 7
)

// Type returns TypeConnect.
func (*Connect) Type() Type { return TypeConnect }

// bridgeLevel is the bit of the protocol level that marks a bridge's
// CONNECT (Connect.Bridge).
const bridgeLevel = 0x80

// header returns the Protocol Name field and the level p names.
func (p *Connect) header() (string, byte) {
	name, level := protocolName, byte(ProtocolLevel)
	if p.MQTT31 {
		name, level = protocolName31, ProtocolLevel31
	}
	if p.Bridge {
		level |= bridgeLevel
	}
	return name, level
}

func (p *Connect) remainingLength() int {
	name, _ := p.header()
	n := len(name) + 1 + 1 + 2 + sizeBytes16(p.ClientID)
	if p.WillFlag {
		n += sizeBytes16(p.WillTopic) + sizeBytes16(p.WillMessage)
	}
	if p.UsernameFlag {
		n += sizeBytes16(p.Username)
	}
	if p.PasswordFlag {
		n += sizeBytes16(p.Password)
	}
	return n
}

// Size returns the length of the encoded packet.
func (p *Connect) Size() int {
	rl := p.remainingLength()
	return 1 + sizeRemainingLength(rl) + rl
}

func (p *Connect) flags() byte {
	f := byte(p.WillQoS&3) << connectWillQoSShift
	if p.CleanSession {
		f |= connectCleanSession
	}
	if p.WillFlag {
		f |= connectWill
	}
	if p.WillRetain {
		f |= connectWillRetain
	}
	if p.PasswordFlag {
		f |= connectPassword
	}
	if p.UsernameFlag {
		f |= connectUsername
	}
	return f
}

// AppendBinary validates p and appends its encoding to b.
func (p *Connect) AppendBinary(b []byte) ([]byte, error) {
	if err := p.validate(); err != nil {
		return b, err
	}
	return p.appendUnchecked(b), nil
}

func (p *Connect) validate() error {
	if err := checkWillFlags(p.WillFlag, p.WillQoS, p.WillRetain, p.PasswordFlag, p.UsernameFlag); err != nil {
		return err
	}
	if !p.WillFlag && (len(p.WillTopic) != 0 || len(p.WillMessage) != 0) {
		return perr(TypeConnect, "will", "MQTT-3.1.2-11", ErrConnectFlags)
	}
	if !p.UsernameFlag && len(p.Username) != 0 {
		return perr(TypeConnect, "user name", "MQTT-3.1.2-18", ErrConnectFlags)
	}
	if !p.PasswordFlag && len(p.Password) != 0 {
		return perr(TypeConnect, "password", "MQTT-3.1.2-20", ErrConnectFlags)
	}
	return p.checkFields()
}

// checkWillFlags applies the rules that tie the connect flags together.
func checkWillFlags(will bool, qos QoS, retain, password, username bool) error {
	switch {
	case !will && qos != QoS0:
		return perr(TypeConnect, "will QoS", "MQTT-3.1.2-13", ErrConnectFlags)
	case !will && retain:
		return perr(TypeConnect, "will retain", "MQTT-3.1.2-15", ErrConnectFlags)
	case qos > QoS2:
		return perr(TypeConnect, "will QoS", "MQTT-3.1.2-14", ErrQoS)
	case password && !username:
		return perr(TypeConnect, "password flag", "MQTT-3.1.2-22", ErrConnectFlags)
	}
	return nil
}

// checkFields validates the payload fields that are present.
func (p *Connect) checkFields() error {
	if err := checkString(TypeConnect, "client identifier", p.ClientID); err != nil {
		return err
	}
	if p.WillFlag {
		if err := checkTopicName(TypeConnect, "will topic", p.WillTopic); err != nil {
			return err
		}
		if err := checkBinary(TypeConnect, "will message", p.WillMessage); err != nil {
			return err
		}
	}
	if p.UsernameFlag {
		if err := checkString(TypeConnect, "user name", p.Username); err != nil {
			return err
		}
	}
	if p.PasswordFlag {
		return checkBinary(TypeConnect, "password", p.Password)
	}
	return nil
}

func (p *Connect) appendUnchecked(b []byte) []byte {
	rl := p.remainingLength()
	b = grow(b, 1+sizeRemainingLength(rl)+rl)
	b = appendHeader(b, TypeConnect, 0, rl)
	name, level := p.header()
	b = append(b, name...)
	b = append(b, level, p.flags(), byte(p.KeepAlive>>8), byte(p.KeepAlive))
	b = appendBytes16(b, p.ClientID)
	if p.WillFlag {
		b = appendBytes16(b, p.WillTopic)
		b = appendBytes16(b, p.WillMessage)
	}
	if p.UsernameFlag {
		b = appendBytes16(b, p.Username)
	}
	if p.PasswordFlag {
		b = appendBytes16(b, p.Password)
	}
	return b
}

// Decode decodes the CONNECT packet at the front of b into p and returns the
// number of bytes it took. Its byte fields alias b.
//
// It accepts protocol "MQTT" level 4 and protocol "MQIsdp" level 3 (MQTT
// 3.1, which sets MQTT31), each also with bit 0x80 set, Mosquitto's mark
// of a bridge (which sets Bridge). Either name with another level gives
// an error matching ErrProtocolLevel, which a server answers with CONNACK
// RefusedProtocolVersion [MQTT-3.1.2-2]; every other error means the
// connection is closed without CONNACK [MQTT-3.1.4-1].
//
// MQTT 3.1 has no reserved connect flag and no rule on the will QoS and
// retain flags without a will: for level 3 the decoder ignores the
// reserved bit and clears the will flags it does not use. As Mosquitto
// does for 3.1 clients, a user name or password whose flag is set but
// which is missing from the end of the payload is taken as absent.
func (p *Connect) Decode(b []byte) (int, error) {
	flags, body, n, err := consumeTyped(b, TypeConnect)
	if err == nil {
		err = p.decode(flags, body) // a static call: decodeInto's is dynamic
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

func (p *Connect) decode(flags byte, b []byte) error {
	if err := checkFlags(TypeConnect, flags); err != nil {
		return err
	}
	var name string
	switch {
	case len(b) >= len(protocolName) && string(b[:len(protocolName)]) == protocolName:
		name, p.MQTT31 = protocolName, false
	case len(b) >= len(protocolName31) && string(b[:len(protocolName31)]) == protocolName31:
		name, p.MQTT31 = protocolName31, true
	case len(b) < len(protocolName):
		return errShort(TypeConnect, "protocol name")
	default:
		return perr(TypeConnect, "protocol name", "MQTT-3.1.2-1", ErrProtocolName)
	}
	b = b[len(name):]
	if len(b) < 4 {
		return errShort(TypeConnect, "variable header")
	}
	p.Bridge = b[0]&bridgeLevel != 0
	if _, level := p.header(); b[0] != level {
		return perr(TypeConnect, "protocol level", "MQTT-3.1.2-2", ErrProtocolLevel)
	}
	f := b[1]
	if f&connectReserved != 0 && !p.MQTT31 {
		return perr(TypeConnect, "connect flags", "MQTT-3.1.2-3", ErrConnectFlags)
	}
	p.CleanSession = f&connectCleanSession != 0
	p.WillFlag = f&connectWill != 0
	p.WillQoS = QoS(f>>connectWillQoSShift) & 3
	p.WillRetain = f&connectWillRetain != 0
	p.PasswordFlag = f&connectPassword != 0
	p.UsernameFlag = f&connectUsername != 0
	if p.MQTT31 && !p.WillFlag && p.WillQoS <= QoS2 {
		p.WillQoS, p.WillRetain = QoS0, false
	}
	if err := checkWillFlags(p.WillFlag, p.WillQoS, p.WillRetain, p.PasswordFlag, p.UsernameFlag); err != nil {
		return err
	}
	p.KeepAlive = uint16(b[2])<<8 | uint16(b[3])
	b = b[4:]

	var ok bool
	if p.ClientID, b, ok = consumeField(b); !ok {
		return errShort(TypeConnect, "client identifier")
	}
	p.WillTopic, p.WillMessage, p.Username, p.Password = nil, nil, nil, nil
	if p.WillFlag {
		if p.WillTopic, b, ok = consumeField(b); !ok {
			return errShort(TypeConnect, "will topic")
		}
		if p.WillMessage, b, ok = consumeField(b); !ok {
			return errShort(TypeConnect, "will message")
		}
	}
	if p.UsernameFlag {
		if p.Username, b, ok = consumeField(b); !ok {
			if !p.MQTT31 || len(b) != 0 {
				return errShort(TypeConnect, "user name")
			}
			p.UsernameFlag, p.PasswordFlag = false, false
		}
	}
	if p.PasswordFlag {
		if p.Password, b, ok = consumeField(b); !ok {
			if !p.MQTT31 || len(b) != 0 {
				return errShort(TypeConnect, "password")
			}
			p.PasswordFlag = false
		}
	}
	if err := checkEnd(TypeConnect, b); err != nil {
		return err
	}
	return p.checkFields()
}

// consumeField is consumeBytes16 returning the rest of b.
func consumeField(b []byte) (v, rest []byte, ok bool) {
	v, n, ok := consumeBytes16(b)
	if !ok {
		return nil, b, false
	}
	return v, b[n:], true
}

// Clone returns a deep copy of p that shares no memory with it, made in one
// allocation for all its byte fields.
func (p *Connect) Clone() *Connect {
	c := *p
	buf := make([]byte, 0, len(p.ClientID)+len(p.WillTopic)+len(p.WillMessage)+len(p.Username)+len(p.Password))
	c.ClientID, buf = cloneInto(buf, p.ClientID)
	c.WillTopic, buf = cloneInto(buf, p.WillTopic)
	c.WillMessage, buf = cloneInto(buf, p.WillMessage)
	c.Username, buf = cloneInto(buf, p.Username)
	c.Password, _ = cloneInto(buf, p.Password)
	return &c
}

// cloneInto copies s to the end of buf, which has room for it, and returns
// the copy (nil if s is nil) and the extended buf.
func cloneInto(buf, s []byte) (c, rest []byte) {
	if s == nil {
		return nil, buf
	}
	n := len(buf)
	buf = append(buf, s...)
	return buf[n:len(buf):len(buf)], buf
}
