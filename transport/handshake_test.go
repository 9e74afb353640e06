package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestWebSocketHandshakeRequest(t *testing.T) {
	reqs := make(chan *http.Request, 1)
	addr := serve(t, nil, func(c net.Conn) {
		s, err := wsAccept(c, Subprotocol, "")
		if err != nil {
			return
		}
		reqs <- s.req
		s.readClose()
	})
	h := http.Header{"Authorization": {"Bearer t0ken"}, "X-Two": {"a", "b"}}
	dialWS(t, addr, h).Close()
	req := <-reqs
	for name, want := range map[string]string{
		"Upgrade":                "websocket",
		"Connection":             "Upgrade",
		"Sec-WebSocket-Version":  "13",
		"Sec-WebSocket-Protocol": "mqtt", // [MQTT-6.0.0-3]
		"Authorization":          "Bearer t0ken",
	} {
		if got := req.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if got := req.Header.Values("X-Two"); len(got) != 2 {
		t.Errorf("X-Two: %q, want two values", got)
	}
	if req.Method != "GET" || req.URL.Path != DefaultWebSocketPath || req.Host != addr {
		t.Errorf("request %s %s Host %s, want GET %s Host %s", req.Method, req.URL, req.Host, DefaultWebSocketPath, addr)
	}
	if k, err := base64Decode(req.Header.Get("Sec-WebSocket-Key")); err != nil || len(k) != 16 {
		t.Errorf("Sec-WebSocket-Key %q is not 16 bytes in base64", req.Header.Get("Sec-WebSocket-Key"))
	}
}

func TestWebSocketHandshakeRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(net.Conn)
		rule   string
		reason string
	}{
		{"no subprotocol", func(c net.Conn) { wsAccept(c, "", "") }, "MQTT-6.0.0-4", "subprotocol"},
		{"other subprotocol", func(c net.Conn) { wsAccept(c, "mqttv3.1", "") }, "MQTT-6.0.0-4", "subprotocol"},
		{"extension", func(c net.Conn) { wsAccept(c, Subprotocol, "Sec-WebSocket-Extensions: permessage-deflate\r\n") }, "4.1", "extensions"},
		{"bad accept", func(c net.Conn) {
			http.ReadRequest(bufioReader(c))
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n")
		}, "4.1", "Accept"},
		{"not found", func(c net.Conn) {
			http.ReadRequest(bufioReader(c))
			io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
		}, "4.1", "404"},
		{"no upgrade", func(c net.Conn) {
			http.ReadRequest(bufioReader(c))
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n")
		}, "4.1", "Upgrade"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, nil, tc.answer)
			_, err := (&Dialer{Timeout: 5 * time.Second}).Dial(context.Background(), "ws://"+addr)
			var he *HandshakeError
			var de *DialError
			if !errors.As(err, &he) || he.Rule != tc.rule || !strings.Contains(he.Reason, tc.reason) {
				t.Fatalf("Dial: %v, want a *HandshakeError for rule %s about %s", err, tc.rule, tc.reason)
			}
			if !errors.As(err, &de) || de.Op != "websocket handshake" {
				t.Errorf("Dial: %v, want a *DialError for the websocket handshake", err)
			}
		})
	}
}

func TestWebSocketResponseTooLong(t *testing.T) {
	addr := serve(t, nil, func(c net.Conn) {
		http.ReadRequest(bufioReader(c))
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nX-Long: ")
		c.Write(bytes.Repeat([]byte{'a'}, 1<<20))
	})
	_, err := (&Dialer{Timeout: 5 * time.Second}).Dial(context.Background(), "ws://"+addr)
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("Dial: %v, want an error about the response's length", err)
	}
}
