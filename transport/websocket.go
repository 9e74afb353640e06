package transport

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Subprotocol is the WebSocket subprotocol of MQTT, which the client offers
// [MQTT-6.0.0-3] and the server must select [MQTT-6.0.0-4].
const Subprotocol = "mqtt"

// acceptGUID is appended to the key to derive Sec-WebSocket-Accept (RFC
// 6455 section 1.3).
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxResponseHead bounds the status line and headers of the upgrade
// response, so that a server cannot make the client buffer without end.
const maxResponseHead = 64 << 10

// reservedHeaders are set by the handshake itself; Dialer.Header may not
// hold them.
var reservedHeaders = []string{
	"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version",
	"Sec-Websocket-Protocol", "Sec-Websocket-Extensions", "Sec-Websocket-Accept",
	"Content-Length", "Transfer-Encoding",
}

// checkHeader refuses extra handshake headers that the handshake sets
// itself or that could not be written on one line.
func checkHeader(h http.Header) error {
	for name, values := range h {
		canon := http.CanonicalHeaderKey(name)
		if slices.Contains(reservedHeaders, canon) {
			return fmt.Errorf("mqtt: Dialer.Header may not set %s: the WebSocket handshake sets it", canon)
		}
		if name == "" || strings.ContainsFunc(name, func(r rune) bool {
			return r <= ' ' || r >= 0x7F || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
		}) {
			return fmt.Errorf("mqtt: Dialer.Header: invalid header name %q", name)
		}
		for _, v := range values {
			if strings.ContainsAny(v, "\r\n\x00") {
				return fmt.Errorf("mqtt: Dialer.Header: value of %s contains CR, LF or NUL", canon)
			}
		}
	}
	return nil
}

// handshakeReader reads from a connection, at most n bytes while n >= 0,
// so that the upgrade response is bounded; the WebSocket connection lifts
// the bound by setting n to -1.
type handshakeReader struct {
	r io.Reader
	n int64
}

func (h *handshakeReader) Read(p []byte) (int, error) {
	if h.n < 0 {
		return h.r.Read(p)
	}
	if h.n == 0 {
		return 0, &HandshakeError{Reason: "response head longer than " + strconv.Itoa(maxResponseHead) + " bytes"}
	}
	if int64(len(p)) > h.n {
		p = p[:h.n]
	}
	n, err := h.r.Read(p)
	h.n -= int64(n)
	return n, err
}

// webSocketClient performs the opening handshake of RFC 6455 section 4 over
// conn, offering the "mqtt" subprotocol, and returns the WebSocket
// connection. u is a ws:// or wss:// address as ParseAddress returns it.
// The caller sets the deadline and closes conn on error.
func webSocketClient(conn net.Conn, u *url.URL, header http.Header) (net.Conn, error) {
	var nonce [16]byte
	rand.Read(nonce[:]) // never fails (crypto/rand)
	key := base64.StdEncoding.EncodeToString(nonce[:])

	host := u.Host
	if p := u.Port(); p == strconv.Itoa(schemes[u.Scheme].port) {
		host = strings.TrimSuffix(host, ":"+p)
	}
	if h := header.Get("Host"); h != "" {
		host = h
	}
	var b strings.Builder
	b.WriteString("GET " + u.RequestURI() + " HTTP/1.1\r\n")
	b.WriteString("Host: " + host + "\r\n")
	b.WriteString("Upgrade: websocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Key: " + key + "\r\n")
	b.WriteString("Sec-WebSocket-Version: 13\r\n")
	b.WriteString("Sec-WebSocket-Protocol: " + Subprotocol + "\r\n") // [MQTT-6.0.0-3]
	for _, name := range slices.Sorted(maps.Keys(header)) {
		if http.CanonicalHeaderKey(name) == "Host" {
			continue
		}
		for _, v := range header[name] {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}

	hr := &handshakeReader{r: conn, n: maxResponseHead}
	br := bufio.NewReader(hr)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if err := checkUpgradeResponse(resp, key); err != nil {
		return nil, err
	}
	hr.n = -1
	return newWSConn(conn, br), nil
}

// checkUpgradeResponse applies the client's checks of RFC 6455 section
// 4.1 and MQTT 3.1.1 section 6 to the server's answer.
func checkUpgradeResponse(resp *http.Response, key string) error {
	bad := func(reason, rule string) error {
		return &HandshakeError{StatusCode: resp.StatusCode, Status: resp.Status, Reason: reason, Rule: rule}
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return bad("server answered "+strconv.Quote(resp.Status)+", want 101 Switching Protocols", "4.1")
	}
	if !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		return bad("Upgrade header is "+strconv.Quote(resp.Header.Get("Upgrade"))+", want \"websocket\"", "4.1")
	}
	if !headerHasToken(resp.Header, "Connection", "upgrade") {
		return bad("Connection header lacks \"Upgrade\"", "4.1")
	}
	sum := sha1.Sum([]byte(key + acceptGUID))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		return bad("Sec-WebSocket-Accept is "+strconv.Quote(got)+", want "+strconv.Quote(want), "4.1")
	}
	if ext := resp.Header.Values("Sec-WebSocket-Extensions"); len(ext) > 0 {
		return bad("server selected extensions "+strconv.Quote(strings.Join(ext, ", "))+" that the client did not offer", "4.1")
	}
	if p := resp.Header.Values("Sec-WebSocket-Protocol"); len(p) != 1 || strings.TrimSpace(p[0]) != Subprotocol {
		return bad("server selected subprotocol "+strconv.Quote(strings.Join(p, ", "))+", want \"mqtt\"", "MQTT-6.0.0-4")
	}
	return nil
}

// headerHasToken reports whether a comma-separated header holds token,
// ignoring case.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
