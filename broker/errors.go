package broker

import "errors"

// ErrServerClosed is returned by Serve and ServeWebSocket after Shutdown,
// and is the reason recorded for connections that Shutdown closes.
var ErrServerClosed = errors.New("mqtt: broker closed")

// Errors an Authenticator returns to refuse a client. Any other error
// refuses it with return code 3 (server unavailable) and is logged.
var (
	// ErrBadUsernameOrPassword refuses a connection with CONNACK return
	// code 4 (bad user name or password).
	ErrBadUsernameOrPassword = errors.New("mqtt: bad user name or password")
	// ErrNotAuthorized refuses a connection with CONNACK return code 5
	// (not authorized).
	ErrNotAuthorized = errors.New("mqtt: not authorized")
)

// Reasons a connection ends, as logged. They are not returned by the API.
var (
	errTakenOver      = errors.New("taken over by a new connection with the same client identifier [MQTT-3.1.4-2]")
	errKeepAlive      = errors.New("no packet within 1.5 times the keep alive [MQTT-3.1.2-24]")
	errConnectFirst   = errors.New("first packet is not CONNECT [MQTT-3.1.0-1]")
	errSecondConnect  = errors.New("second CONNECT [MQTT-3.1.0-2]")
	errServerPacket   = errors.New("client sent a packet type only a server sends [MQTT-4.8.0-1]")
	errDisconnected   = errors.New("client sent DISCONNECT")
	errRefused        = errors.New("connection refused")
	errClientIDOwned  = errors.New("the client identifier's session belongs to another identity")
	errPendingEvicted = errors.New("closed to make room: the oldest of Config.MaxPending connections that have not sent CONNECT")
)
