package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// setupTimeout is the Dialer.Timeout of the timeout tests; a dial must
// give up within it plus 10%.
const setupTimeout = 300 * time.Millisecond

// checkTimeout dials address with setupTimeout and checks that it fails in
// step op, with an error matching context.DeadlineExceeded, between the
// timeout and the timeout plus 10%.
func checkTimeout(t *testing.T, address, op string, cfg *tls.Config) {
	t.Helper()
	d := Dialer{Timeout: setupTimeout, TLSConfig: cfg}
	start := time.Now()
	conn, err := d.Dial(context.Background(), address)
	elapsed := time.Since(start)
	if err == nil {
		conn.Close()
		t.Fatal("connected")
	}
	t.Logf("%s: gave up after %v: %v", address, elapsed.Round(100*time.Microsecond), err)
	if de, ok := errors.AsType[*DialError](err); !ok || de.Op != op {
		t.Errorf("Dial: %v, want a *DialError in step %q", err, op)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial: %v, want context.DeadlineExceeded", err)
	}
	if limit := setupTimeout + setupTimeout/10; elapsed > limit || elapsed < setupTimeout-5*time.Millisecond {
		t.Errorf("gave up after %v, want between %v and %v", elapsed, setupTimeout, limit)
	}
}

// TestDialTimeoutHandshake dials servers that accept the TCP connection
// and then say nothing: the TLS handshake, the WebSocket upgrade or the
// proxy CONNECT never completes.
func TestDialTimeoutHandshake(t *testing.T) {
	silent := serve(t, nil, func(c net.Conn) { io.Copy(io.Discard, c) })
	checkTimeout(t, "mqtts://"+silent, "tls handshake", nil)
	checkTimeout(t, "ws://"+silent, "websocket handshake", nil)

	// A TLS server that completes TLS, then never answers the upgrade.
	ca := mosquittotest.NewCA(t, "test CA")
	silentTLS := serve(t, &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, mosquittotest.CertOptions{}).TLS}},
		func(c net.Conn) { io.Copy(io.Discard, c) })
	checkTimeout(t, "wss://"+silentTLS, "websocket handshake", NewTLSConfig(ca.Pool()))

	d := Dialer{Timeout: setupTimeout, Proxy: func(*urlURL) (*urlURL, error) { return parseURL("http://" + silent) }}
	start := time.Now()
	_, err := d.Dial(context.Background(), "mqtt://broker.example")
	elapsed := time.Since(start)
	t.Logf("proxy: gave up after %v: %v", elapsed.Round(100*time.Microsecond), err)
	if de, ok := errors.AsType[*DialError](err); !ok || de.Op != "proxy" || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial: %v, want a *DialError for the proxy step with context.DeadlineExceeded", err)
	}
	if elapsed > setupTimeout+setupTimeout/10 {
		t.Errorf("gave up after %v", elapsed)
	}
}

// TestDialContextDeadline checks that a context deadline earlier than
// Timeout wins, and that cancelling the context aborts a dial at once.
func TestDialContextDeadline(t *testing.T) {
	silent := serve(t, nil, func(c net.Conn) { io.Copy(io.Discard, c) })
	d := Dialer{Timeout: time.Minute}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := d.Dial(ctx, "ws://"+silent)
	if elapsed := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || elapsed > 220*time.Millisecond {
		t.Errorf("context deadline 200ms: %v after %v", err, elapsed)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = d.Dial(ctx, "mqtts://"+silent)
	if elapsed := time.Since(start); !errors.Is(err, context.Canceled) || elapsed > 150*time.Millisecond {
		t.Errorf("cancel after 100ms: %v after %v", err, elapsed)
	}
}

// TestDialSchemes dials an echo server with every scheme.
func TestDialSchemes(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, mosquittotest.CertOptions{}).TLS}}
	servers := map[string]string{
		"tcp":   serve(t, nil, echo),
		"mqtt":  serve(t, nil, echo),
		"ssl":   serve(t, tlsConfig, echo),
		"tls":   serve(t, tlsConfig, echo),
		"mqtts": serve(t, tlsConfig, echo),
		"ws":    serve(t, nil, wsEcho),
		"wss":   serve(t, tlsConfig, wsEcho),
	}
	for scheme, addr := range servers {
		t.Run(scheme, func(t *testing.T) {
			conn, err := Dial(context.Background(), scheme+"://"+addr, NewTLSConfig(ca.Pool()))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			checkEcho(t, conn)
		})
	}
}

func checkEcho(t *testing.T, conn net.Conn) {
	t.Helper()
	msg := []byte("\x20\x02\x00\x00")
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != string(msg) {
		t.Fatalf("echo: %q, %v", got, err)
	}
}

func TestDialZeroDialer(t *testing.T) {
	var d Dialer
	conn, err := d.Dial(context.Background(), "tcp://"+serve(t, nil, echo))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	checkEcho(t, conn)
}

func TestDialErrors(t *testing.T) {
	if _, err := Dial(context.Background(), "foo://localhost", nil); !isAddressError(err, "scheme") {
		t.Errorf("unknown scheme: %v", err)
	}
	d := Dialer{Header: http.Header{"Sec-WebSocket-Protocol": {"other"}}}
	_, err := d.Dial(context.Background(), "ws://127.0.0.1:1")
	if de, ok := errors.AsType[*DialError](err); !ok || de.Op != "websocket handshake" || !strings.Contains(err.Error(), "Sec-Websocket-Protocol") {
		t.Errorf("reserved header: %v", err)
	}
	// A closed port: connection refused, in the connect step.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	_, err = Dial(context.Background(), "mqtt://"+addr, nil)
	if de, ok := errors.AsType[*DialError](err); !ok || de.Op != "connect" || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("closed port: %v", err)
	}
}

func isAddressError(err error, part string) bool {
	ae, ok := errors.AsType[*AddressError](err)
	return ok && ae.Part == part
}
