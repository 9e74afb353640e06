package packet

import (
	"errors"
	"strings"
)

// Sentinel errors. Every error the codec returns for bad input is a
// *ProtocolError whose Err is one of these, so callers can test the class of
// fault with errors.Is and recover the packet type, field and rule with
// errors.As.
var (
	// ErrMalformed matches every *ProtocolError except those caused by
	// ErrPacketTooLarge: the bytes break a rule of the MQTT 3.1.1 spec.
	ErrMalformed = errors.New("mqtt: malformed packet")

	// ErrPacketTooLarge means a packet exceeds the configured maximum packet
	// size, or an encoded packet would exceed the largest Remaining Length
	// (268,435,455 bytes).
	ErrPacketTooLarge = errors.New("mqtt: packet too large")

	ErrRemainingLength   = errors.New("mqtt: invalid remaining length")
	ErrPacketType        = errors.New("mqtt: reserved or unexpected packet type")
	ErrFlags             = errors.New("mqtt: invalid fixed header flags")
	ErrQoS               = errors.New("mqtt: invalid QoS")
	ErrDup               = errors.New("mqtt: DUP flag set on a QoS 0 PUBLISH")
	ErrPacketID          = errors.New("mqtt: packet identifier must be non-zero")
	ErrUTF8              = errors.New("mqtt: ill-formed UTF-8")
	ErrNullChar          = errors.New("mqtt: string contains U+0000")
	ErrFieldTooLong      = errors.New("mqtt: field longer than 65,535 bytes")
	ErrEmptyTopic        = errors.New("mqtt: empty topic")
	ErrWildcard          = errors.New("mqtt: wildcard in topic name")
	ErrFilter            = errors.New("mqtt: misplaced wildcard in topic filter")
	ErrNoFilters         = errors.New("mqtt: no topic filters")
	ErrRequestedQoS      = errors.New("mqtt: invalid requested QoS byte")
	ErrProtocolName      = errors.New("mqtt: protocol name is not MQTT")
	ErrProtocolLevel     = errors.New("mqtt: unsupported protocol level")
	ErrConnectFlags      = errors.New("mqtt: invalid connect flags")
	ErrConnackFlags      = errors.New("mqtt: invalid connect acknowledge flags")
	ErrReturnCode        = errors.New("mqtt: unknown return code")
	ErrTrailingBytes     = errors.New("mqtt: bytes left over after the packet's fields")
	ErrShortPacket       = errors.New("mqtt: field runs past the end of the packet")
	ErrMissingReturnCode = errors.New("mqtt: SUBACK without return codes")
)

// ProtocolError describes a packet that breaks a rule of MQTT 3.1.1, found
// while decoding or refused while encoding.
type ProtocolError struct {
	Type  Type   // packet type; 0 if the fault came before the type was known
	Field string // the offending field, e.g. "topic name" or "remaining length"
	Rule  string // normative id such as "MQTT-3.3.1-4", or a spec section such as "2.2.3"
	Err   error  // one of the sentinel errors of this package
}

// Error reads, for example, "mqtt: PUBLISH QoS: invalid QoS [MQTT-3.3.1-4]".
func (e *ProtocolError) Error() string {
	var b strings.Builder
	b.WriteString("mqtt: ")
	if e.Type != 0 {
		b.WriteString(e.Type.String())
		b.WriteByte(' ')
	}
	b.WriteString(e.Field)
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "mqtt: "))
	if strings.HasPrefix(e.Rule, "MQTT-") {
		b.WriteString(" [" + e.Rule + "]")
	} else if e.Rule != "" {
		b.WriteString(" (section " + e.Rule + ")")
	}
	return b.String()
}

// Unwrap returns the sentinel error.
func (e *ProtocolError) Unwrap() error { return e.Err }

// Is reports whether target is ErrMalformed and the fault is one of form
// rather than of size.
func (e *ProtocolError) Is(target error) bool {
	return target == ErrMalformed && e.Err != ErrPacketTooLarge
}

func perr(t Type, field, rule string, err error) error {
	return &ProtocolError{Type: t, Field: field, Rule: rule, Err: err}
}
