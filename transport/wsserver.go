package transport

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
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
	return &wsServerConn{conn: conn, br: brw.Reader}, nil
}

// wsServerConn is the server's WebSocket connection carrying MQTT. Read
// and Write may run at the same time, one goroutine each; control frames
// are answered from Read under the mutex of Write.
type wsServerConn struct {
	conn net.Conn
	br   *bufio.Reader

	// Read side: used only by the goroutine in Read.
	remaining  int64   // payload bytes left in the current data frame
	key        [4]byte // its masking key
	keyPos     int     // position in the key of the next payload byte
	fragmented bool
	rerr       error

	wmu       sync.Mutex // guards the fields below and the frames written to conn
	hdr       []byte
	werr      error
	closeOnce sync.Once
	closeErr  error
}

// Read reads the payload of binary frames as one byte stream, unmasked.
func (c *wsServerConn) Read(p []byte) (int, error) {
	if c.rerr != nil {
		return 0, c.rerr
	}
	if len(p) == 0 {
		return 0, nil
	}
	for c.remaining == 0 {
		if err := c.nextFrame(); err != nil {
			return 0, c.readFailed(err)
		}
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	n, err := c.br.Read(p)
	c.keyPos = mask(c.key, c.keyPos, p[:n])
	c.remaining -= int64(n)
	if err != nil {
		return n, c.readFailed(unexpectedEOF(err))
	}
	return n, nil
}

func (c *wsServerConn) readFailed(err error) error {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return err
	}
	c.rerr = err
	return err
}

// nextFrame reads the next frame header, peeking before consuming so that
// a read timeout never leaves half a header consumed.
func (c *wsServerConn) nextFrame() error {
	b, err := c.br.Peek(2)
	if err != nil {
		if err == io.EOF && len(b) == 0 && !c.fragmented {
			return io.EOF
		}
		return unexpectedEOF(err)
	}
	n := frameHeaderLen(b[0], b[1])
	if b, err = c.br.Peek(n); err != nil {
		return unexpectedEOF(err)
	}
	h, ferr := parseClientFrameHeader(b)
	if ferr != nil {
		return c.fail(ferr, closeProtocolError)
	}
	switch h.op {
	case opBinary:
		if c.fragmented {
			return c.fail(&FrameError{Reason: "new data frame inside a fragmented message", Rule: "5.4"}, closeProtocolError)
		}
	case opContinuation:
		if !c.fragmented {
			return c.fail(&FrameError{Reason: "continuation frame outside a fragmented message", Rule: "5.4"}, closeProtocolError)
		}
	case opText:
		return c.fail(&FrameError{Reason: "text data frame; MQTT needs binary frames", Rule: "MQTT-6.0.0-1"}, closeUnsupported)
	default:
		return c.control(h, n)
	}
	c.br.Discard(n)
	c.fragmented = !h.fin
	c.remaining, c.key, c.keyPos = h.length, h.key, 0
	return nil
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

// control handles a ping, pong or close frame whose header is hlen bytes.
func (c *wsServerConn) control(h frameHeader, hlen int) error {
	size := hlen + int(h.length) // at most 14 + 125, within br's buffer
	b, err := c.br.Peek(size)
	if err != nil {
		return unexpectedEOF(err)
	}
	var buf [maxControlPayload]byte
	payload := buf[:copy(buf[:], b[hlen:])]
	mask(h.key, 0, payload)
	c.br.Discard(size)
	switch h.op {
	case opPing:
		c.wmu.Lock()
		if c.werr == nil {
			c.writeFrameLocked(opPong, payload)
		}
		c.wmu.Unlock()
	case opClose:
		code, reason, ferr := parseClosePayload(payload)
		if ferr != nil {
			return c.fail(ferr, closeProtocolError)
		}
		var reply []byte
		if code != closeNoStatus {
			reply = binary.BigEndian.AppendUint16(nil, code)
		}
		c.shutdown(reply)
		if code == closeNormal || code == closeGoingAway || code == closeNoStatus {
			return io.EOF
		}
		return &CloseError{Code: code, Reason: reason}
	}
	return nil
}

func (c *wsServerConn) fail(err *FrameError, code uint16) error {
	c.shutdown(binary.BigEndian.AppendUint16(nil, code))
	return err
}

// Write sends p as one unmasked binary frame, the payload straight from
// p.
func (c *wsServerConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return 0, c.werr
	}
	if len(p) == 0 {
		return 0, nil
	}
	return c.writeFrameLocked(opBinary, p)
}

func (c *wsServerConn) writeFrameLocked(op opcode, p []byte) (int, error) {
	c.hdr = appendFrameHeader(c.hdr[:0], op, len(p), false, [4]byte{})
	bufs := net.Buffers{c.hdr, p}
	n, err := bufs.WriteTo(c.conn)
	if err != nil {
		if n > 0 {
			c.werr = err // the stream is out of step
		} else if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
			c.werr = err
		}
		return max(0, int(n)-len(c.hdr)), err
	}
	return len(p), nil
}

func (c *wsServerConn) shutdown(payload []byte) error {
	c.closeOnce.Do(func() {
		c.conn.SetWriteDeadline(time.Now().Add(closeTimeout))
		c.wmu.Lock()
		if c.werr == nil {
			c.writeFrameLocked(opClose, payload)
		}
		c.werr = net.ErrClosed
		c.wmu.Unlock()
		c.closeErr = c.conn.Close()
	})
	return c.closeErr
}

// Close sends a close frame with status 1000 and closes the connection.
func (c *wsServerConn) Close() error {
	return c.shutdown(binary.BigEndian.AppendUint16(nil, closeNormal))
}

func (c *wsServerConn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c *wsServerConn) RemoteAddr() net.Addr               { return c.conn.RemoteAddr() }
func (c *wsServerConn) SetDeadline(t time.Time) error      { return c.conn.SetDeadline(t) }
func (c *wsServerConn) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *wsServerConn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }
