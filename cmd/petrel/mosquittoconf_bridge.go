package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
	"github.com/petrel-mqtt/petrel/packet"
)

// Bridges: a "connection NAME" line starts a bridge, and the bridge
// directives that follow, up to the next connection, configure it
// (mosquitto.conf(5), Configuring Bridges). Each becomes a broker.Bridge.

// confBridge is a connection block.
type confBridge struct {
	file string
	line int
	b    broker.Bridge

	cafile, certfile, keyfile string
	insecure                  bool
	tlsMin                    uint16
	notifications, localOnly  bool
}

// bridgeDirectives is the table of the bridge directives: those of
// mosquitto.conf(5) that Petrel implements, and the others, which are
// errors saying what to do instead.
var bridgeDirectives = map[string]directive{
	"connection": {set: (*confReader).connection},
	"address":    {set: inBridge(func(c *confBridge, a []string) error { return c.addresses(a) })},
	"addresses":  {set: inBridge(func(c *confBridge, a []string) error { return c.addresses(a) })},
	"topic":      {set: inBridge((*confBridge).topic)},
	"cleansession": {set: inBridge(func(c *confBridge, a []string) error {
		return boolTo(a, &c.b.CleanSession)
	})},
	"clientid":        {set: inBridge(func(c *confBridge, a []string) error { c.b.ClientID = a[0]; return nil })},
	"remote_clientid": {set: inBridge(func(c *confBridge, a []string) error { c.b.ClientID = a[0]; return nil })},
	"local_clientid":  {set: inBridge(func(c *confBridge, a []string) error { c.b.LocalClientID = a[0]; return nil })},
	"remote_username": {set: inBridge(func(c *confBridge, a []string) error { c.b.Username = a[0]; return nil })},
	"username":        {set: inBridge(func(c *confBridge, a []string) error { c.b.Username = a[0]; return nil })},
	"remote_password": {set: inBridge(func(c *confBridge, a []string) error { c.b.Password = strings.Join(a, " "); return nil })},
	"password":        {set: inBridge(func(c *confBridge, a []string) error { c.b.Password = strings.Join(a, " "); return nil })},
	"bridge_protocol_version": {set: inBridge(func(c *confBridge, a []string) error {
		if a[0] != "mqttv311" {
			return fmt.Errorf("%q is not supported by Petrel: its bridges speak MQTT 3.1.1; write mqttv311, or remove the line", a[0])
		}
		return nil
	})},
	"bridge_cafile":   {set: inBridge(func(c *confBridge, a []string) error { c.cafile = strings.Join(a, " "); return nil })},
	"bridge_certfile": {set: inBridge(func(c *confBridge, a []string) error { c.certfile = strings.Join(a, " "); return nil })},
	"bridge_keyfile":  {set: inBridge(func(c *confBridge, a []string) error { c.keyfile = strings.Join(a, " "); return nil })},
	"bridge_insecure": {set: inBridge(func(c *confBridge, a []string) error { return boolTo(a, &c.insecure) })},
	"bridge_tls_version": {set: inBridge(func(c *confBridge, a []string) error {
		switch a[0] {
		case "tlsv1.3":
			c.tlsMin = tls.VersionTLS13
		case "tlsv1.2", "tlsv1.1":
			c.tlsMin = tls.VersionTLS12 // Petrel's lowest
		default:
			return fmt.Errorf("%q: tlsv1.3, tlsv1.2 or tlsv1.1", a[0])
		}
		return nil
	})},
	"keepalive_interval": {set: inBridge(func(c *confBridge, a []string) error {
		var n int
		if err := intInto(a[0], 5, 65535, &n); err != nil {
			return err
		}
		c.b.KeepAlive = time.Duration(n) * time.Second
		return nil
	})},
	"restart_timeout": {set: inBridge((*confBridge).restartTimeout)},
	"notifications": {set: inBridge(func(c *confBridge, a []string) error {
		return boolTo(a, &c.notifications)
	})},
	"notifications_local_only": {set: inBridge(func(c *confBridge, a []string) error {
		return boolTo(a, &c.localOnly)
	})},
	"notification_topic": {set: inBridge(func(c *confBridge, a []string) error {
		if err := packet.ValidateTopicName(a[0]); err != nil {
			return fmt.Errorf("%q: %v", a[0], err)
		}
		c.b.NotificationTopic = a[0]
		return nil
	})},
	"try_private": {set: inBridge(func(c *confBridge, a []string) error { return boolTo(a, &c.b.TryPrivate) })},
	"start_type": {set: inBridge(func(c *confBridge, a []string) error {
		if a[0] != "automatic" {
			return fmt.Errorf("%q is not supported by Petrel: its bridges start with the broker and reconnect for ever (automatic); remove the line", a[0])
		}
		return nil
	})},
	"round_robin": {set: inBridge(func(c *confBridge, a []string) error {
		var rr bool
		return boolTo(a, &rr) // Petrel stays on the address that works, as round_robin true; see the docs
	})},
	"bridge_attempt_unsubscribe": {set: inBridge(func(*confBridge, []string) error { return nil })},
	"local_username":             {fail: "a bridge's connection to petrel broker is in-process, the broker's own: it needs no user name and is not checked against the ACL; remove the line"},
	"local_password":             {fail: "a bridge's connection to petrel broker is in-process, the broker's own: it needs no password; remove the line"},
	"local_cleansession":         {fail: "the bridge's local session is always kept (it holds the messages while the remote broker is down); remove the line"},
	"bridge_capath":              {fail: "give the CA certificates in one file with bridge_cafile"},
	"bridge_alpn":                {fail: "ALPN is not implemented for bridges; remove the line"},
	"bridge_identity":            {fail: "TLS-PSK is not implemented: use certificates (bridge_cafile, bridge_certfile, bridge_keyfile)"},
	"bridge_psk":                 {fail: "TLS-PSK is not implemented: use certificates (bridge_cafile, bridge_certfile, bridge_keyfile)"},
	"bridge_require_ocsp":        {fail: "OCSP is not implemented; remove the line"},
	"bridge_bind_address":        {fail: "not implemented; remove the line"},
	"bridge_max_packet_size":     {fail: "not implemented: a message the remote broker refuses is dropped and logged; remove the line"},
	"bridge_outgoing_retain":     {fail: "not implemented: retained messages go out retained; remove the line"},
	"idle_timeout":               {fail: "lazy bridges are not implemented (start_type automatic only); remove the line"},
	"threshold":                  {fail: "lazy bridges are not implemented (start_type automatic only); remove the line"},
}

// bridgeUnknown is the error of a bridge_*, local_* or notification*
// directive that Mosquitto 2 does not have either.
const bridgeUnknown = "unknown bridge directive: see docs/migrating-from-mosquitto.md, Bridges, for those Petrel reads"

// inBridge makes a directive that belongs to the current connection block.
func inBridge(set func(*confBridge, []string) error) func(*confReader, []string) error {
	return func(r *confReader, a []string) error {
		if len(r.x.bridges) == 0 {
			return errors.New("outside a bridge: put it after a \"connection NAME\" line")
		}
		return set(r.x.bridges[len(r.x.bridges)-1], a)
	}
}

func (r *confReader) connection(a []string) error {
	r.x.bridges = append(r.x.bridges, &confBridge{
		file: r.file, line: r.line,
		b:             broker.Bridge{Name: strings.Join(a, " ")},
		notifications: true,
	})
	return nil
}

func boolTo(a []string, v *bool) error {
	b, err := parseBool(a)
	*v = b
	return err
}

func (c *confBridge) addresses(a []string) error {
	for _, s := range a {
		if _, _, err := splitBridgeAddress(s); err != nil {
			return err
		}
	}
	c.b.Addresses = append(c.b.Addresses, a...)
	return nil
}

// splitBridgeAddress checks a Mosquitto bridge address, host[:port].
func splitBridgeAddress(s string) (host string, port int, err error) {
	host, p, found := strings.Cut(s, ":")
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") > 1 {
		i := strings.LastIndex(s, "]:")
		if !strings.HasPrefix(s, "[") || i < 0 {
			return "", 0, fmt.Errorf("%q: an IPv6 address needs brackets and a port, [addr]:port", s)
		}
		host, p, found = s[1:i], s[i+2:], true
	}
	port = 1883
	if found {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return "", 0, fmt.Errorf("%q: port %q is not 1 to 65535", s, p)
		}
	}
	return host, port, nil
}

// topic reads "topic pattern [[[out|in|both] qos] local-prefix remote-prefix]";
// "" is the empty pattern or prefix.
func (c *confBridge) topic(a []string) error {
	unq := func(s string) string {
		if s == `""` {
			return ""
		}
		return s
	}
	if len(a) > 5 || len(a) == 4 {
		return errors.New("wants: pattern [out|in|both [qos [local-prefix remote-prefix]]]")
	}
	t := broker.BridgeTopic{Pattern: unq(a[0])}
	if len(a) > 1 {
		switch a[1] {
		case "out":
			t.Direction = broker.Out
		case "in":
			t.Direction = broker.In
		case "both":
			t.Direction = broker.Both
		default:
			return fmt.Errorf("direction %q: out, in or both", a[1])
		}
	}
	if len(a) > 2 {
		var q int
		if err := intInto(a[2], 0, 2, &q); err != nil {
			return fmt.Errorf("QoS %v", err)
		}
		t.QoS = packet.QoS(q)
	}
	if len(a) == 5 {
		t.LocalPrefix, t.RemotePrefix = unq(a[3]), unq(a[4])
	}
	c.b.Topics = append(c.b.Topics, t)
	return nil
}

// restartTimeout reads "restart_timeout base cap" or "restart_timeout
// constant", in seconds.
func (c *confBridge) restartTimeout(a []string) error {
	if len(a) > 2 {
		return errors.New("wants: base cap, or one constant, in seconds")
	}
	var lo, hi int
	if err := intInto(a[0], 1, 1<<20, &lo); err != nil {
		return err
	}
	hi = lo
	if len(a) == 2 {
		if err := intInto(a[1], lo, 1<<20, &hi); err != nil {
			return fmt.Errorf("cap %v", err)
		}
	}
	c.b.RestartMin, c.b.RestartMax = time.Duration(lo)*time.Second, time.Duration(hi)*time.Second
	return nil
}

// finishBridges makes the broker.Bridge of each connection block, TLS
// included; broker.New checks them (see bridgeErr).
func (x *mosquittoConf) finishBridges() error {
	for _, c := range x.bridges {
		fail := func(format string, args ...any) error {
			return usageErr("-c %s: line %d: connection %s: %s", c.file, c.line, c.b.Name, fmt.Sprintf(format, args...))
		}
		switch {
		case !c.notifications:
			c.b.Notifications = broker.NotifyNone
		case c.localOnly:
			c.b.Notifications = broker.NotifyLocal
		}
		if c.cafile != "" || c.certfile != "" || c.keyfile != "" || c.tlsMin != 0 || c.insecure {
			tc, err := c.tlsConfig()
			if err != nil {
				return fail("%v", err)
			}
			c.b.TLS = tc
		}
		x.bridgeCfgs = append(x.bridgeCfgs, c.b)
	}
	return nil
}

// bridgeErr names the file and line of the connection block whose bridge
// broker.New refused (a *broker.ConfigError for "Bridges[i]..."); nil if
// err is not about a bridge of the file.
func (x *mosquittoConf) bridgeErr(err error) error {
	ce, ok := errors.AsType[*broker.ConfigError](err)
	if x == nil || !ok || !strings.HasPrefix(ce.Field, "Bridges[") {
		return nil
	}
	var i int
	if _, e := fmt.Sscanf(ce.Field, "Bridges[%d]", &i); e != nil || i >= len(x.bridges) {
		return nil
	}
	c := x.bridges[i]
	field := ce.Field[strings.Index(ce.Field, "]")+2:]
	return usageErr("-c %s: line %d: connection %s: %s: %s (see docs/migrating-from-mosquitto.md, Bridges)", c.file, c.line, c.b.Name, bridgeFieldNames[strings.SplitN(field, "[", 2)[0]], ce.Reason)
}

// bridgeFieldNames are the directives of broker.Bridge's fields.
var bridgeFieldNames = map[string]string{
	"Name": "connection", "Addresses": "address", "Topics": "topic", "KeepAlive": "keepalive_interval",
	"RestartMax": "restart_timeout", "RestartMin": "restart_timeout", "KeepAlive, RestartMin, RestartMax": "keepalive_interval or restart_timeout",
	"Password": "remote_password", "NotificationTopic": "notification_topic", "LocalClientID": "local_clientid",
	"Notifications": "notifications",
}

func (c *confBridge) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.tlsMin != 0 {
		tc.MinVersion = c.tlsMin
	}
	if c.cafile != "" {
		pem, err := os.ReadFile(c.cafile)
		if err != nil {
			return nil, fmt.Errorf("bridge_cafile: %v", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("bridge_cafile %s: no PEM certificate in it", c.cafile)
		}
	}
	switch {
	case c.certfile != "" && c.keyfile != "":
		cert, err := tls.LoadX509KeyPair(c.certfile, c.keyfile)
		if err != nil {
			return nil, fmt.Errorf("bridge_certfile, bridge_keyfile: %v", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	case c.certfile != "" || c.keyfile != "":
		return nil, errors.New("bridge_certfile and bridge_keyfile go together: give both, or neither")
	}
	if c.insecure {
		// Mosquitto's bridge_insecure skips the host name check only:
		// the chain is still verified against the CA.
		roots := tc.RootCAs
		tc.InsecureSkipVerify = true
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, roots)
		}
	}
	return tc, nil
}

// verifyChain verifies a peer's certificates against roots (nil: the
// system's), without a host name.
func verifyChain(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("the remote broker sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return err
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	return err
}
