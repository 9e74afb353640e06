package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// connFlags are the flags pub and sub share: where the broker is, who the
// client is, and how it connects. config turns them into a session.Config.
type connFlags struct {
	host, url, wsPath string
	moreHosts         []string // the hosts of -h after the first, for session.Reconnect
	port              int
	clientID          string
	user, password    string
	keepAlive         int
	persistent        bool // -c: clean session off
	qos               int
	willTopic         string
	willPayload       string
	willQoS           int
	willRetain        bool
	caFile, cert, key string
	caPath, tlsVer    string // --capath, --tls-version
	proxyURL          string // --proxy
	unixPath          string // --unix
	keyPassword       string
	insecure, useTLS  bool
	connectTimeout    time.Duration
	runTimeout        time.Duration // -W; 0 means none
	noReconnect       bool          // --no-reconnect
	reconnectMin      time.Duration // --reconnect-delay; 0 means the default
	reconnectMax      time.Duration
	storeDir          string // --store
	debug             bool
	quiet             bool // --quiet: no runtime error messages
	version           string
	set               map[string]bool // the flags given on the command line
	topics            []string        // -t, in order, after the topic of -L
	broker            *brokerURL      // -L, parsed
	command           string          // "pub" or "sub", for the default client id
}

// newFlagSet returns a flag set for command ("pub" or "sub") with the
// shared connection flags registered into f. Parse errors are returned,
// never printed: the caller reports them with the exit code for usage
// errors.
func newFlagSet(command string, f *connFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("petrel "+command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	f.command = command

	fs.StringVar(&f.host, "h", "localhost", "")
	fs.IntVar(&f.port, "p", 0, "")
	fs.StringVar(&f.url, "L", "", "")
	fs.StringVar(&f.wsPath, "ws-path", "", "")
	fs.StringVar(&f.clientID, "i", "", "")
	fs.StringVar(&f.user, "u", "", "")
	fs.StringVar(&f.password, "P", "", "")
	fs.IntVar(&f.keepAlive, "k", 60, "")
	fs.BoolVar(&f.persistent, "c", false, "")
	fs.IntVar(&f.qos, "q", 0, "")
	fs.Func("t", "", func(s string) error {
		f.topics = append(f.topics, s)
		return nil
	})
	fs.StringVar(&f.willTopic, "will-topic", "", "")
	fs.StringVar(&f.willPayload, "will-payload", "", "")
	fs.IntVar(&f.willQoS, "will-qos", 0, "")
	fs.BoolVar(&f.willRetain, "will-retain", false, "")
	fs.StringVar(&f.caFile, "cafile", "", "")
	fs.StringVar(&f.caPath, "capath", "", "")
	fs.StringVar(&f.tlsVer, "tls-version", "", "")
	fs.StringVar(&f.proxyURL, "proxy", "", "")
	fs.StringVar(&f.unixPath, "unix", "", "")
	fs.StringVar(&f.cert, "cert", "", "")
	fs.StringVar(&f.key, "key", "", "")
	fs.StringVar(&f.keyPassword, "key-password", "", "")
	fs.BoolVar(&f.insecure, "insecure", false, "")
	fs.BoolVar(&f.useTLS, "tls", false, "")
	fs.Func("connect-timeout", "", durationFlag(&f.connectTimeout))
	fs.Func("W", "", durationFlag(&f.runTimeout))
	fs.BoolVar(&f.noReconnect, "no-reconnect", false, "")
	fs.Func("reconnect-delay", "", f.reconnectDelayFlag)
	fs.StringVar(&f.storeDir, "store", "", "")
	fs.BoolVar(&f.debug, "d", false, "")
	fs.BoolVar(&f.quiet, "quiet", false, "")
	fs.StringVar(&f.version, "V", "mqttv311", "")
	return fs
}

// durationFlag parses a timeout as session.ParseTimeout does ("10", "10s",
// "10 s", "1.5 seconds") and refuses zero.
func durationFlag(d *time.Duration) func(string) error {
	return func(s string) error {
		v, err := session.ParseTimeout(s)
		if err != nil {
			return errors.New(trimMQTT(err))
		}
		if v <= 0 {
			return errors.New("must be more than zero")
		}
		*d = v
		return nil
	}
}

// parse parses args into fs and notes which flags were given. Groups of
// one-letter boolean flags ("-rd") are taken as the flags apart.
// Positional arguments are refused: every value goes with a flag.
func (f *connFlags) parse(fs *flag.FlagSet, args []string) error {
	args, err := expandGroups(fs, args)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageErr("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q: every value goes with a flag", fs.Arg(0))
	}
	f.set = make(map[string]bool)
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	if f.url != "" {
		u, err := parseURL(f.url, f.wsPath)
		if err != nil {
			return err
		}
		f.broker = &u
		if u.topic != "" {
			f.topics = append([]string{u.topic}, f.topics...)
		}
	}
	return nil
}

// config checks the connection flags and returns the session.Config they
// describe, with the TLS set-up and the client certificate loaded. Every
// error is a usage error naming the flag at fault.
func (f *connFlags) config(ctx context.Context, e *env) (session.Config, error) {
	var cfg session.Config
	switch f.version {
	case "mqttv311", "311":
	default:
		return cfg, usageErr("-V %q: petrel speaks MQTT 3.1.1 only (-V mqttv311)", f.version)
	}
	if f.qos < 0 || f.qos > 2 {
		return cfg, usageErr("-q %d: the QoS must be 0, 1 or 2", f.qos)
	}
	if f.keepAlive < 0 || f.keepAlive > 65535 {
		return cfg, usageErr("-k %d: the keepalive must be from 0 (off) to 65535 seconds", f.keepAlive)
	}
	if f.set["p"] && (f.port < 1 || f.port > 65535) {
		return cfg, usageErr("-p %d: not a port number from 1 to 65535", f.port)
	}

	cfg.User, cfg.UserPassword = f.user, f.password
	if err := f.address(&cfg); err != nil {
		return cfg, err
	}
	if cfg.UserPassword != "" && cfg.User == "" {
		return cfg, usageErr("-P needs -u: MQTT sends a password only with a user name [MQTT-3.1.2-22]")
	}

	cfg.ClientID = f.clientID
	if cfg.ClientID == "" {
		if f.persistent {
			return cfg, usageErr("-c needs -i: a persistent session is found again by its client id")
		}
		cfg.ClientID = "petrel-" + f.command + "-" + strconv.Itoa(os.Getpid())
	} else if err := packet.ValidateString(cfg.ClientID); err != nil {
		return cfg, usageErr("-i %q: %s", cfg.ClientID, trimMQTT(err))
	}
	cfg.PersistentSession = f.persistent // -c, as mosquitto_pub: CleanSession 0
	cfg.KeepAlive = session.Seconds(f.keepAlive)
	if f.keepAlive == 0 {
		cfg.KeepAlive = -1 // off
	}
	cfg.ConnectionTimeout = f.connectTimeout
	if err := f.reconnect(&cfg); err != nil {
		return cfg, err
	}
	if f.storeDir != "" && !f.persistent {
		return cfg, usageErr("--store needs -c: without it the session is clean, and starts empty each time")
	}

	if err := f.will(&cfg); err != nil {
		return cfg, err
	}
	if err := f.tls(ctx, e, &cfg); err != nil {
		return cfg, err
	}
	if err := f.proxy(&cfg); err != nil {
		return cfg, err
	}
	if f.debug {
		cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg, nil
}

// address sets the broker address from -L, or from -h and -p.
func (f *connFlags) address(cfg *session.Config) error {
	if f.wsPath != "" && f.url == "" {
		return usageErr("--ws-path needs a ws:// or wss:// URL in -L")
	}
	if f.set["unix"] {
		return f.unixSocket(cfg)
	}
	if f.url == "" {
		return f.hosts(cfg)
	}
	for _, name := range []string{"h", "p"} {
		if f.set[name] {
			return usageErr("-L and -%s: give the broker either as a URL (-L) or with -h and -p", name)
		}
	}
	u := f.broker
	cfg.Address = u.address
	if u.hasUser {
		if f.set["u"] || f.set["P"] {
			return usageErr("-L %s holds a user name: give it either in the URL or with -u and -P", u.redacted)
		}
		cfg.User, cfg.UserPassword = u.user, u.password
	}
	if !u.tls {
		for _, name := range []string{"tls", "cafile", "capath", "tls-version", "cert", "key", "insecure"} {
			if f.set[name] {
				return usageErr("--%s needs TLS, but -L %s is not a TLS URL (use mqtts:// or wss://)", name, u.redacted)
			}
		}
	}
	return nil
}

// will sets the will message from the --will-* flags.
func (f *connFlags) will(cfg *session.Config) error {
	if f.willTopic == "" {
		for _, name := range []string{"will-payload", "will-qos", "will-retain"} {
			if f.set[name] {
				return usageErr("--%s needs --will-topic", name)
			}
		}
		return nil
	}
	if err := packet.ValidateTopicName(f.willTopic); err != nil {
		return usageErr("--will-topic %q: %s", f.willTopic, trimMQTT(err))
	}
	if f.willQoS < 0 || f.willQoS > 2 {
		return usageErr("--will-qos %d: the QoS must be 0, 1 or 2", f.willQoS)
	}
	if len(f.willPayload) > 65535 {
		return usageErr("--will-payload: %d bytes is more than the 65,535 CONNECT can carry", len(f.willPayload))
	}
	cfg.Will = &session.Will{
		Topic:   f.willTopic,
		Payload: []byte(f.willPayload),
		QoS:     packet.QoS(f.willQoS),
		Retain:  f.willRetain,
	}
	return nil
}

// hasScheme reports whether s starts like a URL ("scheme://").
func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ':':
			return i > 0 && len(s) > i+2 && s[i+1] == '/' && s[i+2] == '/'
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		default:
			return false
		}
	}
	return false
}

// trimMQTT returns err's message without the "mqtt: " prefix of Petrel's
// errors, for messages that already say where they come from.
func trimMQTT(err error) string {
	return strings.TrimPrefix(err.Error(), "mqtt: ")
}
