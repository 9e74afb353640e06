package main

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/petrel-mqtt/petrel/auth"
	"github.com/petrel-mqtt/petrel/session"
	"github.com/petrel-mqtt/petrel/transport"
)

// proxyForm is the form --proxy takes, for its errors.
const proxyForm = "give socks5h://[user[:password]@]host[:port] (SOCKS5, port 1080 by default) or http://[user[:password]@]host[:port] (HTTP CONNECT, port 80)"

// parseProxy checks the URL of --proxy: socks5h:// as mosquitto_pub's,
// and petrel's own socks5:// (petrel resolves the broker's name) and
// http:// (an HTTP proxy that allows CONNECT).
func parseProxy(s string) (*url.URL, error) {
	p, err := url.Parse(s)
	if err != nil || !hasScheme(s) {
		return nil, usageErr("--proxy %q: not a proxy URL: %s", s, proxyForm)
	}
	shown := p.Redacted()
	switch p.Scheme {
	case "socks5h", "socks5", "http":
	default:
		return nil, usageErr("--proxy %s: scheme %q not supported: %s", shown, p.Scheme, proxyForm)
	}
	if p.Hostname() == "" {
		return nil, usageErr("--proxy %s: no proxy host: %s", shown, proxyForm)
	}
	if port := p.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, usageErr("--proxy %s: the port %q is not a number from 1 to 65535", shown, port)
		}
	}
	if (p.Path != "" && p.Path != "/") || p.RawQuery != "" || p.Fragment != "" {
		return nil, usageErr("--proxy %s: a proxy URL has no path, query or fragment: %s", shown, proxyForm)
	}
	if u := p.User; u != nil && p.Scheme != "http" {
		pass, _ := u.Password()
		if len(u.Username()) < 1 || len(u.Username()) > 255 || len(pass) > 255 {
			return nil, usageErr("--proxy %s: SOCKS5 takes a user name of 1 to 255 bytes and a password of at most 255 (RFC 1929)", shown)
		}
	}
	return p, nil
}

// proxy makes the client connect through the proxy of --proxy, setting
// cfg.Dial: the transport dialer with the broker addresses that
// cfg.Address and -h give, tried in order, and the TLS set-up of cfg
// (client certificate included).
func (f *connFlags) proxy(cfg *session.Config) error {
	if f.proxyURL == "" {
		return nil
	}
	p, err := parseProxy(f.proxyURL)
	if err != nil {
		return err
	}
	d := &transport.Dialer{
		TLSConfig: cfg.TLSConfig,
		Timeout:   -1, // session.Config.ConnectionTimeout bounds Connect
		Proxy:     func(*url.URL) (*url.URL, error) { return p, nil },
	}
	return f.dialer(cfg, d, "--proxy", " (through --proxy "+p.Redacted()+")")
}

// dialer sets cfg.Dial to dial the broker addresses of cfg with d, in
// order: the first that connects wins. flag names the option that asked
// for it, for errors; via is added to a failure to connect.
func (f *connFlags) dialer(cfg *session.Config, d *transport.Dialer, flag, via string) error {
	useKey := cfg.PrivateKey.IsSet()
	if useKey {
		creds, err := auth.Resolve("", nil, cfg.PrivateKey)
		if err != nil {
			return usageErr("%s: %s", flag, trimMQTT(err))
		}
		d.TLSConfig = creds.TLSConfig(d.TLSConfig)
	}
	var addrs []string
	for _, h := range append([]string{cfg.Address}, f.moreHosts...) {
		a := h
		if !hasScheme(h) {
			host, port := h, cfg.Port
			if hh, p, err := net.SplitHostPort(h); err == nil {
				host = hh
				port, _ = strconv.Atoi(p) // hosts checked it
			}
			var err error
			if a, err = transport.Address(host, port, cfg.Option == session.TLS || useKey); err != nil {
				return usageErr("-h %q: %s", h, trimMQTT(err))
			}
		}
		addrs = append(addrs, a)
	}
	if cfg.Reconnect != nil {
		cfg.Reconnect.Addresses = nil // cfg.Dial tries them all
	}
	cfg.Dial = func(ctx context.Context) (net.Conn, error) {
		var errs []error
		for _, a := range addrs {
			conn, err := d.Dial(ctx, a)
			if err == nil {
				return conn, nil
			}
			errs = append(errs, dialError{err, via})
			if ctx.Err() != nil {
				break
			}
		}
		return nil, errors.Join(errs...)
	}
	return nil
}

// dialError is a transport error without its "mqtt: dial " prefix (the
// session adds "mqtt: dial: " to what Config.Dial returns), and with via
// after a failure to connect, which the error alone would not tie to the
// proxy.
type dialError struct {
	err error
	via string
}

func (e dialError) Error() string {
	s := strings.TrimPrefix(e.err.Error(), "mqtt: dial ")
	if de, ok := errors.AsType[*transport.DialError](e.err); ok && de.Op == "connect" {
		s += e.via
	}
	return s
}

func (e dialError) Unwrap() error { return e.err }
