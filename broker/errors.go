package broker

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/petrel-mqtt/petrel/packet"
)

// ErrServerClosed is returned by Serve and ServeWebSocket after Shutdown,
// and is the reason recorded for connections that Shutdown closes.
var ErrServerClosed = errors.New("mqtt: broker closed")

// Errors an Authenticator returns to refuse a client. Any other error
// refuses it with return code 3 (server unavailable) and is logged.
//
// MQTT 3.1.1 gives return code 4 to "the data in the user name or
// password is malformed" and 5 to "the Client is not authorized to
// connect" (Table 3.1); Mosquitto answers a wrong password with 5, and so
// does Petrel: clients and their users read 5 as "not authorized". MQTT 5
// names the same refusal 0x86 "Bad User Name or Password", hence the name
// of the sentinel.
var (
	// ErrBadUsernameOrPassword refuses a connection whose user name or
	// password is wrong (unknown user, wrong password, none given where
	// one is needed) with CONNACK return code 5 (not authorized).
	ErrBadUsernameOrPassword = errors.New("mqtt: bad user name or password")
	// ErrNotAuthorized refuses a connection with CONNACK return code 5
	// (not authorized): the client is known but may not connect.
	ErrNotAuthorized = errors.New("mqtt: not authorized")
	// ErrMalformedCredentials refuses a connection whose user name or
	// password cannot be a credential at all (a user name that is not
	// in the form the Authenticator expects, say) with CONNACK return code
	// 4, which 3.1.1 keeps for malformed data.
	ErrMalformedCredentials = errors.New("mqtt: malformed user name or password")
)

// wrongAckError is an acknowledgement that does not fit the QoS flow of
// the message it names: a PUBACK for QoS 2, a PUBREC or PUBCOMP for QoS 1,
// a PUBCOMP before PUBREL. The broker closes the connection
// [MQTT-4.8.0-1].
type wrongAckError struct {
	got      packet.Type
	id       uint16
	qos      packet.QoS
	released bool
}

func (e *wrongAckError) Error() string {
	want := "PUBACK"
	switch {
	case e.qos == packet.QoS2 && e.released:
		want = "PUBCOMP"
	case e.qos == packet.QoS2:
		want = "PUBREC"
	}
	return fmt.Sprintf("%v for packet identifier %d, a QoS %d message that awaits %s [MQTT-4.3.2-1] [MQTT-4.3.3-1]",
		e.got, e.id, e.qos, want)
}

// maxLevels is the most levels a topic can have: 65,535 bytes, all '/'.
const maxLevels = 65535 + 1

// levelsError is a topic name or filter deeper than Config.MaxTopicLevels,
// which closes the connection.
type levelsError struct {
	what string // "topic name", "topic filter", "will topic"
	max  int
}

func (e *levelsError) Error() string {
	return fmt.Sprintf("%s of more than %d levels (Config.MaxTopicLevels)", e.what, e.max)
}

// checkLevels returns a *levelsError if topic has more than max levels.
func checkLevels(what string, topic []byte, max int) error {
	if len(topic) < max { // n bytes hold at most n+1 levels
		return nil
	}
	if bytes.Count(topic, slash)+1 > max {
		return &levelsError{what: what, max: max}
	}
	return nil
}

var slash = []byte{'/'}

// Reasons a connection ends, as logged. They are not returned by the API.
var (
	errTakenOver       = errors.New("taken over by a new connection with the same client identifier [MQTT-3.1.4-2]")
	errKeepAlive       = errors.New("no packet within 1.5 times the keep alive [MQTT-3.1.2-24]")
	errConnectFirst    = errors.New("first packet is not CONNECT [MQTT-3.1.0-1]")
	errSecondConnect   = errors.New("second CONNECT [MQTT-3.1.0-2]")
	errServerPacket    = errors.New("client sent a packet type only a server sends [MQTT-4.8.0-1]")
	errDisconnected    = errors.New("client sent DISCONNECT")
	errRefused         = errors.New("connection refused")
	errClientIDOwned   = errors.New("the client identifier's session belongs to another identity")
	errTooManySessions = errors.New("a new persistent session would exceed Config.MaxSessions, and every persistent session has a client")
	errPendingEvicted  = errors.New("closed to make room: the oldest of Config.MaxPending connections that have not sent CONNECT")
)
