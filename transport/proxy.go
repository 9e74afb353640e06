package transport

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ProxyFromEnvironment is a Dialer.Proxy function that reads the proxy from
// the environment the way net/http does (http.ProxyFromEnvironment):
// HTTPS_PROXY for TLS addresses (ssl://, tls://, mqtts://, wss://),
// HTTP_PROXY for the others (tcp://, mqtt://, ws://), both overridden by
// NO_PROXY, and lower-case variants. As in net/http, addresses on
// localhost or a loopback IP are never proxied, and the environment is read
// once, on first use. It returns nil, nil when no proxy applies.
//
// The proxy is reached with plain HTTP and asked for a tunnel with the
// CONNECT method; many proxies allow CONNECT only to port 443.
func ProxyFromEnvironment(address *url.URL) (*url.URL, error) {
	s := "http"
	if schemes[address.Scheme].tls {
		s = "https"
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Scheme: s, Host: address.Host}}
	return http.ProxyFromEnvironment(req)
}

// proxyAddr checks a proxy URL and returns the host:port to dial.
func proxyAddr(proxy *url.URL) (string, error) {
	port := "80"
	switch {
	case isSOCKS(proxy):
		port = "1080"
	case proxy.Scheme != "http":
		return "", fmt.Errorf("mqtt: proxy %s: scheme %q not supported (want http, socks5h or socks5)", proxy.Redacted(), proxy.Scheme)
	}
	if proxy.Hostname() == "" {
		return "", fmt.Errorf("mqtt: proxy %s: missing host", proxy.Redacted())
	}
	if p := proxy.Port(); p != "" {
		port = p
	}
	return net.JoinHostPort(proxy.Hostname(), port), nil
}

// proxyConnect asks the HTTP proxy at the other end of conn for a tunnel
// to target (host:port), with the credentials of the proxy URL if it has
// any (Basic authentication, RFC 7617). The caller sets the deadline and
// closes conn on error.
func proxyConnect(conn net.Conn, proxy *url.URL, target string) (net.Conn, error) {
	var b strings.Builder
	b.WriteString("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n")
	if u := proxy.User; u != nil {
		pass, _ := u.Password()
		cred := base64.StdEncoding.EncodeToString([]byte(u.Username() + ":" + pass))
		b.WriteString("Proxy-Authorization: Basic " + cred + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}
	hr := &handshakeReader{r: conn, n: maxResponseHead}
	br := bufio.NewReader(hr)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("mqtt: proxy %s refused CONNECT %s: %s", proxy.Redacted(), target, strconv.Quote(resp.Status))
	}
	hr.n = -1
	if br.Buffered() > 0 {
		// The broker has spoken first; keep what was read ahead.
		return &bufferedConn{Conn: conn, r: br}, nil
	}
	return conn, nil
}

// bufferedConn is a net.Conn whose first bytes come from a bufio.Reader.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
