package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// runningBroker is petrel broker running in the test process.
type runningBroker struct {
	*cmd
	addrs map[string]string // scheme ("mqtt", "mqtts", "ws", "wss") to host:port
}

var listeningLine = regexp.MustCompile(`(?m)^listening on (mqtts?|wss?)://(\S+)$`)

// startPetrelBroker runs petrel broker with args in the test process and
// returns once it has printed its n listeners. The test's cleanup stops it
// as SIGTERM would.
func startPetrelBroker(t *testing.T, n int, args ...string) *runningBroker {
	t.Helper()
	c := start(t, nil, nil, append([]string{"broker"}, args...)...)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms := listeningLine.FindAllStringSubmatch(c.stdout.String(), -1)
		if len(ms) >= n {
			b := &runningBroker{cmd: c, addrs: make(map[string]string)}
			for _, m := range ms {
				b.addrs[m[1]] = m[2]
			}
			return b
		}
		select {
		case code := <-c.code:
			t.Fatalf("petrel broker exited with %d; stdout %q, stderr %q", code, c.stdout.String(), c.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("petrel broker did not print %d listeners within 10s; stdout %q, stderr %q", n, c.stdout.String(), c.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hostPort returns the -h and -p flags of the listener of scheme.
func (b *runningBroker) hostPort(scheme string) []string {
	host, port, _ := strings.Cut(b.addrs[scheme], ":")
	return []string{"-h", host, "-p", port}
}

// port returns the port of the plain listener.
func (b *runningBroker) port() string {
	_, port, _ := strings.Cut(b.addrs["mqtt"], ":")
	return port
}

// stop stops the broker as SIGTERM does and checks it exits with 0 after
// logging that it stopped.
func (b *runningBroker) stop(t *testing.T) {
	t.Helper()
	b.cancel()
	if code := b.wait(t); code != exitOK {
		t.Errorf("petrel broker exit code %d after SIGTERM; stderr %q", code, b.stderr.String())
	}
	if !strings.Contains(b.stderr.String(), `msg="broker stopped"`) {
		t.Errorf("petrel broker did not log its stop; stderr %q", b.stderr.String())
	}
}

// waitLog waits until the broker has logged s.
func (b *runningBroker) waitLog(t *testing.T, s string) {
	t.Helper()
	b.stderr.waitFor(t, s)
}

// waitSubscribed waits until the broker, run with -v, has logged that
// client subscribed to filter.
func (b *runningBroker) waitSubscribed(t *testing.T, client, filter string) {
	t.Helper()
	b.waitLog(t, "msg=subscribed client="+client+" filter="+filter+" ")
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrokerCommand runs petrel broker with TCP and WebSocket listeners on
// port 0, configured partly by a file, and carries messages through it with
// petrel pub and petrel sub: the printed addresses are the real ones.
func TestBrokerCommand(t *testing.T) {
	conf := writeTemp(t, "petrel.conf", "# a comment\n\nlisten-ws 127.0.0.1:0\nmax_queued 10\nsys-interval 1s\nv\n")
	b := startPetrelBroker(t, 2, "-listen", "127.0.0.1:0", "-c", conf)
	for _, s := range []string{"mqtt", "ws"} {
		if strings.HasSuffix(b.addrs[s], ":0") || b.addrs[s] == "" {
			t.Fatalf("%s listener printed as %q; want the port chosen", s, b.addrs[s])
		}
	}
	if code, _, stderr := petrel(t, "", join([]string{"pub"}, b.hostPort("mqtt"), []string{"-t", "cmd/retained", "-m", "kept", "-q", "1", "-r"})...); code != exitOK {
		t.Fatalf("pub: exit code %d, stderr %q", code, stderr)
	}
	// The retained message reaches a subscriber over WebSocket.
	code, stdout, stderr := petrel(t, "", "sub", "-L", "ws://"+b.addrs["ws"]+"/cmd/%23", "-v", "-C", "1", "-W", "10")
	if code != exitOK || stdout != "cmd/retained kept\n" {
		t.Errorf("sub over WebSocket: exit code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// -sys-interval 1s from the file: the counters come.
	code, stdout, stderr = petrel(t, "", join([]string{"sub"}, b.hostPort("mqtt"), []string{"-t", "$SYS/broker/uptime", "-C", "1", "-W", "10"})...)
	if code != exitOK || stdout == "" {
		t.Errorf("sub $SYS: exit code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	b.stop(t)
	if !strings.Contains(b.stderr.String(), "level=DEBUG") {
		t.Errorf("v in the config file did not turn on debug logging: %q", b.stderr.String())
	}
}

// TestBrokerConfigFile checks that each line of -c sets its flag, that the
// command line wins, and that repeated keys add listeners.
func TestBrokerConfigFile(t *testing.T) {
	conf := writeTemp(t, "petrel.conf", `
listen 127.0.0.1:1
listen 127.0.0.1:2
max-inflight 7
max_queued 99
max_subscriptions 5
max-subscription-bytes 100
persist-interval 2s
allow-anonymous
password-file /x
`)
	var f brokerFlags
	fs := brokerFlagSet(&f)
	if err := f.parse(fs, []string{"-c", conf, "-max-inflight", "8"}); err != nil {
		t.Fatal(err)
	}
	if got := f.listen.String(); got != "127.0.0.1:1,127.0.0.1:2" {
		t.Errorf("listen = %q", got)
	}
	if f.maxInflight != 8 || f.maxQueued != 99 || f.maxSubscriptions != 5 || f.maxSubscriptionBytes != 100 || f.persistInterval != 2*time.Second || !f.allowAnonymous || f.passwordFile != "/x" {
		t.Errorf("flags = %+v", f)
	}
	// A listener on the command line replaces those of the file.
	f = brokerFlags{}
	fs = brokerFlagSet(&f)
	if err := f.parse(fs, []string{"-c", conf, "-listen", "127.0.0.1:3"}); err != nil {
		t.Fatal(err)
	}
	if got := f.listen.String(); got != "127.0.0.1:3" {
		t.Errorf("listen = %q, want the command line's alone", got)
	}
}

// TestBrokerErrors checks that bad flags, configuration lines and files
// are refused with exit code 1 (2 for an address that cannot be listened
// on), naming the flag and the problem.
func TestBrokerErrors(t *testing.T) {
	dir := t.TempDir()
	badConf := func(content string) string {
		p := filepath.Join(dir, "c"+strings.Repeat("x", len(content))+".conf")
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	badACL := writeTemp(t, "acl", "topic read a/#/b\n")
	badPasswd := writeTemp(t, "passwd", "alice:plain\n")
	taken := startPetrelBroker(t, 1, "-listen", "127.0.0.1:0")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-max-inflight", "70000"}, exitUsage, "-max-inflight 70000: more than 65535"},
		{[]string{"-max-queued", "-1"}, exitUsage, "-max-queued -1: must not be negative"},
		{[]string{"-max-subscriptions", "-1"}, exitUsage, "-max-subscriptions -1: must not be negative"},
		{[]string{"-max-subscription-bytes", "-1"}, exitUsage, "-max-subscription-bytes: negative"},
		{[]string{"-max-connections", "x"}, exitUsage, `invalid value "x" for flag -max-connections`},
		{[]string{"-sys-interval", "soon"}, exitUsage, "-sys-interval"},
		{[]string{"-listen-tls", "127.0.0.1:0"}, exitUsage, "-listen-tls and -listen-wss need -certfile and -keyfile"},
		{[]string{"-require-certificate"}, exitUsage, "-require-certificate needs -cafile"},
		{[]string{"-allow-anonymous"}, exitUsage, "-allow-anonymous goes with -password-file"},
		{[]string{"stray"}, exitUsage, `unexpected argument "stray"`},
		{[]string{"-c", filepath.Join(dir, "missing.conf")}, exitUsage, "-c: open"},
		{[]string{"-c", badConf("listen 127.0.0.1:0\nlisten-tcp :1883\n")}, exitUsage, `line 2: listen-tcp: unknown directive`},
		{[]string{"-c", badConf("max-inflight lots\n")}, exitUsage, `line 1: max-inflight: "lots": `},
		{[]string{"-c", badConf("password-file\n")}, exitUsage, "line 1: password-file: no value"},
		{[]string{"-password-file", filepath.Join(dir, "missing")}, exitUsage, "-password-file: open"},
		{[]string{"-password-file", badPasswd}, exitUsage, "-password-file: password file line 1: hash does not start with"},
		{[]string{"-acl-file", badACL}, exitUsage, "-acl-file: ACL file " + badACL + " line 1: "},
		{[]string{"-listen-tls", "127.0.0.1:0", "-certfile", badACL, "-keyfile", badACL}, exitUsage, "-certfile, -keyfile: "},
		{[]string{"-persistence-dir", badACL}, exitUsage, "-persistence-dir: "},
		{[]string{"-listen", taken.addrs["mqtt"]}, exitConnect, "-listen " + taken.addrs["mqtt"] + ": listen tcp"},
		{[]string{"-listen", "127.0.0.1:0", "-listen-ws", "nohost:x"}, exitConnect, "-listen-ws nohost:x: "},
	} {
		code, stdout, stderr := petrel(t, "", append([]string{"broker"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("broker %q: exit code %d, stdout %q, stderr %q; want code %d and %q", c.args, code, stdout, stderr, c.code, c.want)
		}
	}
	taken.stop(t)
}

// TestBrokerUsageNamesEveryFlag keeps petrel broker's and petrel passwd's
// usage texts in step with their flags.
func TestBrokerUsageNamesEveryFlag(t *testing.T) {
	for _, c := range []struct {
		usage string
		fs    *flag.FlagSet
	}{
		{brokerUsage, brokerFlagSet(new(brokerFlags))},
		{passwdUsage, passwdFlagSet(new(passwdFlags))},
	} {
		c.fs.VisitAll(func(f *flag.Flag) {
			if !regexp.MustCompile(`\n  -` + regexp.QuoteMeta(f.Name) + `[ \n]`).MatchString(c.usage) {
				t.Errorf("%s: the usage text does not describe -%s", c.fs.Name(), f.Name)
			}
		})
	}
	for _, cmd := range []string{"broker", "passwd"} {
		code, stdout, _ := petrel(t, "", cmd, "--help")
		if code != exitOK || !strings.HasPrefix(stdout, "Usage: petrel "+cmd) {
			t.Errorf("%s --help: exit code %d, stdout %q", cmd, code, stdout)
		}
	}
}

// TestBrokerAccess runs petrel broker with a password file written by
// petrel passwd and an ACL file: a good password connects, a bad one is
// refused with return code 5, and the ACL limits what a user may read.
func TestBrokerAccess(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "passwords")
	for _, args := range [][]string{
		{"passwd", "-c", "-b", "-iterations", "1000", pw, "alice", "wonder"},
		{"passwd", "-b", "-iterations", "1000", pw, "bob", "builder"},
	} {
		if code, _, stderr := petrel(t, "", args...); code != exitOK {
			t.Fatalf("%q: exit code %d, stderr %q", args, code, stderr)
		}
	}
	acl := writeTemp(t, "acl", "user alice\ntopic readwrite alice/#\nuser bob\ntopic write alice/inbox\n")
	b := startPetrelBroker(t, 1, "-listen", "127.0.0.1:0", "-password-file", pw, "-acl-file", acl, "-v")
	hp := b.hostPort("mqtt")

	sub := start(t, nil, nil, join([]string{"sub"}, hp, []string{"-u", "alice", "-P", "wonder", "-i", "alice-sub", "-t", "alice/#", "-v", "-C", "1"})...)
	b.waitSubscribed(t, "alice-sub", "alice/#")
	if code, _, stderr := petrel(t, "", join([]string{"pub"}, hp, []string{"-u", "bob", "-P", "builder", "-t", "alice/inbox", "-m", "hi", "-q", "1"})...); code != exitOK {
		t.Fatalf("pub as bob: exit code %d, stderr %q", code, stderr)
	}
	if code := sub.wait(t); code != exitOK || sub.stdout.String() != "alice/inbox hi\n" {
		t.Errorf("sub as alice: exit code %d, stdout %q, stderr %q", code, sub.stdout.String(), sub.stderr.String())
	}
	code, _, stderr := petrel(t, "", join([]string{"pub"}, hp, []string{"-u", "alice", "-P", "wrong", "-t", "alice/x", "-m", "hi"})...)
	if code != exitConnect || !strings.Contains(stderr, "not authorized (CONNACK return code 5)") {
		t.Errorf("pub with a bad password: exit code %d, stderr %q; want %d, not authorized", code, stderr, exitConnect)
	}
	code, _, stderr = petrel(t, "", join([]string{"sub"}, hp, []string{"-u", "bob", "-P", "builder", "-t", "alice/#", "-E"})...)
	if code != exitOperation {
		t.Errorf("sub as bob to alice/#, which the ACL refuses: exit code %d, stderr %q; want %d", code, stderr, exitOperation)
	}
	b.stop(t)
}

// TestBrokerTLSIdentity runs petrel broker with a TLS listener that
// requires client certificates and takes their common name as the user
// name: the ACL of that user applies, and a client without a certificate
// cannot connect.
func TestBrokerTLSIdentity(t *testing.T) {
	dir := t.TempDir()
	ca := mosquittotest.NewCA(t, "petrel test CA")
	caFile := ca.WriteFile(t, dir)
	serverCert, serverKey := ca.Issue(t, mosquittotest.CertOptions{CommonName: "broker"}).WriteFiles(t, dir, "server")
	clientCert, clientKey := ca.Issue(t, mosquittotest.CertOptions{CommonName: "carol", Client: true}).WriteFiles(t, dir, "carol")
	acl := writeTemp(t, "acl", "user carol\ntopic readwrite carol/#\n")
	b := startPetrelBroker(t, 2, "-listen", "127.0.0.1:0", "-listen-tls", "127.0.0.1:0",
		"-certfile", serverCert, "-keyfile", serverKey, "-cafile", caFile,
		"-require-certificate", "-use-identity-as-username", "-acl-file", acl, "-v")
	tlsFlags := join(b.hostPort("mqtts"), []string{"--cafile", caFile, "--cert", clientCert, "--key", clientKey})

	sub := start(t, nil, nil, join([]string{"sub", "-i", "carol-sub", "-t", "carol/#", "-v", "-C", "1"}, tlsFlags)...)
	b.waitSubscribed(t, "carol-sub", "carol/#")
	if code, _, stderr := petrel(t, "", join([]string{"pub", "-t", "carol/x", "-m", "hi", "-q", "2"}, tlsFlags)...); code != exitOK {
		t.Fatalf("pub with carol's certificate: exit code %d, stderr %q", code, stderr)
	}
	if code := sub.wait(t); code != exitOK || sub.stdout.String() != "carol/x hi\n" {
		t.Errorf("sub with carol's certificate: exit code %d, stdout %q, stderr %q", code, sub.stdout.String(), sub.stderr.String())
	}
	if !strings.Contains(b.stderr.String(), "user=carol") {
		t.Errorf("the broker did not log carol as the user: %q", b.stderr.String())
	}
	// Without a certificate: on TLS the handshake fails; on TCP the
	// client is refused with return code 5.
	if code, _, stderr := petrel(t, "", join([]string{"pub", "-t", "carol/x", "-m", "hi", "--cafile", caFile}, b.hostPort("mqtts"))...); code != exitConnect {
		t.Errorf("pub over TLS without a certificate: exit code %d, stderr %q; want %d", code, stderr, exitConnect)
	}
	if code, _, stderr := petrel(t, "", join([]string{"pub", "-t", "carol/x", "-m", "hi", "-u", "carol"}, b.hostPort("mqtt"))...); code != exitConnect || !strings.Contains(stderr, "not authorized") {
		t.Errorf("pub over TCP claiming to be carol: exit code %d, stderr %q; want %d, not authorized", code, stderr, exitConnect)
	}
	b.stop(t)
}
