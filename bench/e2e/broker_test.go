package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A nested module cannot import the main module's internal/mosquittotest,
// so this is a small broker starter of its own, for one plain listener.

// brokerConfig lifts Mosquitto's limits that would otherwise shape the
// measurement: max_inflight_messages 0 and max_queued_messages 0 mean no
// maximum (mosquitto.conf(5), 2.0). With the default max_queued_messages
// of 1000, Mosquitto drops QoS 0 messages to a subscriber with 1000 packets
// waiting to be written to it. The subscribe log lines let the benchmark
// see when mosquitto_sub has subscribed.
const brokerConfig = `allow_anonymous true
persistence false
max_inflight_messages 0
max_queued_messages 0
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
log_type subscribe
connection_messages true
`

// broker is a running Mosquitto with one loopback listener.
type broker struct {
	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{}
	port   int
	conf   string

	stopOnce sync.Once
}

// startBroker starts Mosquitto on a free loopback port and returns once it
// accepts connections; it is stopped when the test ends. A missing
// mosquitto skips the test, or fails it under CI=true.
func startBroker(t testing.TB, extra string) *broker {
	t.Helper()
	bin := lookPath(t, "mosquitto")
	dir := t.TempDir()
	var err error
	for range 3 { // the free port may be taken before mosquitto binds it
		var b *broker
		if b, err = tryStart(bin, dir, extra); err == nil {
			t.Cleanup(func() {
				b.stop()
				if t.Failed() {
					t.Logf("mosquitto log:\n%s", b.log.String())
				}
			})
			return b
		}
	}
	t.Fatal(err)
	return nil
}

func tryStart(bin, dir, extra string) (*broker, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	var conf strings.Builder
	if os.Geteuid() == 0 {
		conf.WriteString("user root\n") // else mosquitto drops to user mosquitto
	}
	conf.WriteString(brokerConfig)
	if extra != "" {
		conf.WriteString(extra + "\n")
	}
	fmt.Fprintf(&conf, "listener %d 127.0.0.1\n", port)
	file := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(file, []byte(conf.String()), 0o600); err != nil {
		return nil, err
	}
	b := &broker{log: new(logBuffer), exited: make(chan struct{}), port: port, conf: conf.String()}
	b.cmd = exec.Command(bin, "-c", file)
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		b.cmd.Wait()
		close(b.exited)
	}()
	if err := b.waitReady(10 * time.Second); err != nil {
		b.stop()
		return nil, fmt.Errorf("%w\nconfig:\n%s\nlog:\n%s", err, b.conf, b.log.String())
	}
	return b, nil
}

func (b *broker) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", b.addr(), 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-b.exited:
			return fmt.Errorf("mosquitto exited before listening on %s (%v)", b.addr(), b.cmd.ProcessState)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mosquitto not listening on %s after %v: %w", b.addr(), timeout, err)
		}
	}
}

// stop sends SIGTERM, then SIGKILL after five seconds.
func (b *broker) stop() {
	b.stopOnce.Do(func() {
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.exited:
		case <-time.After(5 * time.Second):
			b.cmd.Process.Kill()
			<-b.exited
		}
	})
}

// cpu returns the broker's CPU time so far, in steps of 10 ms; 0 if it
// cannot be read.
func (b *broker) cpu() time.Duration {
	d, err := procCPU(b.cmd.Process.Pid)
	if err != nil {
		return 0
	}
	return d
}

func (b *broker) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// alive reports an error if the broker has exited.
func (b *broker) alive() error {
	select {
	case <-b.exited:
		return fmt.Errorf("mosquitto exited (%v); log:\n%s", b.cmd.ProcessState, b.log.String())
	default:
		return nil
	}
}

// waitLog waits until the broker's log, from offset from on, contains s.
func (b *broker) waitLog(from int, s string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !b.log.containsFrom(from, s) {
		if err := b.alive(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mosquitto did not log %q within %v", s, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// lookPath finds a Mosquitto program in PATH or in the sbin directories.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := name + " not found; run scripts/deps.sh, or: apt-get install -y mosquitto mosquitto-clients"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// logBuffer collects the broker's output.
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

func (l *logBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Len()
}

func (l *logBuffer) containsFrom(from int, s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf.Bytes()
	if from > len(b) {
		return false
	}
	return bytes.Contains(b[from:], []byte(s))
}
