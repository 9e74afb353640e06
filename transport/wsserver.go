package transport

import (
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// AcceptWebSocket answers a WebSocket opening handshake (RFC 6455 section
// 4.2) for MQTT and returns the server side of the connection: a byte
// stream made of the payloads of the client's binary frames, whose writes
// go out as binary frames [MQTT-6.0.0-2].
//
// The request must be a GET with Upgrade: websocket, Connection: Upgrade,
// Sec-WebSocket-Version 13 and a valid Sec-WebSocket-Key, and must offer
// the "mqtt" subprotocol [MQTT-6.0.0-3], which the response selects
// [MQTT-6.0.0-4]. Any path is accepted; check r.URL.Path before calling
// to restrict it. A request that fails these checks gets an HTTP error
// response and a *HandshakeError; on success the connection is hijacked
// from w, which must not be used again.
//
// The connection refuses unmasked frames (section 5.1) and text frames
// [MQTT-6.0.0-1], closing with a close frame, answers pings, and never
// allocates for the frame sizes a client claims. Close sends a normal
// close frame, waiting at most a second, and closes the connection.
func AcceptWebSocket(w http.ResponseWriter, r *http.Request) (net.Conn, error) {
	fail := func(status int, reason, rule string) (net.Conn, error) {
		if status == http.StatusUpgradeRequired {
			w.Header().Set("Sec-WebSocket-Version", "13")
		}
		http.Error(w, "websocket handshake: "+reason, status)
		return nil, &HandshakeError{StatusCode: status, Status: http.StatusText(status), Reason: reason, Rule: rule}
	}
	if r.Method != http.MethodGet {
		return fail(http.StatusMethodNotAllowed, "method "+r.Method+", want GET", "4.2.1")
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") || !headerHasToken(r.Header, "Connection", "upgrade") {
		return fail(http.StatusUpgradeRequired, "not a WebSocket upgrade request", "4.2.1")
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		return fail(http.StatusUpgradeRequired, "Sec-WebSocket-Version is not 13", "4.2.1")
	}
	key := strings.TrimSpace(r.Header.Get("Sec-WebSocket-Key"))
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		return fail(http.StatusBadRequest, "invalid Sec-WebSocket-Key", "4.2.1")
	}
	if !headerHasToken(r.Header, "Sec-WebSocket-Protocol", Subprotocol) {
		return fail(http.StatusBadRequest, "client does not offer the \"mqtt\" subprotocol", "MQTT-6.0.0-3")
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return fail(http.StatusInternalServerError, "cannot take over the connection: "+err.Error(), "")
	}
	sum := sha1.Sum([]byte(key + acceptGUID))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n" +
		"Sec-WebSocket-Protocol: " + Subprotocol + "\r\n\r\n" // [MQTT-6.0.0-4]
	conn.SetDeadline(time.Time{}) // the http.Server's deadlines no longer apply
	if _, err := io.WriteString(conn, resp); err != nil {
		conn.Close()
		return nil, err
	}
	return newWSServerConn(conn, brw.Reader), nil
}

// parseClientFrameHeader decodes a frame header from a client: it must be
// masked (section 5.1).
func parseClientFrameHeader(b []byte) (frameHeader, *FrameError) {
	if b[1]&maskBit == 0 {
		return frameHeader{}, &FrameError{Reason: "unmasked frame from the client", Rule: "5.1"}
	}
	// Parse a copy without the mask bit and key, as the client parses the
	// server's frames, then add the key.
	var hb [maxFrameHeader]byte
	n := copy(hb[:], b)
	hb[1] &^= maskBit
	h, ferr := parseFrameHeader(hb[:n-4])
	copy(h.key[:], b[n-4:n])
	h.masked = true
	return h, ferr
}
