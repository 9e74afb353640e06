package session

import (
	"errors"
	"strconv"

	"github.com/petrel-mqtt/petrel/packet"
)

// Sentinel errors of the client.
var (
	// ErrInvalidConfig matches every *ConfigError.
	ErrInvalidConfig = errors.New("mqtt: invalid configuration")
	// ErrConnectionRefused matches every *ConnectError.
	ErrConnectionRefused = errors.New("mqtt: connection refused")
	// ErrNotConnected: the operation needs a connection and there is none.
	ErrNotConnected = errors.New("mqtt: not connected")
	// ErrAlreadyConnected: Connect was called on a connected Client.
	ErrAlreadyConnected = errors.New("mqtt: already connected")
	// ErrConnectionLost: the connection ended before the operation's outcome
	// was known. The error also wraps the cause.
	ErrConnectionLost = errors.New("mqtt: connection lost")
	// ErrDisconnected: the connection was closed by Disconnect.
	ErrDisconnected = errors.New("mqtt: disconnected")
	// ErrPingTimeout: the server did not answer PINGREQ in time.
	ErrPingTimeout = errors.New("mqtt: no PINGRESP from the server within the ping timeout")
	// ErrProtocolViolation: the server sent a packet the spec forbids it to
	// send, or one that does not fit the exchange in progress.
	ErrProtocolViolation = errors.New("mqtt: protocol violation by the server")
	// ErrTooLarge: a message over Config.MaxPacketSize, refused before it
	// is sent, or one the server kept refusing: it closed the connection
	// right after the message, time after time, as brokers do with a
	// packet over their size limit.
	ErrTooLarge = errors.New("mqtt: message too large")
	// ErrSubscriptionFailed matches every *SubscribeError.
	ErrSubscriptionFailed = errors.New("mqtt: subscription refused by the server")
)

// ConfigError reports a Config that New refuses, naming the field and, where
// the rule comes from the spec, its normative id.
type ConfigError struct {
	Field  string // e.g. "ClientID", "Will.Topic"
	Reason string // what is wrong, e.g. "must not be empty"
	Err    error  // the underlying error, if any
}

func (e *ConfigError) Error() string {
	s := "mqtt: invalid Config." + e.Field + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ConnectError is a CONNACK that refused the connection (section 3.2.2.3).
type ConnectError struct {
	Code packet.ConnectReturnCode
}

func (e *ConnectError) Error() string {
	return "mqtt: the server refused the connection: " + reason(e.Code) +
		" (CONNACK return code " + strconv.Itoa(int(e.Code)) + ")"
}

func reason(c packet.ConnectReturnCode) string {
	switch c {
	case packet.RefusedProtocolVersion:
		return "unacceptable protocol version: the server does not support MQTT 3.1.1"
	case packet.RefusedIdentifierRejected:
		return "identifier rejected: the server does not allow this ClientID"
	case packet.RefusedServerUnavailable:
		return "server unavailable"
	case packet.RefusedBadUserNameOrPassword:
		return "bad user name or password"
	case packet.RefusedNotAuthorized:
		return "not authorized"
	}
	return c.String()
}

// Is reports whether target is ErrConnectionRefused.
func (e *ConnectError) Is(target error) bool { return target == ErrConnectionRefused }

// SubscribeError reports the filters of a SUBSCRIBE that the server refused
// with return code 0x80 (Failure). The other filters of the same call were
// granted.
type SubscribeError struct {
	Filters []string
}

func (e *SubscribeError) Error() string {
	s := "mqtt: the server refused the subscription to "
	for i, f := range e.Filters {
		if i > 0 {
			s += ", "
		}
		s += strconv.Quote(f)
	}
	return s
}

// Is reports whether target is ErrSubscriptionFailed.
func (e *SubscribeError) Is(target error) bool { return target == ErrSubscriptionFailed }
