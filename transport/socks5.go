package transport

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
)

// SOCKS version 5 (RFC 1928, https://www.rfc-editor.org/rfc/rfc1928) and
// its username/password authentication (RFC 1929,
// https://www.rfc-editor.org/rfc/rfc1929): the bytes of the exchange.
const (
	socksVersion     = 0x05
	socksNoAuth      = 0x00 // method: no authentication required
	socksUserPass    = 0x02 // method: username/password (RFC 1929)
	socksNoMethod    = 0xFF // reply: no acceptable method
	socksUserPassVer = 0x01 // the version of the RFC 1929 sub-negotiation
	socksCmdConnect  = 0x01 // command: CONNECT
	socksIPv4        = 0x01 // address types
	socksDomain      = 0x03
	socksIPv6        = 0x04
)

// SOCKSError reports a SOCKS5 proxy that refused to open the tunnel: its
// reply to the CONNECT request carried a code other than "succeeded" (RFC
// 1928 section 6), or it rejected the user name and password (RFC 1929
// section 2: Reply is then 0 and Auth true).
type SOCKSError struct {
	Proxy  string // the proxy URL, its password redacted
	Target string // host:port the tunnel was asked for
	Reply  byte   // the REP field of the reply
	Auth   bool   // the proxy refused the credentials
}

// Error reads, for example,
// "mqtt: socks5 proxy socks5h://127.0.0.1:1080 refused CONNECT broker:1883: connection refused (reply 5)".
func (e *SOCKSError) Error() string {
	if e.Auth {
		return fmt.Sprintf("mqtt: socks5 proxy %s refused the user name and password (RFC 1929)", e.Proxy)
	}
	return fmt.Sprintf("mqtt: socks5 proxy %s refused CONNECT %s: %s (reply %d)", e.Proxy, e.Target, socksReply(e.Reply), e.Reply)
}

// socksReply names the reply codes of RFC 1928 section 6.
func socksReply(rep byte) string {
	switch rep {
	case 0x01:
		return "general SOCKS server failure"
	case 0x02:
		return "connection not allowed by ruleset"
	case 0x03:
		return "network unreachable"
	case 0x04:
		return "host unreachable"
	case 0x05:
		return "connection refused"
	case 0x06:
		return "TTL expired"
	case 0x07:
		return "command not supported"
	case 0x08:
		return "address type not supported"
	}
	return "unassigned reply code"
}

// isSOCKS reports whether proxy is a SOCKS5 proxy URL: socks5:// (the
// client resolves the broker's host name) or socks5h:// (the proxy does).
func isSOCKS(proxy *url.URL) bool { return proxy.Scheme == "socks5" || proxy.Scheme == "socks5h" }

// socksConnect asks the SOCKS5 proxy at the other end of conn for a tunnel
// to target (host:port), authenticating with the user name and password
// of the proxy URL if it has any. For socks5:// it resolves the host name
// with resolver first; for socks5h:// it sends the name. Every read is of
// a size fixed by the protocol, with a one-byte length at most, into a
// buffer on the stack: nothing the proxy claims makes it allocate. The
// caller sets the deadline and closes conn on error.
func socksConnect(ctx context.Context, conn net.Conn, proxy *url.URL, target string, resolver *net.Resolver) error {
	host, portText, err := net.SplitHostPort(target)
	if err != nil {
		return err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return fmt.Errorf("mqtt: socks5: bad port %q", portText)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil && proxy.Scheme == "socks5" {
		if resolver == nil {
			resolver = net.DefaultResolver
		}
		ips, err := resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return err
		}
		if len(ips) == 0 {
			return fmt.Errorf("mqtt: socks5: no address for %s", host)
		}
		ip = ips[0]
	}
	if !ip.IsValid() && len(host) > 255 {
		return fmt.Errorf("mqtt: socks5: host name of %d bytes, more than the 255 SOCKS5 can carry", len(host))
	}

	// Method selection (RFC 1928 section 3).
	var b [3 + 2*255]byte // the largest message either way: RFC 1929's request
	user, pass, hasUser := "", "", proxy.User != nil
	if hasUser {
		user = proxy.User.Username()
		pass, _ = proxy.User.Password()
		if len(user) == 0 || len(user) > 255 || len(pass) > 255 {
			return fmt.Errorf("mqtt: socks5 proxy %s: the user name must be 1 to 255 bytes and the password at most 255 (RFC 1929)", proxy.Redacted())
		}
	}
	msg := append(b[:0], socksVersion, 1, socksNoAuth)
	if hasUser {
		msg = append(b[:0], socksVersion, 2, socksNoAuth, socksUserPass)
	}
	if _, err := conn.Write(msg); err != nil {
		return err
	}
	if _, err := io.ReadFull(conn, b[:2]); err != nil {
		return unexpectedEOF(err)
	}
	if b[0] != socksVersion {
		return fmt.Errorf("mqtt: proxy %s does not speak SOCKS5: it answered version %d", proxy.Redacted(), b[0])
	}
	switch method := b[1]; {
	case method == socksNoAuth:
	case method == socksUserPass && hasUser:
		// RFC 1929 section 2.
		msg = append(b[:0], socksUserPassVer, byte(len(user)))
		msg = append(msg, user...)
		msg = append(msg, byte(len(pass)))
		msg = append(msg, pass...)
		if _, err := conn.Write(msg); err != nil {
			return err
		}
		if _, err := io.ReadFull(conn, b[:2]); err != nil {
			return unexpectedEOF(err)
		}
		if b[1] != 0x00 {
			return &SOCKSError{Proxy: proxy.Redacted(), Target: target, Auth: true}
		}
	case method == socksNoMethod && !hasUser:
		return fmt.Errorf("mqtt: socks5 proxy %s requires authentication: give user:password@ in the proxy URL", proxy.Redacted())
	case method == socksNoMethod:
		return fmt.Errorf("mqtt: socks5 proxy %s accepts neither no authentication nor a user name and password", proxy.Redacted())
	default:
		return fmt.Errorf("mqtt: socks5 proxy %s chose authentication method %d, which was not offered", proxy.Redacted(), method)
	}

	// The CONNECT request (section 4) and its reply (section 6).
	msg = append(b[:0], socksVersion, socksCmdConnect, 0x00)
	switch {
	case ip.Is4() || ip.Is4In6():
		a := ip.Unmap().As4()
		msg = append(append(msg, socksIPv4), a[:]...)
	case ip.Is6():
		a := ip.As16()
		msg = append(append(msg, socksIPv6), a[:]...)
	default:
		msg = append(append(msg, socksDomain, byte(len(host))), host...)
	}
	msg = binary.BigEndian.AppendUint16(msg, uint16(port))
	if _, err := conn.Write(msg); err != nil {
		return err
	}
	if _, err := io.ReadFull(conn, b[:5]); err != nil {
		return unexpectedEOF(err)
	}
	if b[0] != socksVersion {
		return fmt.Errorf("mqtt: proxy %s does not speak SOCKS5: it answered version %d", proxy.Redacted(), b[0])
	}
	if b[1] != 0x00 {
		return &SOCKSError{Proxy: proxy.Redacted(), Target: target, Reply: b[1]}
	}
	// The bound address, which the client does not need, then the port;
	// b[4] is its first byte, or the length of a domain name.
	var rest int
	switch b[3] {
	case socksIPv4:
		rest = 4 - 1 + 2
	case socksIPv6:
		rest = 16 - 1 + 2
	case socksDomain:
		rest = int(b[4]) + 2 // at most 257
	default:
		return fmt.Errorf("mqtt: socks5 proxy %s: reply with unknown address type %d", proxy.Redacted(), b[3])
	}
	if _, err := io.ReadFull(conn, b[:rest]); err != nil {
		return unexpectedEOF(err)
	}
	return nil
}
