package transport

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoServer serves AcceptWebSocket on an httptest server whose handler
// echoes every byte; it returns the ws:// address.
func echoServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := AcceptWebSocket(w, r)
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}))
	t.Cleanup(srv.Close)
	return "ws://" + strings.TrimPrefix(srv.URL, "http://") + "/mqtt"
}

// TestAcceptWebSocketEcho dials the server side with this package's own
// client: small and large writes come back intact, whatever the frame
// boundaries [MQTT-6.0.0-2].
func TestAcceptWebSocketEcho(t *testing.T) {
	addr := echoServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 kB: chunked frames
	for _, msg := range [][]byte{[]byte("hello"), big, {0}} {
		errc := make(chan error, 1)
		go func() {
			_, err := c.Write(msg)
			errc <- err
		}()
		got := make([]byte, len(msg))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("echo of %d bytes differs", len(msg))
		}
	}
}

// rawUpgrade sends an upgrade request with the given extra headers and
// returns the connection and the response.
func rawUpgrade(t *testing.T, addr, method, headers string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	host := strings.TrimSuffix(strings.TrimPrefix(addr, "ws://"), "/mqtt")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := method + " /mqtt HTTP/1.1\r\nHost: " + host + "\r\n" + headers + "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, br, resp
}

const goodHeaders = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: mqtt\r\n"

func TestAcceptWebSocketHandshake(t *testing.T) {
	addr := echoServer(t)
	_, _, resp := rawUpgrade(t, addr, "GET", goodHeaders)
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" ||
		resp.Header.Get("Sec-WebSocket-Protocol") != "mqtt" {
		t.Errorf("response %d %v", resp.StatusCode, resp.Header)
	}
	tests := []struct {
		name, method, headers string
		status                int
	}{
		{"POST", "POST", goodHeaders, 405},
		{"no upgrade", "GET", "Sec-WebSocket-Version: 13\r\n", 426},
		{"version 8", "GET", strings.Replace(goodHeaders, "Version: 13", "Version: 8", 1), 426},
		{"bad key", "GET", strings.Replace(goodHeaders, "dGhlIHNhbXBsZSBub25jZQ==", "short", 1), 400},
		{"no mqtt subprotocol [MQTT-6.0.0-3]", "GET", strings.Replace(goodHeaders, "Protocol: mqtt", "Protocol: chat", 1), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, resp := rawUpgrade(t, addr, tt.method, tt.headers)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

// maskedFrame builds a client frame with FIN set.
func maskedFrame(op opcode, payload []byte) []byte {
	key := [4]byte{1, 2, 3, 4}
	b := appendFrameHeader(nil, op, len(payload), true, key)
	start := len(b)
	b = append(b, payload...)
	mask(key, 0, b[start:])
	return b
}

// TestAcceptWebSocketFrames checks the server side's frame rules: a
// packet split over frames and two in one frame read as one stream, pings
// are answered, and unmasked or text frames close the connection.
func TestAcceptWebSocketFrames(t *testing.T) {
	addr := echoServer(t)
	readFrame := func(br *bufio.Reader) (opcode, []byte) {
		t.Helper()
		h := make([]byte, 2)
		if _, err := io.ReadFull(br, h); err != nil {
			t.Fatal(err)
		}
		if h[1]&maskBit != 0 || h[1] > 125 {
			t.Fatalf("server frame header % x", h)
		}
		p := make([]byte, h[1])
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatal(err)
		}
		return opcode(h[0] & 0x0f), p
	}

	c, br, _ := rawUpgrade(t, addr, "GET", goodHeaders)
	first := appendFrameHeader(nil, opBinary, 2, true, [4]byte{9, 9, 9, 9})
	first[0] &^= finBit // not final
	first = append(first, 'a'^9, 'b'^9)
	c.Write(first)
	c.Write(maskedFrame(opContinuation, []byte("c")))
	c.Write(maskedFrame(opPing, []byte("hi")))
	var echoed []byte
	pong := false
	for len(echoed) < 3 || !pong {
		switch op, p := readFrame(br); op {
		case opBinary:
			echoed = append(echoed, p...)
		case opPong:
			pong = string(p) == "hi"
		default:
			t.Fatalf("opcode %v", op)
		}
	}
	if string(echoed) != "abc" {
		t.Errorf("echo %q", echoed)
	}

	for _, tt := range []struct {
		name  string
		frame []byte
		code  uint16
	}{
		{"unmasked", appendFrameHeader(nil, opBinary, 0, false, [4]byte{}), closeProtocolError},
		{"text [MQTT-6.0.0-1]", maskedFrame(opText, []byte("x")), closeUnsupported},
		{"close", maskedFrame(opClose, []byte{0x03, 0xe8}), closeNormal},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, br, _ := rawUpgrade(t, addr, "GET", goodHeaders)
			c.Write(tt.frame)
			op, p := readFrame(br)
			if op != opClose || len(p) < 2 || uint16(p[0])<<8|uint16(p[1]) != tt.code {
				t.Fatalf("got %v % x, want close %d", op, p, tt.code)
			}
			if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
				t.Errorf("after close: %v, want EOF", err)
			}
		})
	}
}
