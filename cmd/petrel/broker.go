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
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
	"github.com/petrel-mqtt/petrel/internal/version"
	"github.com/petrel-mqtt/petrel/session"
)

// defaultPort is the port petrel broker listens on when no listener is
// given, on the loopback addresses only, as Mosquitto 2 does without a
// configuration.
const defaultPort = "1883"

// brokerFlags are the flags of petrel broker. Every one may also be a line
// of the -c configuration file.
type brokerFlags struct {
	listen, listenTLS, listenWS, listenWSS listFlag
	ports                                  portsFlag // -p: loopback ports

	caFile, certFile, keyFile string
	requireCert               bool
	certUser                  bool // -use-identity-as-username

	passwordFile   string
	allowAnonymous bool
	aclFile        string

	persistenceDir  string
	persistInterval time.Duration

	maxConnections, maxInflight, maxQueued, maxPacketSize int
	maxPending, maxPendingPerIP, maxConnectPacketSize     int
	maxTopicLevels, maxSessions, maxSubscriptions         int
	maxQueuedBytes, maxTotalQueuedBytes, maxRetainedBytes int64
	maxSubscriptionBytes                                  int64
	stallTimeout                                          time.Duration
	sysInterval                                           time.Duration
	shutdownTimeout                                       time.Duration

	metricsListen string // -metrics-listen: serve /metrics over HTTP there
	pprof         bool   // -pprof: and /debug/pprof/
	logFormat     string // -log-format: text or json

	config  string         // -c
	verbose bool           // -v
	daemon  bool           // -d, Mosquitto's, refused
	mosq    *mosquittoConf // what the -c file sets beyond the flags

	set map[string]bool // the flags given, on the command line or in the file
}

// listFlag is a flag that may be given more than once; each value is kept.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	if s == "" {
		return errors.New("empty address")
	}
	*l = append(*l, s)
	return nil
}

// brokerFlagSet returns the flag set of petrel broker, with its flags
// registered into f.
func brokerFlagSet(f *brokerFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("petrel broker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.Var(&f.listen, "listen", "")
	fs.Var(&f.listenTLS, "listen-tls", "")
	fs.Var(&f.listenWS, "listen-ws", "")
	fs.Var(&f.listenWSS, "listen-wss", "")
	fs.StringVar(&f.caFile, "cafile", "", "")
	fs.StringVar(&f.certFile, "certfile", "", "")
	fs.StringVar(&f.keyFile, "keyfile", "", "")
	fs.BoolVar(&f.requireCert, "require-certificate", false, "")
	fs.BoolVar(&f.certUser, "use-identity-as-username", false, "")
	fs.StringVar(&f.passwordFile, "password-file", "", "")
	fs.BoolVar(&f.allowAnonymous, "allow-anonymous", false, "")
	fs.StringVar(&f.aclFile, "acl-file", "", "")
	fs.StringVar(&f.persistenceDir, "persistence-dir", "", "")
	fs.Func("persist-interval", "", durationOrZero(&f.persistInterval))
	fs.IntVar(&f.maxConnections, "max-connections", 0, "")
	fs.IntVar(&f.maxInflight, "max-inflight", 0, "")
	fs.IntVar(&f.maxQueued, "max-queued", 0, "")
	fs.IntVar(&f.maxPacketSize, "max-packet-size", 0, "")
	fs.IntVar(&f.maxPending, "max-pending", 0, "")
	fs.IntVar(&f.maxPendingPerIP, "max-pending-per-ip", 0, "")
	fs.IntVar(&f.maxConnectPacketSize, "max-connect-packet-size", 0, "")
	fs.IntVar(&f.maxTopicLevels, "max-topic-levels", 0, "")
	fs.IntVar(&f.maxSessions, "max-sessions", 0, "")
	fs.IntVar(&f.maxSubscriptions, "max-subscriptions", 0, "")
	fs.Int64Var(&f.maxSubscriptionBytes, "max-subscription-bytes", 0, "")
	fs.Int64Var(&f.maxQueuedBytes, "max-queued-bytes", 0, "")
	fs.Int64Var(&f.maxTotalQueuedBytes, "max-total-queued-bytes", 0, "")
	fs.Int64Var(&f.maxRetainedBytes, "max-retained-bytes", 0, "")
	fs.Func("stall-timeout", "", durationOrZero(&f.stallTimeout))
	fs.Func("sys-interval", "", durationOrZero(&f.sysInterval))
	f.shutdownTimeout = 10 * time.Second
	fs.Func("shutdown-timeout", "", durationOrZero(&f.shutdownTimeout))
	fs.StringVar(&f.metricsListen, "metrics-listen", "", "")
	fs.BoolVar(&f.pprof, "pprof", false, "")
	fs.StringVar(&f.logFormat, "log-format", "text", "")
	fs.StringVar(&f.config, "c", "", "")
	fs.BoolVar(&f.verbose, "v", false, "")
	// Mosquitto's own command line: mosquitto [-c file] [-p port] [-v],
	// with its long forms.
	fs.Var(&f.ports, "p", "")
	fs.Var(&f.ports, "port", "")
	fs.StringVar(&f.config, "config-file", "", "")
	fs.BoolVar(&f.verbose, "verbose", false, "")
	fs.BoolVar(&f.daemon, "d", false, "")
	fs.BoolVar(&f.daemon, "daemon", false, "")
	return fs
}

// portsFlag is -p, Mosquitto's: a port of the loopback listeners, which may
// be given more than once.
type portsFlag []string

func (p *portsFlag) String() string { return strings.Join(*p, ",") }

func (p *portsFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("invalid port %q: 1 to 65535", s)
	}
	*p = append(*p, strconv.Itoa(n))
	return nil
}

// durationOrZero parses a duration as session.ParseTimeout does ("10",
// "10s", "1m"); zero is allowed.
func durationOrZero(d *time.Duration) func(string) error {
	return func(s string) error {
		v, err := session.ParseTimeout(s)
		if err != nil {
			return errors.New(trimMQTT(err))
		}
		*d = v
		return nil
	}
}

// runBroker runs petrel broker until ctx ends (SIGINT or SIGTERM), then
// shuts the broker down.
func runBroker(ctx context.Context, e *env, args []string) int {
	var f brokerFlags
	fs := brokerFlagSet(&f)
	if err := f.parse(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(e.stdout, brokerUsage)
			return exitOK
		}
		return report(e, err)
	}
	if err := serveBroker(ctx, e, &f); err != nil {
		return report(e, err)
	}
	return exitOK
}

// parse parses the command line, then the -c file for the flags the
// command line does not give: the command line wins.
func (f *brokerFlags) parse(fs *flag.FlagSet, args []string) error {
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
	if f.config != "" {
		if err := f.readConfigFile(fs, f.config); err != nil {
			return err
		}
	}
	return f.check()
}

// check refuses flags that do not go together, and limits out of range,
// naming the flag.
func (f *brokerFlags) check() error {
	if f.daemon {
		return usageErr("-d: petrel broker does not put itself in the background: run it under a service manager (systemd: Type=simple, without -d) or with '&'")
	}
	for _, l := range []struct {
		name string
		v    int
		max  int
	}{
		{"max-connections", f.maxConnections, 1 << 30},
		{"max-inflight", f.maxInflight, 65535},
		{"max-queued", f.maxQueued, 1 << 30},
		{"max-packet-size", f.maxPacketSize, 268435455 + 5},
		{"max-pending", f.maxPending, 1 << 30},
		{"max-pending-per-ip", f.maxPendingPerIP, 1 << 30},
		{"max-connect-packet-size", f.maxConnectPacketSize, 268435455 + 5},
		{"max-topic-levels", f.maxTopicLevels, 65536},
		{"max-sessions", f.maxSessions, 1 << 30},
		{"max-subscriptions", f.maxSubscriptions, 1 << 30},
	} {
		if l.v < 0 {
			return usageErr("-%s %d: must not be negative (0 means the default)", l.name, l.v)
		}
		if l.v > l.max {
			return usageErr("-%s %d: more than %d", l.name, l.v, l.max)
		}
	}
	if len(f.listenTLS)+len(f.listenWSS) > 0 && (f.certFile == "" || f.keyFile == "") {
		return usageErr("-listen-tls and -listen-wss need -certfile and -keyfile")
	}
	if (f.certFile == "") != (f.keyFile == "") {
		return usageErr("-certfile and -keyfile go together")
	}
	if f.certFile != "" && len(f.listenTLS)+len(f.listenWSS) == 0 {
		return usageErr("-certfile: no TLS listener: add -listen-tls or -listen-wss")
	}
	if f.requireCert && f.caFile == "" {
		return usageErr("-require-certificate needs -cafile, the CA that signs client certificates")
	}
	if f.certUser && !f.requireCert {
		return usageErr("-use-identity-as-username needs -require-certificate")
	}
	if f.caFile != "" && f.certFile == "" {
		return usageErr("-cafile: no TLS listener: add -listen-tls or -listen-wss with -certfile and -keyfile")
	}
	if f.pprof && f.metricsListen == "" {
		return usageErr("-pprof needs -metrics-listen, the HTTP address that serves /debug/pprof/")
	}
	if f.logFormat != "text" && f.logFormat != "json" {
		return usageErr("-log-format %q: text or json", f.logFormat)
	}
	if f.allowAnonymous && f.passwordFile == "" && !f.certUser {
		return usageErr("-allow-anonymous goes with -password-file or -use-identity-as-username; without them every client is allowed")
	}
	return nil
}

// brokerConfig turns the flags into a broker.Config, reading the files they
// name.
func (f *brokerFlags) brokerConfig(log *slog.Logger) (broker.Config, error) {
	cfg := broker.Config{
		MaxConnections:       f.maxConnections,
		MaxPacketSize:        f.maxPacketSize,
		MaxPending:           f.maxPending,
		MaxPendingPerIP:      f.maxPendingPerIP,
		MaxConnectPacketSize: f.maxConnectPacketSize,
		MaxTopicLevels:       f.maxTopicLevels,
		MaxSessions:          f.maxSessions,
		MaxSubscriptions:     f.maxSubscriptions,
		MaxSubscriptionBytes: f.maxSubscriptionBytes,
		MaxQueuedBytes:       f.maxQueuedBytes,
		MaxTotalQueuedBytes:  f.maxTotalQueuedBytes,
		MaxRetainedBytes:     f.maxRetainedBytes,
		StallTimeout:         f.stallTimeout,
		MaxInflight:          f.maxInflight,
		MaxQueued:            f.maxQueued,
		SysInterval:          f.sysInterval,
		PersistenceDir:       f.persistenceDir,
		PersistInterval:      f.persistInterval,
		Logger:               log,
	}
	var pw broker.Authenticator
	if f.passwordFile != "" {
		p, err := broker.ReadPasswordFile(f.passwordFile)
		if err != nil {
			return cfg, usageErr("-password-file: %s", trimMQTT(err))
		}
		if len(p.Users()) == 0 {
			log.Warn("the password file lists no user", "file", f.passwordFile)
		}
		p.AllowAnonymous = f.allowAnonymous
		pw = p
	}
	switch {
	case f.certUser:
		ca := &broker.CertAuthenticator{UseCommonName: true, Fallback: pw}
		if pw == nil && f.allowAnonymous {
			ca.Fallback = broker.AuthenticatorFunc(func(context.Context, broker.ConnInfo) (string, error) {
				return "", nil // anonymous, whatever user name CONNECT claims
			})
		}
		cfg.Authenticator = ca
	case pw != nil:
		cfg.Authenticator = pw
	}
	if f.aclFile != "" {
		acl, err := broker.ReadACLFile(f.aclFile)
		if err != nil {
			return cfg, usageErr("-acl-file: %s", trimMQTT(err))
		}
		cfg.Authorizer = acl
	}
	if f.mosq != nil {
		f.mosq.apply(&cfg, log)
	}
	return cfg, nil
}

// tlsCipherSuites are the TLS 1.2 suites the TLS listeners offer: forward
// secret (ECDHE) and AEAD only, no CBC and no SHA-1 MAC. TLS 1.3's suites
// are all of that kind and are not configurable.
var tlsCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// tlsConfig returns the TLS configuration of the TLS listeners, nil
// without -certfile.
func (f *brokerFlags) tlsConfig() (*tls.Config, error) {
	if f.certFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return nil, usageErr("-certfile, -keyfile: %v", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, CipherSuites: tlsCipherSuites}
	var caPEM []byte // cafile and capath, which complete the served chain
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return nil, usageErr("-cafile: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, usageErr("-cafile %s: no PEM certificate in it", f.caFile)
		}
		caPEM = pem
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if f.requireCert {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	if f.mosq != nil {
		pems, err := f.mosq.applyTLS(tc)
		if err != nil {
			return nil, err
		}
		caPEM = append(caPEM, pems...)
	}
	completeChain(&tc.Certificates[0], caPEM)
	return tc, nil
}

// listener is one address that petrel broker serves.
type listener struct {
	scheme string // mqtt, mqtts, ws or wss
	l      net.Listener
}

// hasListener reports whether a listener is given, by a flag or by the
// -c file.
func (f *brokerFlags) hasListener() bool {
	return len(f.listen)+len(f.listenTLS)+len(f.listenWS)+len(f.listenWSS) > 0
}

// openListeners opens every listener, or none: on an error it closes those it
// opened. With no listener given, it opens the loopback ones of -p.
func (f *brokerFlags) openListeners(tc *tls.Config, log *slog.Logger) ([]listener, error) {
	if !f.hasListener() {
		return f.openLoopback(log)
	}
	var ls []listener
	for _, g := range []struct {
		flag, scheme string
		addrs        []string
		tls          bool
	}{
		{"listen", "mqtt", f.listen, false},
		{"listen-tls", "mqtts", f.listenTLS, true},
		{"listen-ws", "ws", f.listenWS, false},
		{"listen-wss", "wss", f.listenWSS, true},
	} {
		for _, a := range g.addrs {
			l, err := net.Listen("tcp", a)
			if err != nil {
				for _, o := range ls {
					o.l.Close()
				}
				return nil, withCode(exitConnect, fmt.Errorf("-%s %s: %v", g.flag, a, err))
			}
			if g.tls {
				l = tls.NewListener(l, tc)
			}
			ls = append(ls, listener{g.scheme, l})
		}
	}
	return ls, nil
}

// serveBroker runs the broker until ctx ends.
func serveBroker(ctx context.Context, e *env, f *brokerFlags) error {
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})
	if f.logFormat == "json" {
		h = slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: level})
	}
	var logs *logFiles
	if f.mosq != nil {
		mh, lf, err := f.mosq.logHandler(e.stderr, e.stdout, level, f.verbose, f.logFormat == "json")
		if err != nil {
			return err
		}
		defer lf.close()
		h, logs = mh, lf
		removePID, err := f.mosq.writePIDFile()
		if err != nil {
			return err
		}
		defer removePID()
	}
	log := slog.New(h)
	log.Info("petrel broker starting", "version", version.Get().String(), "go", runtime.Version())
	if len(f.ports) > 0 && f.hasListener() {
		log.Warn("-p is ignored: listeners are given, and -p serves only when none is (as in Mosquitto 2)", "ports", f.ports.String())
	}
	cfg, err := f.brokerConfig(log)
	if err != nil {
		return err
	}
	reload := f.newReloader(cfg, logs)
	tc, err := f.tlsConfig()
	if err != nil {
		return err
	}
	srv, err := broker.New(cfg)
	if err != nil {
		if berr := f.mosq.bridgeErr(err); berr != nil {
			return berr
		}
		return brokerConfigErr(err)
	}
	// SIGHUP reloads (reload.go) rather than ending the broker, from
	// before the listeners open: a client's first packet may follow.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	ls, err := f.openListeners(tc, log)
	if err != nil {
		srv.Shutdown(context.Background())
		return err
	}
	served := make(chan error, len(ls)+1) // and -metrics-listen
	for _, l := range ls {
		serve := srv.Serve
		if l.scheme == "ws" || l.scheme == "wss" {
			serve = srv.ServeWebSocket
		}
		go func() { served <- serve(l.l) }()
		// One line per listener on stdout, with the port the system chose
		// for ":0", for scripts to read.
		fmt.Fprintf(e.stdout, "listening on %s://%s\n", l.scheme, l.l.Addr())
	}
	if f.metricsListen != "" {
		ml, err := net.Listen("tcp", f.metricsListen)
		if err != nil {
			for _, l := range ls {
				l.l.Close()
			}
			srv.Shutdown(context.Background())
			return withCode(exitConnect, fmt.Errorf("-metrics-listen %s: %v", f.metricsListen, err))
		}
		hs := metricsServer(srv, f.pprof, log)
		go func() {
			if err := hs.Serve(ml); !errors.Is(err, http.ErrServerClosed) {
				served <- err
			}
		}()
		defer hs.Close()
		fmt.Fprintf(e.stdout, "metrics on http://%s/metrics\n", ml.Addr())
	}
	log.Info("broker started", "listeners", len(ls), "persistence", f.persistenceDir)
	rctx, stopReclaim := context.WithCancel(ctx)
	defer stopReclaim()
	go reclaimMemory(rctx, srv, log)

	var runErr error
	for running := true; running; {
		select {
		case <-ctx.Done():
			log.Info("shutting down", "timeout", f.shutdownTimeout)
			running = false
		case err := <-served:
			runErr = withCode(exitOperation, fmt.Errorf("serving: %w", err))
			log.Error("a listener failed; shutting down", "err", err)
			running = false
		case <-hup:
			reload.reload(log)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return withCode(exitOperation, fmt.Errorf("shutdown: %w", err))
	}
	log.Info("broker stopped")
	return runErr
}

// brokerFlagNames maps the fields of broker.Config to the flags that set
// them, for the errors of broker.New.
var brokerFlagNames = map[string]string{
	"MaxConnections":       "-max-connections",
	"MaxPacketSize":        "-max-packet-size",
	"MaxPending":           "-max-pending",
	"MaxPendingPerIP":      "-max-pending-per-ip",
	"MaxConnectPacketSize": "-max-connect-packet-size",
	"MaxTopicLevels":       "-max-topic-levels",
	"MaxSessions":          "-max-sessions",
	"MaxSubscriptions":     "-max-subscriptions",
	"MaxSubscriptionBytes": "-max-subscription-bytes",
	"MaxQueuedBytes":       "-max-queued-bytes",
	"MaxTotalQueuedBytes":  "-max-total-queued-bytes",
	"MaxRetainedBytes":     "-max-retained-bytes",
	"StallTimeout":         "-stall-timeout",
	"MaxInflight":          "-max-inflight",
	"MaxQueued":            "-max-queued",
	"SysInterval":          "-sys-interval",
	"PersistInterval":      "-persist-interval",
	"PersistenceDir":       "-persistence-dir",
}

// brokerConfigErr names the flag of a broker.ConfigError; any other error
// of broker.New comes from loading -persistence-dir.
func brokerConfigErr(err error) error {
	if ce, ok := errors.AsType[*broker.ConfigError](err); ok {
		if name, ok := brokerFlagNames[ce.Field]; ok {
			return usageErr("%s: %s", name, ce.Reason)
		}
	}
	return usageErr("-persistence-dir: %s", trimMQTT(err))
}
