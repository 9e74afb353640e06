package transport

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// DefaultWebSocketPath is the path of a ws:// or wss:// address that has
// none. MQTT 3.1.1 gives the URI no meaning (section 6); "/mqtt" is the
// common convention. Mosquitto accepts any path; other brokers expect
// "/mqtt" or make it configurable.
const DefaultWebSocketPath = "/mqtt"

// Default ports, registered with IANA for MQTT (section 4.2) and for HTTP.
const (
	DefaultPort          = 1883
	DefaultTLSPort       = 8883
	DefaultWebSocketPort = 80
	DefaultWSSPort       = 443
)

// scheme is what an address scheme means for Dial.
type scheme struct {
	tls  bool // TLS on top of TCP
	ws   bool // WebSocket on top of TCP or TLS
	port int  // default port
}

var schemes = map[string]scheme{
	"tcp":   {port: DefaultPort},
	"mqtt":  {port: DefaultPort},
	"ssl":   {tls: true, port: DefaultTLSPort},
	"tls":   {tls: true, port: DefaultTLSPort},
	"mqtts": {tls: true, port: DefaultTLSPort},
	"ws":    {ws: true, port: DefaultWebSocketPort},
	"wss":   {ws: true, tls: true, port: DefaultWSSPort},
}

const wantSchemes = "want tcp, mqtt, ssl, tls, mqtts, ws or wss"

// ParseAddress checks a broker address and returns it in full, with the
// port and, for WebSocket, the path filled in. Dial accepts the same
// addresses.
//
// An address is a URL whose scheme says how to connect:
//
//	tcp://host:port, mqtt://host:port     plain TCP, port 1883 by default
//	ssl://, tls://, mqtts://host:port     TLS, port 8883 by default
//	ws://host:port/path                   WebSocket, port 80, path "/mqtt" by default
//	wss://host:port/path                  WebSocket over TLS, port 443, path "/mqtt" by default
//
// The host is a host name, an IPv4 address or an IPv6 address in brackets
// ("tcp://[::1]:1883", with a zone as "[fe80::1%25eth0]"). Only ws:// and
// wss:// addresses may have a path or a query; none may hold user
// information or a fragment. Errors are *AddressError.
func ParseAddress(address string) (*url.URL, error) {
	bad := func(part, reason string, err error) error {
		return &AddressError{Address: address, Part: part, Reason: reason, Err: err}
	}
	if !strings.Contains(address, "://") {
		return nil, bad("scheme", "missing scheme; give a URL such as tcp://"+address+" ("+wantSchemes+")", nil)
	}
	u, err := url.Parse(address)
	if err != nil {
		var uerr *url.Error
		reason := err.Error()
		if errors.As(err, &uerr) {
			reason = uerr.Err.Error()
		}
		part := "URL"
		switch {
		case strings.Contains(reason, "port"):
			part = "port"
		case strings.Contains(reason, "host") || strings.Contains(reason, "IPv6"):
			part = "host"
		case strings.Contains(reason, "scheme"):
			part = "scheme"
		}
		return nil, bad(part, reason, err)
	}
	sch, ok := schemes[u.Scheme]
	if !ok {
		return nil, bad("scheme", "unknown scheme "+strconv.Quote(u.Scheme)+" ("+wantSchemes+")", nil)
	}
	if u.User != nil {
		address = u.Redacted() // keep the password out of the error
		return nil, bad("user info", "user name or password in the address; pass credentials in the MQTT CONNECT packet instead", nil)
	}
	if u.Fragment != "" || strings.HasSuffix(address, "#") {
		return nil, bad("fragment", "an address has no fragment", nil)
	}
	host := u.Hostname()
	if host == "" {
		return nil, bad("host", "missing host", nil)
	}
	if reason := checkHost(host, strings.HasPrefix(u.Host, "[")); reason != "" {
		return nil, bad("host", reason, nil)
	}
	port := sch.port
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, bad("port", strconv.Quote(p)+" is not a port number from 1 to 65535", err)
		}
		port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, bad("port", "empty port after ':'", nil)
	}
	out := &url.URL{Scheme: u.Scheme, Host: net.JoinHostPort(host, strconv.Itoa(port))}
	if sch.ws {
		out.Path, out.RawPath, out.RawQuery = u.Path, u.RawPath, u.RawQuery
		if out.Path == "" {
			out.Path = DefaultWebSocketPath
		}
		return out, nil
	}
	if u.Path != "" && u.Path != "/" {
		return nil, bad("path", "path "+strconv.Quote(u.Path)+" on a "+u.Scheme+":// address; only ws:// and wss:// take a path", nil)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return nil, bad("query", "query on a "+u.Scheme+":// address; only ws:// and wss:// take a query", nil)
	}
	return out, nil
}

// Address returns the address of a broker given as separate parameters: a
// host name or IP address, a port (0 means 1883, or 8883 with TLS) and
// whether to use TLS. The result ("mqtt://host:1883" or
// "mqtts://host:8883") is ready for Dial. IPv6 addresses may be given with
// or without brackets. Errors are *AddressError.
func Address(host string, port int, useTLS bool) (string, error) {
	desc := net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
	bad := func(part, reason string) (string, error) {
		return "", &AddressError{Address: desc, Part: part, Reason: reason}
	}
	h := host
	bracketed := strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]")
	if bracketed {
		h = h[1 : len(h)-1]
	}
	switch {
	case h == "":
		return bad("host", "missing host")
	case strings.Contains(h, "://"):
		return bad("host", "the host looks like a URL; pass URLs to Dial or ParseAddress instead")
	case !bracketed && strings.Contains(h, ":") && !isIPv6(h):
		return bad("host", "the host contains ':' but is not an IPv6 address; give the port separately")
	}
	if reason := checkHost(h, bracketed || isIPv6(h)); reason != "" {
		return bad("host", reason)
	}
	s := "mqtt"
	switch {
	case port < 0 || port > 65535:
		return bad("port", strconv.Itoa(port)+" is not a port number from 1 to 65535 (or 0 for the default)")
	case port == 0 && useTLS:
		port = DefaultTLSPort
	case port == 0:
		port = DefaultPort
	}
	if useTLS {
		s = "mqtts"
	}
	u := url.URL{Scheme: s, Host: net.JoinHostPort(h, strconv.Itoa(port))}
	return u.String(), nil
}

// checkHost returns why host is not an IP address or a host name, or "" if
// it is one. An IPv6 address (possibly with a zone) must have come in
// brackets.
func checkHost(host string, bracketed bool) string {
	if bracketed {
		if !isIPv6(host) {
			return strconv.Quote(host) + " in brackets is not an IPv6 address"
		}
		return ""
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.To4() == nil {
			return "IPv6 address " + strconv.Quote(host) + " must be in brackets"
		}
		return ""
	}
	name := strings.TrimSuffix(host, ".")
	if len(name) > 253 {
		return "host name longer than 253 characters"
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return "empty label in host name " + strconv.Quote(host)
		}
		if len(label) > 63 {
			return "label longer than 63 characters in host name " + strconv.Quote(host)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "character " + strconv.QuoteRune(c) + " not allowed in host name " + strconv.Quote(host)
			}
		}
	}
	return ""
}

// isIPv6 reports whether s is an IPv6 address, possibly with a zone.
func isIPv6(s string) bool {
	if i := strings.IndexByte(s, '%'); i > 0 {
		s = s[:i]
	}
	ip := net.ParseIP(s)
	return ip != nil && strings.Contains(s, ":")
}
