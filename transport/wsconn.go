package transport

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// closeTimeout bounds the write of the close frame that Close sends.
const closeTimeout = time.Second

// maxWriteBuffer bounds the buffer in which frames are masked; a larger
// message goes out in chunks of this size.
const maxWriteBuffer = 32 << 10

// wsConn is a WebSocket connection carrying MQTT, the client's or the
// server's end: a byte stream made of the payloads of binary messages (RFC
// 6455, MQTT 3.1.1 section 6). The two ends differ in masking only
// (section 5.3): a client masks its frames and reads unmasked ones, a
// server refuses unmasked frames and sends unmasked ones.
//
// Read and Write may run at the same time, one goroutine each. Control
// frames are answered from Read under the same mutex as Write, so that no
// frame is written inside another.
type wsConn struct {
	conn   net.Conn
	br     *bufio.Reader // reads conn; holds any bytes read past the handshake
	server bool          // the server's end

	// Read side: used only by the goroutine in Read.
	remaining  int64   // payload bytes left in the current data frame
	key        [4]byte // its masking key (frames from a client)
	keyPos     int     // position in the key of the next payload byte
	fragmented bool    // the current message goes on in continuation frames
	rerr       error   // sticky read error

	wmu       sync.Mutex // guards the fields below and the frames written to conn
	wbuf      []byte     // the client's masked copy of a frame; the server's header
	maskKey   [4]byte
	werr      error // sticky write error; net.ErrClosed once closing
	closeOnce sync.Once
	closeErr  error
}

// newWSConn returns the client's end of a WebSocket connection.
func newWSConn(conn net.Conn, br *bufio.Reader) *wsConn {
	return &wsConn{conn: conn, br: br}
}

// newWSServerConn returns the server's end of a WebSocket connection.
func newWSServerConn(conn net.Conn, br *bufio.Reader) *wsConn {
	return &wsConn{conn: conn, br: br, server: true}
}

// Read reads the payload of binary frames as one byte stream, whatever the
// frame boundaries [MQTT-6.0.0-2], answering pings with pongs on the way.
// It returns io.EOF after a normal close from the server (which it
// answers), a *CloseError after any other close, a *FrameError for a text
// frame [MQTT-6.0.0-1] or a frame that breaks RFC 6455, closing the
// connection in both cases, and io.ErrUnexpectedEOF if the connection ends
// inside a frame. A read deadline that passes can be extended and Read
// called again; every other error is returned again by later calls.
func (c *wsConn) Read(p []byte) (int, error) {
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
	n, err := c.br.Read(p) // into the caller's buffer, never more than it holds
	if c.server {
		c.keyPos = mask(c.key, c.keyPos, p[:n])
	}
	c.remaining -= int64(n)
	if err != nil {
		return n, c.readFailed(unexpectedEOF(err))
	}
	return n, nil
}

// readFailed records err for later calls unless it is a timeout, after
// which the stream is still in step.
func (c *wsConn) readFailed(err error) error {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return err
	}
	c.rerr = err
	return err
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// nextFrame reads the next frame header. For a data frame it leaves the
// payload to Read; a control frame it handles whole. Headers and control
// frames are peeked before they are consumed, so a read timeout never
// leaves half a frame consumed.
func (c *wsConn) nextFrame() error {
	b, err := c.br.Peek(2)
	if err != nil {
		if err == io.EOF && len(b) == 0 && !c.fragmented {
			return io.EOF // the connection ended between messages
		}
		return unexpectedEOF(err)
	}
	n := frameHeaderLen(b[0], b[1])
	if b, err = c.br.Peek(n); err != nil {
		return unexpectedEOF(err)
	}
	var h frameHeader
	var ferr *FrameError
	if c.server {
		h, ferr = parseClientFrameHeader(b)
	} else {
		h, ferr = parseFrameHeader(b)
	}
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
	c.br.Discard(n) // cannot fail: the bytes were peeked
	c.fragmented = !h.fin
	c.remaining, c.key, c.keyPos = h.length, h.key, 0
	return nil
}

// control handles a ping, pong or close frame whose header is hlen bytes.
func (c *wsConn) control(h frameHeader, hlen int) error {
	size := hlen + int(h.length) // at most 14 + 125, within br's buffer
	b, err := c.br.Peek(size)
	if err != nil {
		return unexpectedEOF(err)
	}
	var buf [maxControlPayload]byte
	payload := buf[:copy(buf[:], b[hlen:])]
	if c.server {
		mask(h.key, 0, payload)
	}
	c.br.Discard(size)
	switch h.op {
	case opPing:
		c.wmu.Lock()
		if c.werr == nil {
			c.writeFrameLocked(opPong, payload) // a failure is the writer's to report
		}
		c.wmu.Unlock()
	case opClose:
		code, reason, ferr := parseClosePayload(payload)
		if ferr != nil {
			return c.fail(ferr, closeProtocolError)
		}
		var reply []byte
		if code != closeNoStatus {
			reply = binary.BigEndian.AppendUint16(nil, code) // echo the code (section 5.5.1)
		}
		c.shutdown(reply)
		if code == closeNormal || code == closeGoingAway || code == closeNoStatus {
			return io.EOF
		}
		return &CloseError{Code: code, Reason: reason}
	}
	return nil
}

// fail closes the connection with a close frame of the given status and
// returns err.
func (c *wsConn) fail(err *FrameError, code uint16) error {
	c.shutdown(binary.BigEndian.AppendUint16(nil, code))
	return err
}

// Write sends p as one binary frame: from a client masked with a fresh
// random key, from a server unmasked (section 5.3). It returns
// net.ErrClosed after Close or after a close from the peer.
func (c *wsConn) Write(p []byte) (int, error) {
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

// writeFrameLocked writes one final frame of type op. An error that may
// have left part of a frame on the wire is kept in werr.
func (c *wsConn) writeFrameLocked(op opcode, p []byte) (int, error) {
	if c.server {
		return c.writePlainLocked(op, p)
	}
	return c.writeMaskedLocked(op, p)
}

// writePlainLocked writes the header from c.wbuf and the payload straight
// from p, in one writev.
func (c *wsConn) writePlainLocked(op opcode, p []byte) (int, error) {
	c.wbuf = appendFrameHeader(c.wbuf[:0], op, len(p), false, [4]byte{})
	bufs := net.Buffers{c.wbuf, p}
	n, err := bufs.WriteTo(c.conn)
	if err != nil {
		c.writeFailedLocked(err, n > 0)
		return max(0, int(n)-len(c.wbuf)), err
	}
	return len(p), nil
}

// writeMaskedLocked masks a copy of p in c.wbuf, in chunks if p is large.
func (c *wsConn) writeMaskedLocked(op opcode, p []byte) (int, error) {
	rand.Read(c.maskKey[:]) // never fails (crypto/rand)
	if need := maxFrameHeader + len(p); cap(c.wbuf) < need && cap(c.wbuf) < maxWriteBuffer {
		c.wbuf = make([]byte, 0, min(need, maxWriteBuffer))
	}
	buf := appendFrameHeader(c.wbuf[:0], op, len(p), true, c.maskKey)
	sent, pos := 0, 0
	for first := true; first || sent < len(p); first = false {
		start := len(buf)
		chunk := min(len(p)-sent, cap(buf)-start)
		buf = append(buf, p[sent:sent+chunk]...)
		pos = mask(c.maskKey, pos, buf[start:])
		n, err := c.conn.Write(buf)
		if err != nil {
			c.writeFailedLocked(err, !first || n > 0)
			return sent + max(0, n-start), err
		}
		sent += chunk
		buf = buf[:0]
	}
	return len(p), nil
}

// writeFailedLocked records a write error for later writes, unless it is a
// timeout that wrote nothing (partial: part of a frame may be on the
// wire), after which the stream is still in step.
func (c *wsConn) writeFailedLocked(err error, partial bool) {
	if ne, ok := errors.AsType[net.Error](err); partial || !ok || !ne.Timeout() {
		c.werr = err
	}
}

// shutdown sends a close frame with payload, best effort and for at most
// closeTimeout, then closes the connection. Only the first call acts; all
// return its result.
func (c *wsConn) shutdown(payload []byte) error {
	c.closeOnce.Do(func() {
		c.conn.SetWriteDeadline(time.Now().Add(closeTimeout)) // also frees a blocked Write
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

// Close sends a close frame with status 1000 (normal closure), waiting at
// most a second for it to be written, and closes the connection.
func (c *wsConn) Close() error {
	return c.shutdown(binary.BigEndian.AppendUint16(nil, closeNormal))
}

func (c *wsConn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr               { return c.conn.RemoteAddr() }
func (c *wsConn) SetDeadline(t time.Time) error      { return c.conn.SetDeadline(t) }
func (c *wsConn) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *wsConn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }
