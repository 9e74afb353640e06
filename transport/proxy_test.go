package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// connectProxy runs an HTTP CONNECT proxy that requires the
// Proxy-Authorization value auth (none if empty) and sends each target it
// tunnels to on targets.
func connectProxy(t *testing.T, auth string, targets chan<- string) string {
	t.Helper()
	return serve(t, nil, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Method != http.MethodConnect {
			io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\n\r\n")
			return
		}
		if req.Header.Get("Proxy-Authorization") != auth {
			io.WriteString(c, "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n")
			return
		}
		targets <- req.Host
		up, err := net.Dial("tcp", req.Host)
		if err != nil {
			io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\n\r\n")
			return
		}
		defer up.Close()
		io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
		var wg sync.WaitGroup
		wg.Go(func() {
			io.Copy(up, br)
			up.(*net.TCPConn).CloseWrite()
		})
		io.Copy(c, up)
		c.Close()
		wg.Wait()
	})
}

func TestDialProxy(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	tlsConfig := &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, mosquittotest.CertOptions{}).TLS}}
	targets := make(chan string, 10)
	proxy := connectProxy(t, "Basic dXNlcjpwYXNz", targets) // user:pass
	proxyURL := &url.URL{Scheme: "http", User: url.UserPassword("user", "pass"), Host: proxy}
	var asked []string
	d := Dialer{
		Timeout:   5 * time.Second,
		TLSConfig: NewTLSConfig(ca.Pool()),
		Proxy: func(u *url.URL) (*url.URL, error) {
			asked = append(asked, u.String())
			return proxyURL, nil
		},
	}
	for _, address := range []string{"mqtt://" + serve(t, nil, echo), "wss://" + serve(t, tlsConfig, wsEcho)} {
		conn, err := d.Dial(context.Background(), address)
		if err != nil {
			t.Fatal(err)
		}
		checkEcho(t, conn)
		conn.Close()
		u, _ := url.Parse(address)
		if got := <-targets; got != u.Host {
			t.Errorf("the proxy tunnelled to %s, want %s", got, u.Host)
		}
	}
	if len(asked) != 2 || !strings.HasSuffix(asked[1], "/mqtt") {
		t.Errorf("Proxy was asked about %q, want the two addresses in full", asked)
	}

	proxyURL.User = nil
	_, err := d.Dial(context.Background(), "mqtt://broker.example")
	if de, ok := errors.AsType[*DialError](err); !ok || de.Op != "proxy" || !strings.Contains(err.Error(), "407") {
		t.Errorf("without credentials: %v, want the proxy's 407", err)
	}
	proxyURL.Scheme = "socks4"
	if _, err := d.Dial(context.Background(), "mqtt://broker.example"); err == nil || !strings.Contains(err.Error(), "socks4") {
		t.Errorf("socks5 proxy: %v, want an error naming the scheme", err)
	}
}

// TestProxyFromEnvironment sets the variables before the first call:
// net/http reads them once per process.
func TestProxyFromEnvironment(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://secure-proxy.example:3128")
	t.Setenv("HTTP_PROXY", "http://plain-proxy.example:3128")
	t.Setenv("NO_PROXY", "direct.example")
	t.Setenv("REQUEST_METHOD", "")
	for address, want := range map[string]string{
		"mqtts://broker.example":  "http://secure-proxy.example:3128",
		"wss://broker.example":    "http://secure-proxy.example:3128",
		"ssl://broker.example":    "http://secure-proxy.example:3128",
		"mqtt://broker.example":   "http://plain-proxy.example:3128",
		"ws://broker.example/x":   "http://plain-proxy.example:3128",
		"mqtt://direct.example":   "",
		"mqtts://127.0.0.1:8883":  "",
		"mqtts://localhost:8883":  "",
		"mqtt://a.direct.example": "",
	} {
		u, err := ParseAddress(address)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ProxyFromEnvironment(u)
		got := ""
		if p != nil {
			got = p.String()
		}
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", address, got, err, want)
		}
	}
}
