package brokerbench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// brokerProc is a broker running as a child process, on one loopback port.
type brokerProc struct {
	name   string // "mosquitto", "mochi" or "petrel"
	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{}
	port   int

	stopOnce sync.Once
}

// mosquittoConfig lifts Mosquitto's limits that would shape the
// measurement: max_inflight_messages 0 and max_queued_messages 0 mean no
// maximum (mosquitto.conf(5), 2.0).
const mosquittoConfig = `allow_anonymous true
persistence false
max_inflight_messages 0
max_queued_messages 0
log_dest stderr
log_type error
log_type warning
`

// startMosquitto starts Mosquitto on a free loopback port. A missing
// mosquitto skips the test, or fails it under CI=true.
func startMosquitto(t testing.TB) *brokerProc {
	t.Helper()
	bin := lookPath(t, "mosquitto")
	dir := t.TempDir()
	var err error
	for range 3 { // the free port may be taken before mosquitto binds it
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		var conf strings.Builder
		if os.Geteuid() == 0 {
			conf.WriteString("user root\n") // else mosquitto drops to user mosquitto
		}
		conf.WriteString(mosquittoConfig)
		fmt.Fprintf(&conf, "listener %d 127.0.0.1\n", port)
		file := filepath.Join(dir, "mosquitto.conf")
		if err = os.WriteFile(file, []byte(conf.String()), 0o600); err != nil {
			break
		}
		b := &brokerProc{name: "mosquitto", port: port}
		if err = b.start(exec.Command(bin, "-c", file)); err != nil {
			break
		}
		if err = b.waitDial(10 * time.Second); err == nil {
			t.Cleanup(b.stop)
			return b
		}
		b.stop()
	}
	t.Fatal(err)
	return nil
}

// buildPetrel builds the petrel command of this checkout into dir.
func buildPetrel(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "petrel")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/petrel-mqtt/petrel/cmd/petrel").CombinedOutput()
	if err != nil {
		t.Fatalf("go build petrel: %v\n%s", err, out)
	}
	return bin
}

var listening = regexp.MustCompile(`listening on mqtt://127\.0\.0\.1:(\d+)\n`)

// petrelLogConfig gives petrel broker the logging of mosquittoConfig:
// errors and warnings only, so that neither broker writes a line per
// connection (petrel broker logs connections at its default level, as
// Mosquitto does at its own; that costs either one about 20 µs per
// connection and disconnection).
const petrelLogConfig = `log_dest stderr
log_type error
log_type warning
`

// startPetrel starts petrel broker on port 0 and reads the port it prints.
func startPetrel(t testing.TB, bin string) *brokerProc {
	t.Helper()
	return startPetrelAs(t, bin, "petrel")
}

// startPetrelAs is startPetrel for a broker shown under name: a baseline
// build beside the tree's, say.
func startPetrelAs(t testing.TB, bin, name string) *brokerProc {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "petrel.conf")
	if err := os.WriteFile(conf, []byte(petrelLogConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return startListening(t, name, exec.Command(bin, "broker", "-c", conf, "-listen", "127.0.0.1:0", "-max-inflight", "65535", "-max-queued", "10000000"))
}

// buildMochi builds cmd/mochibroker, mochi-mqtt's broker on one listener,
// into dir.
func buildMochi(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "mochibroker")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/mochibroker").CombinedOutput()
	if err != nil {
		t.Fatalf("go build mochibroker: %v\n%s", err, out)
	}
	return bin
}

// startMochi starts mochi-mqtt on port 0 and reads the port it prints.
func startMochi(t testing.TB, bin string) *brokerProc {
	t.Helper()
	return startListening(t, "mochi", exec.Command(bin, "-listen", "127.0.0.1:0"))
}

// startListening starts a broker that prints "listening on
// mqtt://127.0.0.1:PORT" and reads the port.
func startListening(t testing.TB, name string, cmd *exec.Cmd) *brokerProc {
	t.Helper()
	b := &brokerProc{name: name}
	if err := b.start(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listening.FindStringSubmatch(b.log.String()); m != nil {
			b.port, _ = strconv.Atoi(m[1])
			break
		}
		if err := b.alive(); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s printed no address within 10s; output:\n%s", name, b.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := b.waitDial(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *brokerProc) start(cmd *exec.Cmd) error {
	b.cmd, b.log, b.exited = cmd, new(logBuffer), make(chan struct{})
	cmd.Stdout, cmd.Stderr = b.log, b.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	go func() {
		cmd.Wait()
		close(b.exited)
	}()
	return nil
}

func (b *brokerProc) waitDial(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", b.addr(), 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-b.exited:
			return fmt.Errorf("%s exited before listening on %s (%v); log:\n%s", b.name, b.addr(), b.cmd.ProcessState, b.log.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after %v: %w", b.name, b.addr(), timeout, err)
		}
	}
}

// stop sends SIGTERM, then SIGKILL after five seconds.
func (b *brokerProc) stop() {
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

// alive reports an error if the broker has exited.
func (b *brokerProc) alive() error {
	select {
	case <-b.exited:
		return fmt.Errorf("%s exited (%v); log:\n%s", b.name, b.cmd.ProcessState, b.log.String())
	default:
		return nil
	}
}

// warnings returns the lines of the broker's output from offset from that
// tell of trouble: warnings, errors, and clients that left without
// DISCONNECT; at most the last 20.
func (b *brokerProc) warnings(from int) string {
	var ws []string
	for line := range strings.SplitSeq(b.log.String()[from:], "\n") {
		switch {
		case strings.Contains(line, "level=WARN"), strings.Contains(line, "level=ERROR"),
			strings.Contains(line, "Warning"), strings.Contains(line, "Error"),
			strings.Contains(line, `msg="client disconnected"`) && !strings.Contains(line, "client sent DISCONNECT"):
			ws = append(ws, line)
		}
	}
	if len(ws) == 0 {
		return ""
	}
	return "; the broker logged:\n" + strings.Join(ws[max(0, len(ws)-20):], "\n")
}

func (b *brokerProc) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// cpu returns the broker's CPU time, user and system, so far, from
// /proc/pid/stat, in clock ticks of 10 ms.
func (b *brokerProc) cpu() (time.Duration, error) {
	pid := b.cmd.Process.Pid
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:]) // from field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 and 15: utime and stime
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * (time.Second / clockTicks), nil
}

// clockTicks is sysconf(_SC_CLK_TCK), 100 on Linux for every architecture
// Go supports.
const clockTicks = 100

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
	msg := name + " not found; run scripts/deps.sh, or: apt-get install -y mosquitto"
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

// logBuffer collects a broker's output.
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

var errTimeout = errors.New("timed out")
