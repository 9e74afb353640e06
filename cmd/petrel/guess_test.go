package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// clockTicks is the unit of the CPU times of /proc/PID/stat: USER_HZ,
// which Linux fixes at 100 for user space (getconf CLK_TCK).
const clockTicks = 100

// TestPasswordGuessing runs petrel broker with a password file at the
// default PBKDF2 iterations (0.1 s of CPU a check), and for 20 s has 8
// clients guess passwords as fast as the broker answers, for the real user
// name and for others, while the real user reconnects every 200 ms. The
// real user's logins stay fast (remembered), the broker stays under one
// core, and few guesses get checked: the others are refused unchecked
// (CONNACK 3), which tells nothing of the password.
func TestPasswordGuessing(t *testing.T) {
	if testing.Short() {
		t.Skip("guesses passwords for 20 s")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads the broker's CPU time from /proc")
	}
	const (
		window   = 20 * time.Second
		guessers = 8
		every    = 200 * time.Millisecond
		user     = "alice"
		password = "correct horse battery staple"
	)
	bin := petrelBin(t)
	pwfile := filepath.Join(t.TempDir(), "passwd")
	if p := startProc(t, nil, bin, "passwd", "-c", "-b", pwfile, user, password); p.wait(t) != exitOK {
		t.Fatalf("petrel passwd: stderr %q", p.stderr.String())
	}
	br := startBrokerLogFile(t, bin, "-listen", "127.0.0.1:0", "-password-file", pwfile)
	addr := waitListening(t, &br.stdout, br.done, func() string { return br.logTail(t) })

	if d, code, err := connectOnce(addr, "alice-device", user, password, time.Now().Add(10*time.Second)); err != nil || code != packet.Accepted {
		t.Fatalf("first login: code %v, %v after %v", code, err, d)
	}
	cpu0 := cpuTicks(t, br.cmd.Process.Pid)
	start := time.Now()
	end := start.Add(window)

	var checked, delayed, other atomic.Int64
	var wg sync.WaitGroup
	for g := range guessers {
		wg.Go(func() {
			for i := 0; time.Now().Before(end); i++ {
				name := user
				if i%2 == 1 {
					name = fmt.Sprintf("user%d-%d", g, i)
				}
				// Waits past the window are cut: not counted as answers.
				switch _, code, err := connectOnce(addr, "guesser", name, "guess"+strconv.Itoa(i), end); {
				case err != nil:
					other.Add(1)
				case code == packet.RefusedNotAuthorized:
					checked.Add(1)
				case code == packet.RefusedServerUnavailable:
					delayed.Add(1)
				default:
					t.Errorf("guess %s: CONNACK %v", name, code)
				}
			}
		})
	}
	var logins []time.Duration
	var failed []string
	for next := start; next.Add(every).Before(end); next = next.Add(every) {
		time.Sleep(time.Until(next))
		d, code, err := connectOnce(addr, "alice-device", user, password, time.Now().Add(10*time.Second))
		if err != nil || code != packet.Accepted {
			failed = append(failed, fmt.Sprintf("code %v, %v after %v", code, err, d))
			continue
		}
		logins = append(logins, d)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	cores := float64(cpuTicks(t, br.cmd.Process.Pid)-cpu0) / clockTicks / elapsed

	br.cmd.Process.Signal(syscall.SIGTERM)
	if code := br.wait(t); code != exitOK {
		t.Errorf("petrel broker exit code %d after SIGTERM; log ends %q", code, br.logTail(t))
	}
	if len(failed) > 0 {
		t.Errorf("%d of the real user's %d logins failed: %q", len(failed), len(failed)+len(logins), failed)
	}
	if len(logins) == 0 {
		t.Fatal("no login of the real user")
	}
	slices.Sort(logins)
	pct := func(p float64) time.Duration { return logins[int(p*float64(len(logins)-1))] }
	guessRate := float64(checked.Load()) / elapsed
	t.Logf("real user: %d logins, p50 %v, p95 %v, max %v", len(logins), pct(0.5), pct(0.95), logins[len(logins)-1])
	t.Logf("broker CPU: %.2f cores over %.1f s", cores, elapsed)
	t.Logf("guesses checked (CONNACK 5): %d, %.2f/s; refused unchecked (CONNACK 3): %d, %.0f/s; cut or failed: %d",
		checked.Load(), guessRate, delayed.Load(), float64(delayed.Load())/elapsed, other.Load())
	if p95 := pct(0.95); p95 > 300*time.Millisecond {
		t.Errorf("real user's login p95 %v, want at most 300ms", p95)
	}
	if cores > 1 {
		t.Errorf("broker CPU %.2f cores, want at most 1", cores)
	}
	// The backoff of one address lets about 15 guesses be checked in 20 s.
	// PBKDF2's cost alone allows some 9 a second per core: a bound of 20/s
	// would pass without a backoff.
	if guessRate > 2 {
		t.Errorf("%.1f guesses/s checked, want at most 2", guessRate)
	}
	if checked.Load()+delayed.Load() == 0 {
		t.Error("no guess was answered: the test did not attack")
	}
}

// logProc is petrel broker with its log (stderr) in a file. The broker
// logs each refusal: through a pipe, it would log as fast as the test
// process reads, and the test's load would stall the broker's logins.
type logProc struct {
	cmd    *exec.Cmd
	stdout syncBuffer
	log    string        // the log file's name
	done   chan struct{} // closed when the process has exited
	err    error         // from Wait, set before done is closed
}

// startBrokerLogFile starts petrel broker, from the binary bin, with args;
// the test's cleanup kills it if it is still running.
func startBrokerLogFile(t *testing.T, bin string, args ...string) *logProc {
	t.Helper()
	p := &logProc{
		cmd:  exec.Command(bin, append([]string{"broker"}, args...)...),
		log:  filepath.Join(t.TempDir(), "broker.log"),
		done: make(chan struct{}),
	}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the process has its own descriptor
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the broker to exit and returns its exit code.
func (p *logProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("petrel broker did not exit within 15s; log ends %q", p.logTail(t))
	}
	if ee, ok := errors.AsType[*exec.ExitError](p.err); ok {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("petrel broker: %v", p.err)
	}
	return 0
}

// logTail returns the end of the broker's log.
func (p *logProc) logTail(t *testing.T) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Error(err)
	}
	return tail(string(b))
}

// listenAddr waits for petrel broker, run by startProc, to print its
// plain listener's address.
func listenAddr(t *testing.T, p *proc) string {
	t.Helper()
	return waitListening(t, &p.stdout, p.done, func() string { return p.stderr.String() })
}

// waitListening waits for petrel broker to print its plain listener's
// address on stdout, or to exit (done); log returns its log, for failures.
func waitListening(t *testing.T, stdout *syncBuffer, done <-chan struct{}, log func() string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listeningLine.FindStringSubmatch(stdout.String()); m != nil && m[1] == "mqtt" {
			return m[2]
		}
		select {
		case <-done:
			t.Fatalf("petrel broker exited; log ends %q", tail(log()))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("petrel broker did not print its listener within 10s; log ends %q", tail(log()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tail(s string) string { return s[max(0, len(s)-2000):] }

// connectOnce opens a connection to addr, sends CONNECT from clientID
// with user and password, and returns the CONNACK's return code and the
// time it took. It gives up at deadline. An accepted connection ends with
// DISCONNECT; the others with a reset, which leaves no TIME_WAIT behind:
// the guessers open thousands.
func connectOnce(addr, clientID, user, password string, deadline time.Time) (d time.Duration, code packet.ConnectReturnCode, err error) {
	start := time.Now()
	nc, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return time.Since(start), 0, err
	}
	defer func() {
		if err != nil || code != packet.Accepted {
			nc.(*net.TCPConn).SetLinger(0)
		}
		nc.Close()
	}()
	nc.SetDeadline(deadline)
	b, err := (&packet.Connect{ClientID: []byte(clientID), CleanSession: true,
		UsernameFlag: true, Username: []byte(user), PasswordFlag: true, Password: []byte(password)}).AppendBinary(nil)
	if err != nil {
		return 0, 0, err
	}
	if _, err := nc.Write(b); err != nil {
		return time.Since(start), 0, err
	}
	var ack [4]byte
	if _, err := io.ReadFull(nc, ack[:]); err != nil {
		return time.Since(start), 0, err
	}
	d = time.Since(start)
	if ack[0] != 0x20 || ack[1] != 2 {
		return d, 0, fmt.Errorf("not a CONNACK: % x", ack)
	}
	code = packet.ConnectReturnCode(ack[3])
	if code == packet.Accepted {
		nc.Write([]byte{0xe0, 0}) // DISCONNECT
	}
	return d, code, nil
}

// cpuTicks returns the user and system CPU time of process pid, in clock
// ticks, from /proc/PID/stat.
func cpuTicks(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid ...: utime and stime are fields 14 and 15,
	// the 12th and 13th after the command name, which may hold spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	return utime + stime
}
