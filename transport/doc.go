// Package transport opens the network connection that carries MQTT: plain
// TCP, TLS, WebSocket or WebSocket over TLS, optionally through an HTTP
// CONNECT proxy or a SOCKS5 proxy (RFC 1928, with RFC 1929's
// username/password authentication). It knows nothing about MQTT
// packets; it returns a net.Conn that carries them, and the session layer
// does the rest.
//
// A broker address is a URL whose scheme picks the transport: tcp:// or
// mqtt:// (port 1883), ssl://, tls:// or mqtts:// (8883), ws:// (80) and
// wss:// (443), the last two with a path ("/mqtt" by default). See
// ParseAddress, and Address for building one from a host, a port and a TLS
// switch.
//
// # Security
//
// TLS verifies the server's certificate chain and host name on every
// connection, and requires TLS 1.2 or later. A failed verification is
// reported with the crypto/x509 error that says why (unknown authority,
// host name mismatch, expired or not yet valid). Verification is skipped
// only if the caller's tls.Config sets InsecureSkipVerify, which must never
// be done outside tests. The caller's tls.Config is cloned, never modified.
//
// # WebSocket
//
// The WebSocket client (RFC 6455, https://www.rfc-editor.org/rfc/rfc6455)
// follows section 6 of MQTT 3.1.1
// (https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html):
// it offers the "mqtt" subprotocol [MQTT-6.0.0-3] and requires the server
// to select it [MQTT-6.0.0-4]; it sends each Write as one masked binary
// frame and reads binary frames as a byte stream, with no assumption about
// where packets start or end [MQTT-6.0.0-2]; it closes the connection on a
// text frame [MQTT-6.0.0-1]. It answers pings, answers and reports a close
// from the server, and refuses frames that break RFC 6455. Frame sizes
// claimed by the server never cause an allocation: payloads go straight
// into the caller's buffer.
//
// # Deadlines
//
// One deadline covers the whole set-up of a connection (TCP connect, proxy
// CONNECT or SOCKS5 exchange, TLS handshake, WebSocket upgrade): the
// earlier of the context's deadline and Dialer.Timeout from the start.
// Once Dial returns, the connection has no deadline; SetDeadline and its
// kin work as for any net.Conn.
//
// # Concurrency
//
// A Dialer may be used by several goroutines at once. As for any net.Conn,
// one goroutine may read a returned connection while another writes it,
// and Close may be called from any goroutine; a WebSocket connection
// serializes the control frames it sends from Read with the frames of
// Write.
package transport
