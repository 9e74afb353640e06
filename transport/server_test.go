package transport

import (
	"bufio"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// serve accepts connections on a loopback port, wrapped in TLS when
// tlsConfig is not nil, and runs handle on each in its own goroutine. At
// cleanup it closes the listener and every connection, and waits for the
// handlers.
func serve(t testing.TB, tlsConfig *tls.Config, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if tlsConfig != nil {
				c = tls.Server(c, tlsConfig)
			}
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// wsServer is the server end of a WebSocket connection in a test.
type wsServer struct {
	net.Conn
	br  *bufio.Reader
	req *http.Request
}

// wsAccept reads an upgrade request and answers it with a valid 101
// response selecting protocol (none if empty) and adding extra, a raw
// header block. The frames in follow are sent in the same write as the
// response.
func wsAccept(c net.Conn, protocol, extra string, follow ...[]byte) (*wsServer, error) {
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + acceptKey(req.Header.Get("Sec-WebSocket-Key")) + "\r\n"
	if protocol != "" {
		resp += "Sec-WebSocket-Protocol: " + protocol + "\r\n"
	}
	b := []byte(resp + extra + "\r\n")
	for _, f := range follow {
		b = append(b, f...)
	}
	if _, err := c.Write(b); err != nil {
		return nil, err
	}
	return &wsServer{Conn: c, br: br, req: req}, nil
}

func acceptKey(key string) string {
	sum := sha1.Sum([]byte(key + acceptGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// frame returns an unmasked frame: b0 is FIN|opcode as sent.
func frame(b0 byte, payload []byte) []byte {
	b := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

func closeFrame(code uint16, reason string) []byte {
	return frame(finBit|byte(opClose), append(binary.BigEndian.AppendUint16(nil, code), reason...))
}

// clientFrame is a frame read from the client.
type clientFrame struct {
	fin     bool
	op      opcode
	payload []byte
}

// readFrame reads one frame from the client, which must be masked, and
// unmasks it.
func (s *wsServer) readFrame() (clientFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(s.br, h[:]); err != nil {
		return clientFrame{}, err
	}
	if h[1]&maskBit == 0 {
		return clientFrame{}, fmt.Errorf("unmasked frame from the client")
	}
	if h[0]&rsvBits != 0 {
		return clientFrame{}, fmt.Errorf("RSV bits set by the client")
	}
	rest := make([]byte, frameHeaderLen(h[0], h[1])-2)
	if _, err := io.ReadFull(s.br, rest); err != nil {
		return clientFrame{}, err
	}
	var n uint64
	switch h[1] &^ maskBit {
	case 126:
		n = uint64(binary.BigEndian.Uint16(rest))
	case 127:
		n = binary.BigEndian.Uint64(rest)
	default:
		n = uint64(h[1] &^ maskBit)
	}
	if n > 1<<24 {
		return clientFrame{}, fmt.Errorf("client frame of %d bytes", n)
	}
	key := [4]byte(rest[len(rest)-4:])
	p := make([]byte, n)
	if _, err := io.ReadFull(s.br, p); err != nil {
		return clientFrame{}, err
	}
	mask(key, 0, p)
	return clientFrame{fin: h[0]&finBit != 0, op: opcode(h[0] & 0x0F), payload: p}, nil
}

// readClose reads client frames until a close frame, which it returns,
// failing on any frame other than a pong.
func (s *wsServer) readClose() (clientFrame, error) {
	for {
		f, err := s.readFrame()
		if err != nil || f.op == opClose {
			return f, err
		}
		if f.op != opPong {
			return f, fmt.Errorf("frame with opcode %d before the close frame", f.op)
		}
	}
}

// wsEcho answers the upgrade and echoes every binary frame until the
// client closes.
func wsEcho(c net.Conn) {
	s, err := wsAccept(c, Subprotocol, "")
	if err != nil {
		return
	}
	for {
		f, err := s.readFrame()
		if err != nil {
			return
		}
		switch f.op {
		case opBinary:
			c.Write(frame(finBit|byte(opBinary), f.payload))
		case opClose:
			c.Write(closeFrame(closeNormal, ""))
			return
		}
	}
}

// echo copies what it reads back to the client.
func echo(c net.Conn) { io.Copy(c, c) }

func bufioReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }

func base64Decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

type urlURL = url.URL

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
