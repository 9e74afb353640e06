package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"
)

// DefaultTimeout bounds the set-up of a connection when Dialer.Timeout is
// zero.
const DefaultTimeout = 30 * time.Second

// Dialer connects to MQTT brokers over TCP, TLS, WebSocket or WebSocket
// over TLS, as the scheme of the address says (see ParseAddress). Its zero
// value is ready to use: no proxy, system root CAs with full certificate
// verification, and DefaultTimeout. A Dialer may be used by several
// goroutines at once; Dial does not modify it.
type Dialer struct {
	// TLSConfig configures TLS for ssl://, tls://, mqtts:// and wss://
	// addresses; nil means the defaults of NewTLSConfig(nil). Dial uses a
	// clone, with ServerName set to the address's host when it is empty,
	// and MinVersion TLS 1.2 when it is zero. A config allowing a version
	// older than TLS 1.2 is refused (ErrTLSVersion).
	//
	// The server's certificate chain and host name are always verified,
	// unless InsecureSkipVerify is true. DO NOT set InsecureSkipVerify
	// outside tests: it accepts any certificate, so anyone on the path can
	// read and change the traffic, passwords included. To trust a private
	// CA, set RootCAs instead (see LoadCAFile).
	TLSConfig *tls.Config

	// Timeout bounds the whole set-up: TCP connect, proxy CONNECT, TLS
	// handshake and WebSocket upgrade together. Dial gives up at whichever
	// comes first of the context's deadline and now+Timeout. Zero means
	// DefaultTimeout; a negative value leaves only the context's deadline.
	Timeout time.Duration

	// Proxy, if not nil, returns the proxy through which to reach the
	// broker at the given address (as ParseAddress returns it), or nil for
	// a direct connection. Three kinds of proxy URL are supported, each
	// with optional user:password:
	//
	//   - http://host[:port] (port 80): the tunnel is opened with HTTP
	//     CONNECT, with Basic authentication;
	//   - socks5h://host[:port] (port 1080): SOCKS5 (RFC 1928), the proxy
	//     resolving the broker's host name, with username/password
	//     authentication (RFC 1929), as mosquitto_pub --proxy;
	//   - socks5://host[:port]: SOCKS5, the client resolving the name
	//     (with NetDialer's Resolver) and sending the IP address.
	//
	// A refusal by a SOCKS5 proxy is a *SOCKSError. ProxyFromEnvironment
	// reads the usual variables.
	Proxy func(address *url.URL) (*url.URL, error)

	// Header holds extra HTTP headers for the WebSocket upgrade request,
	// such as Authorization, Cookie or Origin, and Host to override the
	// host. Headers the handshake sets itself (Upgrade, Connection,
	// Sec-WebSocket-*) are refused.
	Header http.Header

	// NetDialer makes the TCP connections, to the broker or to the proxy;
	// nil means a zero net.Dialer. Set it for a local address, keep-alive
	// settings or a custom resolver.
	NetDialer *net.Dialer
}

// Dial connects to the broker at address with the zero Dialer's settings
// and the given TLS configuration (nil for the defaults), as
// (&Dialer{TLSConfig: tlsConfig}).Dial(ctx, address) does.
func Dial(ctx context.Context, address string, tlsConfig *tls.Config) (net.Conn, error) {
	d := Dialer{TLSConfig: tlsConfig}
	return d.Dial(ctx, address)
}

// Dial connects to the broker at address, an URL whose scheme chooses the
// transport (see ParseAddress), and returns the connection, ready for MQTT
// packets. For ws:// and wss:// it is a WebSocket connection whose Write
// sends one binary frame per call and whose Read returns the payload of
// the server's binary frames as one byte stream.
//
// The set-up must finish before the deadline described at Dialer.Timeout;
// cancelling ctx aborts it. ctx does not matter once Dial has returned.
//
// Errors are *AddressError for a bad address, and *DialError otherwise,
// naming the step that failed.
func (d *Dialer) Dial(ctx context.Context, address string) (net.Conn, error) {
	u, err := ParseAddress(address)
	if err != nil {
		return nil, err
	}
	sch := schemes[u.Scheme]
	fail := func(op string, err error) error {
		return &DialError{Address: address, Op: op, Err: err}
	}
	var tlsConfig *tls.Config
	if sch.tls {
		if tlsConfig, err = clientTLSConfig(d.TLSConfig, u.Hostname()); err != nil {
			return nil, fail("tls config", err)
		}
	}
	if sch.ws {
		if err := checkHeader(d.Header); err != nil {
			return nil, fail("websocket handshake", err)
		}
	}

	timeout := d.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	cancel := context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	deadline, hasDeadline := ctx.Deadline()
	// setupFailed marks err with the context's error when the deadline
	// passed or ctx was cancelled, so that errors.Is finds the cause.
	setupFailed := func(op string, err error) error {
		cerr := ctx.Err()
		if cerr == nil && hasDeadline && !time.Now().Before(deadline) {
			cerr = context.DeadlineExceeded
		}
		if cerr != nil && !errors.Is(err, cerr) {
			err = &causeError{cause: cerr, err: err}
		}
		return fail(op, err)
	}

	nd := d.NetDialer
	if nd == nil {
		nd = &net.Dialer{}
	}
	var proxy *url.URL
	if d.Proxy != nil {
		if proxy, err = d.Proxy(u); err != nil {
			return nil, fail("proxy", err)
		}
	}
	target := u.Host
	if proxy != nil {
		if target, err = proxyAddr(proxy); err != nil {
			return nil, fail("proxy", err)
		}
	}
	conn, err := nd.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, setupFailed("connect", err)
	}
	// From here on the deadline applies to the connection, and cancelling
	// ctx moves it to the past, unblocking any read or write.
	if hasDeadline {
		conn.SetDeadline(deadline)
	}
	raw := conn // conn is reassigned below as layers are added
	stop := context.AfterFunc(ctx, func() { raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	abort := func(op string, err error) (net.Conn, error) {
		conn.Close()
		return nil, setupFailed(op, err)
	}

	if proxy != nil && isSOCKS(proxy) {
		if err := socksConnect(ctx, conn, proxy, u.Host, nd.Resolver); err != nil {
			return abort("proxy", err)
		}
	} else if proxy != nil {
		pc, err := proxyConnect(conn, proxy, u.Host)
		if err != nil {
			return abort("proxy", err)
		}
		conn = pc
	}
	if sch.tls {
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return abort("tls handshake", explainTLS(err))
		}
		conn = tc
	}
	if sch.ws {
		wc, err := webSocketClient(conn, u, d.Header)
		if err != nil {
			return abort("websocket handshake", err)
		}
		conn = wc
	}
	if !stop() {
		return abort("connect", context.Cause(ctx))
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return abort("connect", err)
	}
	return conn, nil
}

// causeError is an error of a set-up step that was cut short by the
// deadline or by cancellation: it matches both.
type causeError struct {
	cause error // context.DeadlineExceeded or context.Canceled
	err   error
}

func (e *causeError) Error() string   { return e.cause.Error() + ": " + e.err.Error() }
func (e *causeError) Unwrap() []error { return []error{e.cause, e.err} }
