package transport

import (
	"errors"
	"fmt"
	"strings"
)

// ErrTLSVersion is wrapped by the error Dial returns for a *tls.Config that
// allows a protocol version older than TLS 1.2.
var ErrTLSVersion = errors.New("mqtt: TLS versions before 1.2 are not allowed")

// ErrNotTLS is wrapped by the error Dial returns when the TLS handshake
// ended as it does against a server that does not speak TLS, a plain MQTT
// port: the server closed the connection on the ClientHello, or answered
// with bytes that are not TLS.
var ErrNotTLS = errors.New("mqtt: the server does not speak TLS")

// AddressError reports a broker address that Dial, ParseAddress or Address
// cannot use, and names the part at fault.
type AddressError struct {
	Address string // the address as given
	Part    string // "scheme", "host", "port", "path", "query", "fragment" or "user info"
	Reason  string // what is wrong with that part
	Err     error  // the underlying error, if any (from net/url or strconv)
}

// Error reads, for example,
// `mqtt: address "foo://h": bad scheme: unknown scheme "foo" (want tcp, mqtt, ssl, tls, mqtts, ws or wss)`.
func (e *AddressError) Error() string {
	return fmt.Sprintf("mqtt: address %q: bad %s: %s", e.Address, e.Part, e.Reason)
}

// Unwrap returns the underlying error, or nil.
func (e *AddressError) Unwrap() error { return e.Err }

// DialError reports a failed step of setting up a connection: the TCP
// connect, the proxy's exchange (HTTP CONNECT or SOCKS5), the TLS
// handshake or the WebSocket upgrade. When the set-up deadline passed or
// the context was cancelled, Err matches context.DeadlineExceeded or
// context.Canceled with errors.Is. A failed server certificate
// verification wraps the crypto/x509 error (x509.HostnameError,
// x509.UnknownAuthorityError, x509.CertificateInvalidError), which
// errors.As recovers.
type DialError struct {
	Address string // the broker address given to Dial
	Op      string // "tls config", "connect", "proxy", "tls handshake" or "websocket handshake"
	Err     error
}

// Error reads, for example,
// "mqtt: dial mqtts://h:8883: tls handshake: tls: failed to verify certificate: x509: certificate signed by unknown authority".
func (e *DialError) Error() string {
	return "mqtt: dial " + e.Address + ": " + e.Op + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *DialError) Unwrap() error { return e.Err }

// HandshakeError reports a WebSocket upgrade response that the client
// refuses (RFC 6455 section 4.1, MQTT 3.1.1 section 6).
type HandshakeError struct {
	StatusCode int    // the HTTP status code of the response, 0 if none was read
	Status     string // e.g. "404 Not Found"
	Reason     string // what is wrong
	Rule       string // "MQTT-6.0.0-4", or an RFC 6455 section such as "4.1"
}

// Error reads, for example,
// `mqtt: websocket handshake: server selected subprotocol "", want "mqtt" [MQTT-6.0.0-4]`.
func (e *HandshakeError) Error() string {
	return "mqtt: websocket handshake: " + e.Reason + ruleSuffix(e.Rule)
}

// FrameError reports a WebSocket frame from the server that breaks RFC 6455
// or MQTT 3.1.1 section 6. The connection is closed when it is returned.
type FrameError struct {
	Reason string // what is wrong, e.g. "text data frame"
	Rule   string // "MQTT-6.0.0-1", or an RFC 6455 section such as "5.2"
}

// Error reads, for example,
// "mqtt: websocket: text data frame; MQTT needs binary frames [MQTT-6.0.0-1]".
func (e *FrameError) Error() string {
	return "mqtt: websocket: " + e.Reason + ruleSuffix(e.Rule)
}

// CloseError is returned by Read when the server closed the WebSocket with a
// status other than normal closure (1000), going away (1001) or none
// (RFC 6455 section 7.4). After a normal close Read returns io.EOF.
type CloseError struct {
	Code   uint16 // status code from the close frame
	Reason string // reason text from the close frame, possibly empty
}

// Error reads, for example,
// "mqtt: websocket closed by the server with status 1011: internal error".
func (e *CloseError) Error() string {
	s := fmt.Sprintf("mqtt: websocket closed by the server with status %d", e.Code)
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

func ruleSuffix(rule string) string {
	switch {
	case rule == "":
		return ""
	case strings.HasPrefix(rule, "MQTT-"):
		return " [" + rule + "]"
	default:
		return " (RFC 6455 section " + rule + ")"
	}
}
