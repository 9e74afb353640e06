package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/petrel-mqtt/petrel/broker"
	"github.com/petrel-mqtt/petrel/packet"
)

// A configuration file (-c) is read by one parser with one table: each
// line is "directive value...". The directives are Mosquitto 2's (see
// docs/migrating-from-mosquitto.md); a line whose key is not one of them
// may be a flag of petrel broker without its dash ('_' for '-'), Petrel's
// own form. A file with a Mosquitto-only directive (listener, port,
// per_listener_settings...) is read with Mosquitto's defaults.

// mosquittoConf holds what a configuration file sets beyond the flags.
type mosquittoConf struct {
	mosquitto bool // a Mosquitto-only directive was seen

	listeners   []*confListener
	perListener bool
	tlsSet      map[string]string // a TLS directive → its value, for per-listener conflicts
	tlsMin      uint16
	caPath      string
	allowAnon   *bool

	persistence    *bool  // persistence: Mosquitto's default is false
	persistDir     string // persistence_location
	persistFile    string // persistence_file
	maxPayload     int
	maxKeepAlive   int
	refuseEmptyID  bool
	idPrefix       *string
	sysIntervalSet bool

	logDests   []string // stderr, stdout, none or a file name
	logLevel   *slog.Level
	logNone    bool
	quietConns bool // connection_messages false
	pidFile    string

	warnings []string

	bridges    []*confBridge   // connection blocks
	bridgeCfgs []broker.Bridge // made of them by finishBridges
}

// confListener is a listener block.
type confListener struct {
	line              int
	port, addr        string
	domain            string // ipv4, ipv6 or ""
	websockets, isTLS bool
}

// directive is a row of the table: what a directive takes and does.
type directive struct {
	set func(r *confReader, args []string) error // nil: warn or fail
	// warn, for a directive that only tunes Mosquitto's internals: it is
	// ignored with this note. fail: Petrel does not implement it.
	warn, fail string
}

// confReader reads one configuration file and the files it includes.
type confReader struct {
	f       *brokerFlags
	fs      *flag.FlagSet
	x       *mosquittoConf
	cmdline map[string]bool // flags given on the command line: they win
	cur     *confListener   // the listener block lines belong to
	file    string          // the file and line being read
	line    int
}

// directives is the table of Mosquitto 2's directives.
var directives = map[string]directive{
	"listener":              {set: (*confReader).listener},
	"port":                  {set: (*confReader).port},
	"bind_address":          {set: (*confReader).bindAddress},
	"protocol":              {set: (*confReader).protocol},
	"socket_domain":         {set: (*confReader).socketDomain},
	"per_listener_settings": {set: boolInto(func(r *confReader) *bool { return &r.x.perListener })},
	"allow_anonymous": {set: func(r *confReader, a []string) error {
		v, err := parseBool(a)
		r.x.allowAnon = &v
		return err
	}},
	"password_file":            {set: securityFlag("password-file")},
	"acl_file":                 {set: securityFlag("acl-file")},
	"cafile":                   {set: tlsFlag("cafile")},
	"certfile":                 {set: tlsFlag("certfile")},
	"keyfile":                  {set: tlsFlag("keyfile")},
	"require_certificate":      {set: tlsBoolFlag("require-certificate")},
	"use_identity_as_username": {set: tlsBoolFlag("use-identity-as-username")},
	"capath": {set: func(r *confReader, a []string) error {
		r.x.caPath = a[0]
		return r.tlsListener("capath", a[0])
	}},
	"tls_version": {set: func(r *confReader, a []string) error {
		switch a[0] {
		case "tlsv1.3":
			r.x.tlsMin = tls.VersionTLS13
		case "tlsv1.2":
			r.x.tlsMin = tls.VersionTLS12
		case "tlsv1.1":
			r.x.warnings = append(r.x.warnings, "tls_version tlsv1.1: Petrel accepts TLS 1.2 and 1.3 only")
		default:
			return fmt.Errorf("%q: tlsv1.3, tlsv1.2 or tlsv1.1", a[0])
		}
		return r.tlsListener("tls_version", a[0])
	}},
	"use_subject_as_username": {set: onlyFalse("Petrel takes the user name from the certificate's common name (use_identity_as_username)")},
	"crlfile":                 {fail: "certificate revocation lists are not implemented: remove the revoked certificates' CA or reissue"},
	"ciphers":                 {fail: "Petrel's TLS 1.2 suites are fixed (ECDHE with AES-GCM or ChaCha20-Poly1305) and TLS 1.3's are not configurable: remove the line"},
	"ciphers_tls1.3":          {fail: "TLS 1.3's suites are not configurable in Petrel: remove the line"},
	"max_connections": {set: func(r *confReader, a []string) error {
		return r.intFlag("max-connections", a[0], -1, 1<<30, map[int]string{-1: strconv.Itoa(1 << 30)})
	}},
	"max_inflight_messages": {set: func(r *confReader, a []string) error {
		return r.intFlag("max-inflight", a[0], 0, 65535, map[int]string{0: "65535"})
	}},
	"max_queued_messages": {set: func(r *confReader, a []string) error {
		return r.intFlag("max-queued", a[0], 0, 1<<30, map[int]string{0: strconv.Itoa(1 << 30)})
	}},
	"max_queued_bytes": {set: func(r *confReader, a []string) error {
		return r.intFlag("max-queued-bytes", a[0], 0, min(1<<40, math.MaxInt), nil) // 0: Petrel's default, 32 MiB; 2 GiB at most on 32-bit systems
	}},
	"max_packet_size": {set: func(r *confReader, a []string) error {
		// Below 20 bytes no client gets in: refused, as Mosquitto does.
		if n, err := strconv.Atoi(a[0]); err == nil && n > 0 && n < 20 {
			return fmt.Errorf("%d bytes: too small for a CONNECT; 0 (the default) or 20 and more", n)
		}
		return r.intFlag("max-packet-size", a[0], 0, 268435455+5, nil)
	}},
	"max_inflight_bytes": {set: onlyZero("a byte limit on the in-flight window is not implemented; max_queued_bytes counts in-flight messages too")},
	"message_size_limit": {set: func(r *confReader, a []string) error {
		return intInto(a[0], 0, 268435455, &r.x.maxPayload)
	}},
	"max_keepalive": {set: func(r *confReader, a []string) error {
		return intInto(a[0], 0, 65535, &r.x.maxKeepAlive)
	}},
	"allow_zero_length_clientid": {set: func(r *confReader, a []string) error {
		v, err := parseBool(a)
		r.x.refuseEmptyID = !v
		return err
	}},
	"auto_id_prefix": {set: func(r *confReader, a []string) error {
		p := strings.Join(a, " ")
		r.x.idPrefix = &p
		return nil
	}},
	"queue_qos0_messages":          {set: onlyFalse("Petrel does not queue QoS 0 messages for offline sessions")},
	"persistent_client_expiration": {fail: "persistent sessions do not expire in Petrel; remove the line, and clean up with CleanSession=1"},
	"persistence": {set: func(r *confReader, a []string) error {
		v, err := parseBool(a)
		r.x.persistence = &v
		return err
	}},
	"persistence_location": {set: func(r *confReader, a []string) error {
		r.x.persistDir = strings.Join(a, " ")
		return nil
	}},
	"persistence_file": {set: func(r *confReader, a []string) error {
		r.x.persistFile = strings.Join(a, " ")
		return nil
	}},
	"autosave_interval": {set: func(r *confReader, a []string) error {
		var n int
		if err := intInto(a[0], 0, 1<<20, &n); err != nil {
			return err
		}
		if n == 0 {
			n = 1
		}
		return r.setFlag("persist-interval", strconv.Itoa(n)+"s")
	}},
	"retain_available":         {set: onlyTrue("refusing retained messages is not implemented")},
	"check_retain_source":      {set: onlyFalse("re-checking a retained message's source is not implemented; every delivery is checked against the ACL")},
	"upgrade_outgoing_qos":     {set: onlyFalse("upgrading outgoing QoS is not implemented")},
	"mount_point":              {fail: "mount points are not implemented"},
	"use_username_as_clientid": {set: onlyFalse("not implemented")},
	"clientid_prefixes":        {fail: "not implemented; an ACL pattern with %c restricts what each client may do"},
	"sys_interval": {set: func(r *confReader, a []string) error {
		r.x.sysIntervalSet = true
		return r.setFlag("sys-interval", a[0]+"s")
	}},
	"log_dest": {set: (*confReader).logDest},
	"log_type": {set: (*confReader).logType},
	"connection_messages": {set: func(r *confReader, a []string) error {
		v, err := parseBool(a)
		r.x.quietConns = !v
		return err
	}},
	"user": {warn: "ignored: petrel does not drop privileges; start it as the user it should run as (systemd User=)"},
	"pid_file": {set: func(r *confReader, a []string) error {
		r.x.pidFile = strings.Join(a, " ")
		return nil
	}},

	// Tuning of Mosquitto's internals: warnings.
	"autosave_on_changes":      {warn: "ignored: Petrel writes its state every autosave_interval"},
	"set_tcp_nodelay":          {warn: "ignored: Go sets TCP_NODELAY"},
	"log_timestamp":            {warn: "ignored: Petrel's log lines always carry a time"},
	"log_timestamp_format":     {warn: "ignored: Petrel's log lines use RFC 3339 times"},
	"log_facility":             {warn: "ignored: Petrel does not log to syslog"},
	"websockets_log_level":     {warn: "ignored"},
	"websockets_headers_size":  {warn: "ignored"},
	"allow_duplicate_messages": {warn: "ignored: deprecated in Mosquitto; Petrel delivers a message once per session"},
	"max_topic_alias":          {warn: "ignored: an MQTT 5 setting; Petrel speaks MQTT 3.1.1 and 3.1"},
	"max_qos":                  {fail: "not implemented"},
	"memory_limit":             {fail: "not implemented; max_queued_bytes bounds each session, and Petrel bounds all sessions together (-max-total-queued-bytes) and the retained messages (-max-retained-bytes)"},
	"http_dir":                 {fail: "not implemented"},
	"bind_interface":           {fail: "not implemented: give the interface's address to listener"},
	"psk_hint":                 {fail: "TLS-PSK is not implemented"},
	"psk_file":                 {fail: "TLS-PSK is not implemented"},
	"plugin":                   {fail: "plugins are not supported: Petrel's broker package takes an Authenticator and an Authorizer in Go"},
	"auth_plugin":              {fail: "plugins are not supported: Petrel's broker package takes an Authenticator and an Authorizer in Go"},
	"password_file_hash":       {fail: "not implemented"},
	"include_file":             {fail: "not implemented: use include_dir"},
	"dhparamfile":              {warn: "ignored: Petrel's TLS key exchange is ECDHE only, which takes no DH parameters"},
	"tls_engine":               {fail: "TLS engines (hardware keys) are not supported: give keyfile a PEM key"},
	"tls_engine_kpass_sha1":    {fail: "TLS engines (hardware keys) are not supported: give keyfile a PEM key"},
	"tls_keyform":              {fail: "TLS engines (hardware keys) are not supported: give keyfile a PEM key"},

	// Bridges: bridgeDirectives, in mosquittoconf_bridge.go.
}

// mosquittoOnly are the directives that mark a file as Mosquitto's.
var mosquittoOnly = []string{"connection", "listener", "port", "per_listener_settings", "persistence", "persistence_location", "persistence_file", "log_dest", "log_type", "include_dir", "message_size_limit", "max_inflight_messages", "max_queued_messages"}

// readConfigFile reads name, and the files it includes, into f.
func (f *brokerFlags) readConfigFile(fs *flag.FlagSet, name string) error {
	f.mosq = &mosquittoConf{tlsSet: make(map[string]string)}
	r := &confReader{f: f, fs: fs, x: f.mosq, cmdline: make(map[string]bool)}
	for k := range f.set {
		r.cmdline[k] = true
	}
	if err := r.read(name, 0); err != nil {
		return err
	}
	return r.finish(name)
}

// read reads one file; depth counts include_dir levels.
func (r *confReader) read(name string, depth int) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return usageErr("-c: %v", err)
	}
	r.cur = nil
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		key, args := fields[0], fields[1:]
		fail := func(err error) error {
			return usageErr("-c %s: line %d: %s: %v", name, i+1, key, err)
		}
		if key == "include_dir" {
			if depth > 0 {
				return fail(errors.New("an included file cannot include others"))
			}
			if len(args) != 1 {
				return fail(errors.New("wants one directory"))
			}
			if err := r.includeDir(args[0], depth); err != nil {
				return err
			}
			continue
		}
		d, ok := directives[key]
		if !ok {
			d, ok = bridgeDirectives[key]
		}
		r.file, r.line = name, i+1
		switch {
		case !ok && strings.HasPrefix(key, "plugin_opt_"):
			d, ok = directives["plugin"], true
		case !ok && (strings.HasPrefix(key, "bridge_") || strings.HasPrefix(key, "local_") || strings.HasPrefix(key, "notification")):
			return fail(errors.New(bridgeUnknown))
		}
		switch {
		case ok && d.fail != "":
			return fail(errors.New("not supported by Petrel: " + d.fail))
		case ok && d.warn != "":
			r.x.warnings = append(r.x.warnings, fmt.Sprintf("%s: line %d: %s: %s", name, i+1, key, d.warn))
			continue
		case ok:
			if slices.Contains(mosquittoOnly, key) {
				r.x.mosquitto = true
			}
			if len(args) == 0 {
				return fail(errors.New("no value"))
			}
			if err := d.set(r, args); err != nil {
				return fail(err)
			}
			continue
		}
		if err := r.petrelKey(key, strings.TrimSpace(strings.TrimPrefix(line, key))); err != nil {
			return fail(err)
		}
	}
	return nil
}

// petrelKey sets a flag of petrel broker named by key, Petrel's own form.
func (r *confReader) petrelKey(key, value string) error {
	name := strings.ReplaceAll(key, "_", "-")
	fl := r.fs.Lookup(name)
	switch {
	case fl == nil:
		return errors.New("unknown directive: neither Mosquitto 2's nor a flag of petrel broker")
	case name == "c":
		return errors.New("a configuration file cannot name another (use include_dir)")
	}
	if value == "" {
		if bf, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			value = "true"
		} else {
			return errors.New("no value")
		}
	}
	if err := r.setFlag(name, value); err != nil {
		return fmt.Errorf("%q: %v", value, err)
	}
	return nil
}

// setFlag sets a flag unless the command line gave it.
func (r *confReader) setFlag(name, value string) error {
	if r.cmdline[name] {
		return nil
	}
	if err := r.fs.Set(name, value); err != nil {
		return err
	}
	r.f.set[name] = true
	return nil
}

// includeDir reads the files of dir whose names end in .conf, in
// alphabetical order, as Mosquitto does.
func (r *confReader) includeDir(dir string, depth int) error {
	names, err := filepath.Glob(filepath.Join(dir, "*.conf"))
	if err != nil {
		return usageErr("-c: include_dir %s: %v", dir, err)
	}
	if _, err := os.Stat(dir); err != nil {
		return usageErr("-c: include_dir: %v", err)
	}
	slices.Sort(names)
	cur := r.cur
	for _, n := range names {
		if err := r.read(n, depth+1); err != nil {
			return err
		}
	}
	r.cur = cur
	return nil
}

func (r *confReader) listener(a []string) error {
	if len(a) > 2 {
		return errors.New("wants a port and an optional address")
	}
	port, err := strconv.Atoi(a[0])
	if err != nil || port < 0 || port > 65535 {
		return fmt.Errorf("port %q: 0 to 65535", a[0])
	}
	l := &confListener{port: a[0]}
	if len(a) == 2 {
		if port == 0 || strings.Contains(a[1], "/") {
			return errors.New("unix sockets are not supported")
		}
		l.addr = a[1]
	}
	r.cur = l
	r.x.listeners = append(r.x.listeners, l)
	return nil
}

// port is the deprecated port of the default listener.
func (r *confReader) port(a []string) error {
	if _, err := strconv.ParseUint(a[0], 10, 16); err != nil {
		return fmt.Errorf("%q: 1 to 65535", a[0])
	}
	r.defaultListener().port = a[0]
	return nil
}

func (r *confReader) bindAddress(a []string) error {
	r.defaultListener().addr = a[0]
	return nil
}

// defaultListener is the listener of port and bind_address, made first.
func (r *confReader) defaultListener() *confListener {
	for _, l := range r.x.listeners {
		if l.line == -1 {
			return l
		}
	}
	l := &confListener{line: -1, port: "1883"}
	r.x.listeners = append([]*confListener{l}, r.x.listeners...)
	return l
}

func (r *confReader) protocol(a []string) error {
	if r.cur == nil {
		return errors.New("outside a listener block")
	}
	switch a[0] {
	case "mqtt":
		r.cur.websockets = false
	case "websockets":
		r.cur.websockets = true
	default:
		return fmt.Errorf("%q: mqtt or websockets", a[0])
	}
	return nil
}

func (r *confReader) socketDomain(a []string) error {
	if r.cur == nil {
		return errors.New("outside a listener block")
	}
	if a[0] != "ipv4" && a[0] != "ipv6" {
		return fmt.Errorf("%q: ipv4 or ipv6", a[0])
	}
	r.cur.domain = a[0]
	return nil
}

// tlsListener notes a TLS directive: it makes the current listener a TLS
// one. Petrel has one TLS configuration for all its TLS listeners, so a
// directive given two values is an error.
func (r *confReader) tlsListener(key, value string) error {
	if r.cur != nil {
		r.cur.isTLS = true
	}
	if v, ok := r.x.tlsSet[key]; ok && v != value {
		return fmt.Errorf("%q after %q: Petrel's TLS listeners share one %s", value, v, key)
	}
	r.x.tlsSet[key] = value
	return nil
}

func tlsFlag(name string) func(*confReader, []string) error {
	return func(r *confReader, a []string) error {
		v := strings.Join(a, " ")
		if err := r.tlsListener(name, v); err != nil {
			return err
		}
		return r.setFlag(name, v)
	}
}

func tlsBoolFlag(name string) func(*confReader, []string) error {
	return func(r *confReader, a []string) error {
		v, err := parseBool(a)
		if err != nil {
			return err
		}
		if err := r.tlsListener(name, strconv.FormatBool(v)); err != nil {
			return err
		}
		return r.setFlag(name, strconv.FormatBool(v))
	}
}

// securityFlag sets a security file. With per_listener_settings,
// listeners that name different files are an error: Petrel has one set of
// security settings for all listeners.
func securityFlag(name string) func(*confReader, []string) error {
	return func(r *confReader, a []string) error {
		v := strings.Join(a, " ")
		if r.f.set[name] && r.fs.Lookup(name).Value.String() != v && !r.cmdline[name] {
			return fmt.Errorf("%q after %q: Petrel has one %s for all listeners", v, r.fs.Lookup(name).Value.String(), strings.ReplaceAll(name, "-", "_"))
		}
		return r.setFlag(name, v)
	}
}

func (r *confReader) intFlag(name, s string, lo, hi int, special map[int]string) error {
	var n int
	if err := intInto(s, lo, hi, &n); err != nil {
		return err
	}
	if v, ok := special[n]; ok {
		return r.setFlag(name, v)
	}
	return r.setFlag(name, strconv.Itoa(n))
}

func intInto(s string, lo, hi int, v *int) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("%q: a whole number from %d to %d", s, lo, hi)
	}
	*v = n
	return nil
}

func parseBool(a []string) (bool, error) {
	switch a[0] {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q: true or false", a[0])
}

func boolInto(p func(*confReader) *bool) func(*confReader, []string) error {
	return func(r *confReader, a []string) error {
		v, err := parseBool(a)
		*p(r) = v
		return err
	}
}

// onlyFalse accepts a boolean directive at false, Petrel's behaviour; true
// is an error saying why.
func onlyFalse(why string) func(*confReader, []string) error {
	return func(_ *confReader, a []string) error {
		v, err := parseBool(a)
		if err == nil && v {
			return errors.New("true is not supported by Petrel: " + why)
		}
		return err
	}
}

func onlyTrue(why string) func(*confReader, []string) error {
	return func(_ *confReader, a []string) error {
		v, err := parseBool(a)
		if err == nil && !v {
			return errors.New("false is not supported by Petrel: " + why)
		}
		return err
	}
}

func onlyZero(why string) func(*confReader, []string) error {
	return func(_ *confReader, a []string) error {
		if a[0] != "0" {
			return fmt.Errorf("%q is not supported by Petrel (0 is): %s", a[0], why)
		}
		return nil
	}
}

func (r *confReader) logDest(a []string) error {
	switch a[0] {
	case "stdout", "stderr", "none":
		r.x.logDests = append(r.x.logDests, a[0])
	case "file":
		if len(a) < 2 {
			return errors.New("file: no file name")
		}
		r.x.logDests = append(r.x.logDests, strings.Join(a[1:], " "))
	case "syslog":
		r.x.warnings = append(r.x.warnings, "log_dest syslog: Petrel logs to stderr instead (journald collects it)")
		r.x.logDests = append(r.x.logDests, "stderr")
	case "topic", "dlt":
		return fmt.Errorf("%s is not supported by Petrel: stdout, stderr, file or none", a[0])
	default:
		return fmt.Errorf("%q: stdout, stderr, file, syslog or none", a[0])
	}
	return nil
}

// logType maps Mosquitto's log types to the lowest slog level they ask for.
func (r *confReader) logType(a []string) error {
	var l slog.Level
	switch a[0] {
	case "debug", "all", "subscribe", "unsubscribe", "websockets":
		l = slog.LevelDebug
	case "information", "notice":
		l = slog.LevelInfo
	case "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	case "none":
		r.x.logNone = true
		return nil
	default:
		return fmt.Errorf("%q: debug, error, warning, notice, information, subscribe, unsubscribe, websockets, none or all", a[0])
	}
	if r.x.logLevel == nil || l < *r.x.logLevel {
		r.x.logLevel = &l
	}
	return nil
}

// finish turns the listeners and Mosquitto's defaults into flags.
func (r *confReader) finish(name string) error {
	x := r.x
	for _, l := range x.listeners {
		host := l.addr
		if host == "" && l.domain == "ipv4" {
			host = "0.0.0.0"
		} else if host == "" && l.domain == "ipv6" {
			host = "::"
		}
		flagName := "listen"
		switch {
		case l.websockets && l.isTLS:
			flagName = "listen-wss"
		case l.websockets:
			flagName = "listen-ws"
		case l.isTLS:
			flagName = "listen-tls"
		}
		if err := r.setFlag(flagName, net.JoinHostPort(host, l.port)); err != nil {
			return usageErr("-c %s: listener %s: %v", name, l.port, err)
		}
	}
	if err := r.finishPersistence(); err != nil {
		return err
	}
	if err := x.finishBridges(); err != nil {
		return err
	}
	if !x.mosquitto {
		return nil
	}
	// A message_size_limit above the largest packet raises it, as
	// Mosquitto's packets are limited by max_packet_size only if it is set:
	// room for the payload, the longest topic, a packet identifier and
	// the fixed header.
	if x.maxPayload > 0 && !r.f.set["max-packet-size"] {
		if n := min(x.maxPayload+5+2+65535+2, 268435455+5); n > packet.DefaultMaxPacketSize {
			r.setFlag("max-packet-size", strconv.Itoa(n))
		}
	}
	// Mosquitto 2's defaults where they differ from petrel broker's.
	if !x.sysIntervalSet {
		r.setFlag("sys-interval", "10s")
	}
	if x.idPrefix == nil {
		p := "auto-"
		x.idPrefix = &p
	}
	anon := x.allowAnon != nil && *x.allowAnon
	if x.allowAnon == nil && len(x.listeners) == 0 {
		anon = true // Mosquitto 2's local-only mode
	}
	if r.f.passwordFile != "" || r.f.certUser {
		if anon {
			r.setFlag("allow-anonymous", "true")
		}
	} else if !anon {
		x.denyAnonymous()
	}
	return nil
}

// finishPersistence applies persistence, persistence_location and
// persistence_file, in any order, as Mosquitto does: they are used only
// with persistence true (Mosquitto's default is false). Petrel keeps a
// directory of its own files: persistence_location, else, where Mosquitto
// would write persistence_file (mosquitto.db) in its working directory,
// the directory persistence_file.petrel there.
func (r *confReader) finishPersistence() error {
	x := r.x
	switch {
	case x.persistence == nil || !*x.persistence:
		if x.persistence != nil || x.persistDir != "" {
			r.setFlag("persistence-dir", "")
		}
		if x.persistDir != "" {
			x.warnings = append(x.warnings, "persistence_location: ignored, as persistence is not true")
		}
	case x.persistDir != "":
		x.warnings = append(x.warnings, "persistence_location: Petrel keeps its own files there and does not read mosquitto.db")
		if x.persistFile != "" {
			x.warnings = append(x.warnings, "persistence_file: ignored: Petrel keeps a directory of its own files in persistence_location")
		}
		return r.setFlag("persistence-dir", x.persistDir)
	case r.f.persistenceDir == "":
		file := x.persistFile
		if file == "" {
			file = "mosquitto.db"
		}
		dir, err := filepath.Abs(file + ".petrel")
		if err != nil {
			return fmt.Errorf("persistence_file %s: %w", file, err)
		}
		x.warnings = append(x.warnings, fmt.Sprintf("persistence_location not given: Petrel keeps its own files in %s, in the working directory, where Mosquitto would write %s", dir, file))
		return r.setFlag("persistence-dir", dir)
	}
	return nil
}

// denyAnonymous is Mosquitto 2's allow_anonymous false with no password
// file: no client gets in. Petrel says so at start.
func (x *mosquittoConf) denyAnonymous() {
	x.warnings = append(x.warnings, "allow_anonymous is false and there is no password_file: every client is refused, as Mosquitto 2 does")
	f := false
	x.allowAnon = &f
}

// apply sets the broker.Config fields that only a configuration file sets.
func (x *mosquittoConf) apply(cfg *broker.Config, log *slog.Logger) {
	for _, w := range x.warnings {
		log.Warn("configuration: " + w)
	}
	cfg.Bridges = x.bridgeCfgs
	cfg.MaxPayloadSize = x.maxPayload
	cfg.MaxKeepAlive = x.maxKeepAlive
	cfg.RefuseEmptyClientID = x.refuseEmptyID
	if x.idPrefix != nil {
		cfg.GeneratedClientIDPrefix = *x.idPrefix
	}
	if cfg.Authenticator == nil && x.allowAnon != nil && !*x.allowAnon {
		cfg.Authenticator = broker.NewPasswordFile() // empty: refuses everyone
	}
}

// applyTLS sets the TLS settings of the file: the lowest version and the
// CAs of capath, whose PEM it returns.
func (x *mosquittoConf) applyTLS(tc *tls.Config) ([]byte, error) {
	if x.tlsMin != 0 {
		tc.MinVersion = x.tlsMin
	}
	if x.caPath == "" {
		return nil, nil
	}
	names, err := filepath.Glob(filepath.Join(x.caPath, "*"))
	if err != nil {
		return nil, usageErr("capath: %v", err)
	}
	if tc.ClientCAs == nil {
		tc.ClientCAs = x509.NewCertPool()
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	var pems []byte
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil && tc.ClientCAs.AppendCertsFromPEM(b) {
			pems = append(append(pems, b...), '\n')
		}
	}
	return pems, nil
}

// logHandler makes the broker's log handler: the outputs of log_dest, the
// level of log_type (verbose forces debug), connection_messages.
func (x *mosquittoConf) logHandler(stderr, stdout io.Writer, level slog.Level, verbose bool, json bool) (slog.Handler, *logFiles, error) {
	var ws []io.Writer
	files := new(logFiles)
	for _, d := range x.logDests {
		switch d {
		case "stderr":
			ws = append(ws, stderr)
		case "stdout":
			ws = append(ws, stdout)
		case "none":
		default:
			f, err := openLogFile(d)
			if err != nil {
				files.close()
				return nil, nil, usageErr("log_dest file: %v", err)
			}
			files.fs = append(files.fs, f)
			ws = append(ws, f)
		}
	}
	if len(x.logDests) == 0 {
		ws = []io.Writer{stderr}
	}
	if x.logLevel != nil && !verbose {
		level = *x.logLevel
	}
	w := io.MultiWriter(ws...)
	if x.logNone && !verbose {
		w = io.Discard
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if json {
		h = slog.NewJSONHandler(w, opts)
	}
	if x.quietConns {
		h = quietConnections{h}
	}
	return h, files, nil
}

// quietConnections drops the records of clients connecting and leaving
// (connection_messages false).
type quietConnections struct{ slog.Handler }

func (q quietConnections) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "client connected" || r.Message == "client disconnected" {
		return nil
	}
	return q.Handler.Handle(ctx, r)
}

func (q quietConnections) WithAttrs(a []slog.Attr) slog.Handler {
	return quietConnections{q.Handler.WithAttrs(a)}
}

func (q quietConnections) WithGroup(n string) slog.Handler {
	return quietConnections{q.Handler.WithGroup(n)}
}

// writePIDFile writes the process id to pid_file; the returned func
// removes it.
func (x *mosquittoConf) writePIDFile() (func(), error) {
	if x.pidFile == "" {
		return func() {}, nil
	}
	if err := os.WriteFile(x.pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, usageErr("pid_file: %v", err)
	}
	return func() { os.Remove(x.pidFile) }, nil
}
