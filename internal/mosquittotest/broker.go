package mosquittotest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options choose the listeners and access rules of a broker. The zero
// value gives one plain MQTT listener open to anonymous clients.
type Options struct {
	// WebSockets adds a ws:// listener ("protocol websockets").
	WebSockets bool
	// TLS, if not nil, adds an mqtts:// listener with these files.
	TLS *TLS
	// WebSocketsTLS adds a wss:// listener with the files of TLS, which
	// must then be set.
	WebSocketsTLS bool
	// Users maps user names to passwords. If not empty, they are written to
	// a password file with mosquitto_passwd and anonymous clients are
	// refused.
	Users map[string]string
	// Persistence turns Mosquitto's persistence on, to a file in the
	// test's directory, so that sessions and queued messages are kept
	// on disk as well as in memory.
	Persistence bool
	// MaxInflight is max_inflight_messages: how many QoS 1 and 2 messages
	// the broker keeps in flight to each client. Zero means no limit.
	MaxInflight int
	// Config holds extra configuration lines, appended at the end, after
	// the last listener.
	Config string
}

// TLS are the settings of a TLS listener. ServerTLS makes them.
type TLS struct {
	CAFile, CertFile, KeyFile string
	// RequireCertificate makes the broker require a client certificate
	// signed by CAFile.
	RequireCertificate bool
	// UseIdentityAsUsername makes the client certificate's common name the
	// user name.
	UseIdentityAsUsername bool
}

// Install tells how to install the broker.
const Install = "run scripts/deps.sh, or: apt-get install -y mosquitto mosquitto-clients"

// startTimeout bounds the wait for the broker's listeners; stopTimeout the
// wait after SIGTERM before SIGKILL.
const (
	startTimeout = 10 * time.Second
	stopTimeout  = 5 * time.Second
)

// Broker is a running Mosquitto process, stopped when the test ends.
type Broker struct {
	t      testing.TB
	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{} // closed when the process has exited
	ports  [numListeners]int
	dir    string // the test's directory, holding the config

	stopOnce sync.Once
}

type listener int

const (
	plain listener = iota
	webSockets
	tlsListener
	webSocketsTLS
	numListeners
)

var listenerNames = [numListeners]string{"plain", "WebSockets", "TLS", "WebSocketsTLS"}

// Start starts a Mosquitto broker on loopback ports chosen for it and
// returns when every listener accepts connections. The broker is stopped
// by t.Cleanup, and its log is printed if the test failed.
//
// If mosquitto is not installed, Start skips the test, or fails it when the
// environment variable CI is "true".
func Start(t testing.TB, opts Options) *Broker {
	t.Helper()
	if opts.WebSocketsTLS && opts.TLS == nil {
		t.Fatal("mosquittotest: Options.WebSocketsTLS needs Options.TLS")
	}
	bin := lookPath(t, "mosquitto")
	dir := t.TempDir()
	var passwordFile string
	if len(opts.Users) > 0 {
		passwordFile = writePasswords(t, dir, opts.Users)
	}
	var err error
	for range 3 { // a port chosen may be taken by someone else before the broker binds it
		var b *Broker
		if b, err = start(t, bin, dir, opts, passwordFile); err == nil {
			return b
		}
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	t.Fatal(err)
	return nil
}

var errAddrInUse = errors.New("address in use")

func start(t testing.TB, bin, dir string, opts Options, passwordFile string) (*Broker, error) {
	b := &Broker{t: t, log: new(logBuffer), exited: make(chan struct{}), dir: dir}
	// Distinct ports: chosen one at a time, the system may hand out a
	// port just closed again, and Mosquitto then fails to open the second
	// listener on it (seen in CI).
	ports := freePorts(t, len(b.ports))
	b.ports[plain] = ports[plain]
	if opts.WebSockets {
		b.ports[webSockets] = ports[webSockets]
	}
	if opts.TLS != nil {
		b.ports[tlsListener] = ports[tlsListener]
	}
	if opts.WebSocketsTLS {
		b.ports[webSocketsTLS] = ports[webSocketsTLS]
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, []byte(b.config(opts, passwordFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	b.cmd = exec.Command(bin, "-c", conf)
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	b.cmd.SysProcAttr = sysProcAttr()
	if err := b.cmd.Start(); err != nil {
		t.Fatalf("mosquittotest: starting %s: %v", bin, err)
	}
	go func() {
		b.cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", b.Log())
		}
	})
	if err := b.waitReady(); err != nil {
		b.Stop()
		if strings.Contains(b.Log(), "in use") {
			return nil, errAddrInUse
		}
		return nil, fmt.Errorf("mosquittotest: %v\nconfig:\n%s\nlog:\n%s", err, b.config(opts, passwordFile), b.Log())
	}
	return b, nil
}

func (b *Broker) config(opts Options, passwordFile string) string {
	var c strings.Builder
	c.WriteString("# written by internal/mosquittotest\n")
	if os.Geteuid() == 0 {
		c.WriteString("user root\n") // else mosquitto drops to user mosquitto, who cannot read the files
	}
	c.WriteString("per_listener_settings false\n")
	if passwordFile != "" {
		c.WriteString("allow_anonymous false\npassword_file " + passwordFile + "\n")
	} else {
		c.WriteString("allow_anonymous true\n")
	}
	fmt.Fprintf(&c, "max_inflight_messages %d\n", opts.MaxInflight)
	if opts.Persistence {
		fmt.Fprintf(&c, "persistence true\npersistence_location %s/\n", b.dir)
	} else {
		c.WriteString("persistence false\n")
	}
	// stderr, not stdout: mosquitto buffers stdout when it is a pipe, so
	// the log would lag behind the events a test looks for.
	c.WriteString("log_dest stderr\nlog_timestamp_format %H:%M:%S\nconnection_messages true\n")
	for l, port := range b.ports {
		if port == 0 {
			continue
		}
		fmt.Fprintf(&c, "\n# %s\nlistener %d 127.0.0.1\n", listenerNames[l], port)
		if l := listener(l); l == webSockets || l == webSocketsTLS {
			c.WriteString("protocol websockets\n")
		}
		if l := listener(l); l == tlsListener || l == webSocketsTLS {
			tl := opts.TLS
			fmt.Fprintf(&c, "cafile %s\ncertfile %s\nkeyfile %s\n", tl.CAFile, tl.CertFile, tl.KeyFile)
			fmt.Fprintf(&c, "require_certificate %t\nuse_identity_as_username %t\n", tl.RequireCertificate, tl.UseIdentityAsUsername)
		}
	}
	if opts.Config != "" {
		c.WriteString("\n" + opts.Config + "\n")
	}
	return c.String()
}

// waitReady waits until every listener accepts TCP connections.
func (b *Broker) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for l, port := range b.ports {
		if port == 0 {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		for {
			conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-b.exited:
				return fmt.Errorf("mosquitto exited before its %s listener on %s was ready (%v)", listenerNames[l], addr, b.cmd.ProcessState)
			case <-time.After(10 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("mosquitto's %s listener on %s not ready after %v: %v", listenerNames[l], addr, startTimeout, err)
			}
		}
	}
	select {
	case <-b.exited:
		return fmt.Errorf("mosquitto exited after start (%v)", b.cmd.ProcessState)
	default:
		return nil
	}
}

// Stop stops the broker: SIGTERM, then SIGKILL if it has not exited after
// five seconds. Tests call it to see clients lose their broker; it runs
// anyway at cleanup, and only once.
func (b *Broker) Stop() {
	b.stopOnce.Do(func() {
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(stopTimeout):
			b.cmd.Process.Kill()
			<-b.exited
		}
	})
}

// Addr returns the host:port of the plain MQTT listener.
func (b *Broker) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.Port())) }

// Port returns the port of the plain MQTT listener.
func (b *Broker) Port() int { return b.ports[plain] }

// URL returns the address of the plain MQTT listener: mqtt://127.0.0.1:port.
func (b *Broker) URL() string { return b.url(plain, "mqtt", "") }

// WebSocketURL returns the address of the WebSocket listener:
// ws://127.0.0.1:port/mqtt.
func (b *Broker) WebSocketURL() string { return b.url(webSockets, "ws", "/mqtt") }

// TLSURL returns the address of the TLS listener: mqtts://127.0.0.1:port.
func (b *Broker) TLSURL() string { return b.url(tlsListener, "mqtts", "") }

// WebSocketTLSURL returns the address of the WebSocket over TLS listener:
// wss://127.0.0.1:port/mqtt.
func (b *Broker) WebSocketTLSURL() string { return b.url(webSocketsTLS, "wss", "/mqtt") }

func (b *Broker) url(l listener, scheme, path string) string {
	if b.ports[l] == 0 {
		b.t.Fatalf("mosquittotest: the broker has no %s listener; set it in Options", listenerNames[l])
	}
	return scheme + "://127.0.0.1:" + strconv.Itoa(b.ports[l]) + path
}

// Log returns what the broker has logged so far.
func (b *Broker) Log() string { return b.log.String() }

// lookPath finds a Mosquitto program in PATH or the sbin directories, which
// are not in every user's PATH; if it is missing, it skips the test or,
// under CI=true, fails it.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := fmt.Sprintf("mosquittotest: %s not found; %s", name, Install)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing broker fails the test)")
	}
	t.Skip(msg)
	return ""
}

// writePasswords writes a Mosquitto password file with mosquitto_passwd.
func writePasswords(t testing.TB, dir string, users map[string]string) string {
	t.Helper()
	bin := lookPath(t, "mosquitto_passwd")
	file := filepath.Join(dir, "passwd")
	for i, u := range slices.Sorted(maps.Keys(users)) {
		args := []string{"-b", file, u, users[u]}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquittotest: mosquitto_passwd %s: %v\n%s", u, err, out)
		}
	}
	return file
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // held until all are chosen, so that they differ
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// logBuffer collects the broker's output; the process writes it from its
// own goroutines while tests read it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
