package brokerbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

// Mosquitto's command-line clients as the driver: mosquitto_sub -C for each
// subscriber, mosquitto_pub -l fed a file of one line per message. No
// broker gets its own client, and the benchmark process does no work
// while a case runs: the clients write to files and read from one.

// cliWindow is the -M of mosquitto_pub: the messages it keeps in flight
// at QoS 1 and 2, as the session.Client driver does (window).
const cliWindow = window

// maxCLILines is the most lines one mosquitto_pub -l takes at QoS 1 or 2.
// mosquitto_pub 2.0 in line mode disconnects at the first acknowledgement
// carrying the packet identifier of the last line it read; past 65,535
// messages identifiers repeat, and it leaves early, losing the rest (with
// any broker). Longer runs are fed by mosquitto_pub processes of at most
// this many lines, one after the other.
const maxCLILines = 50_000

// cliTools are Mosquitto's clients and the files of lines they publish.
type cliTools struct {
	pub, sub string
	dir      string
	mu       sync.Mutex
	files    map[int]string // by number of lines
}

func newCLITools(t testing.TB) *cliTools {
	return &cliTools{
		pub:   lookPath(t, "mosquitto_pub"),
		sub:   lookPath(t, "mosquitto_sub"),
		dir:   t.TempDir(),
		files: make(map[int]string),
	}
}

// lines returns a file of n lines, each the 64-byte payload.
func (ct *cliTools) lines(n int) (string, error) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if f, ok := ct.files[n]; ok {
		return f, nil
	}
	line := append(bytes.Clone(payload), '\n')
	f := filepath.Join(ct.dir, fmt.Sprintf("lines-%d", n))
	if err := os.WriteFile(f, bytes.Repeat(line, n), 0o600); err != nil {
		return "", err
	}
	ct.files[n] = f
	return f, nil
}

// chunks splits n messages at qos into the runs of mosquitto_pub that
// publish them (see maxCLILines).
func chunks(n int, qos byte) []int {
	if qos == 0 || n <= 65535 {
		return []int{n}
	}
	var cs []int
	for ; n > 0; n -= maxCLILines {
		cs = append(cs, min(n, maxCLILines))
	}
	return cs
}

func (ct *cliTools) hostPort(b *brokerProc) []string {
	return []string{"-h", "127.0.0.1", "-p", strconv.Itoa(b.port)}
}

// markReady publishes the retained message "ready" to topic, which every
// subscriber then receives first, once subscribed: the runs wait for it
// before publishing.
func (ct *cliTools) markReady(b *brokerProc, topic string) error {
	out, err := exec.Command(ct.pub, append(ct.hostPort(b), "-q", "1", "-r", "-t", topic, "-m", "ready")...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mosquitto_pub -r: %v: %s", err, out)
	}
	return nil
}

// cliSub is one mosquitto_sub, writing to a file.
type cliSub struct {
	cmd    *exec.Cmd
	file   string
	exited chan struct{}
	at     time.Time // when it exited
}

// runCLI measures case c on broker b driven by Mosquitto's clients: the
// clock and the broker's CPU time run from the start of the first
// mosquitto_pub until every mosquitto_sub has exited with all its
// messages, or, once the publishers are done, until nothing has arrived
// for idleTimeout (then the last arrival ends the clock, as in run).
func (ct *cliTools) run(b *brokerProc, c benchCase, id string) (result, error) {
	var res result
	topic := "bench/" + id
	qos := strconv.Itoa(int(c.qos))
	if err := ct.markReady(b, topic); err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp(ct.dir, id)
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	subs := make([]*cliSub, c.subs)
	defer func() {
		for _, s := range subs {
			if s != nil {
				s.cmd.Process.Kill()
				<-s.exited
			}
		}
	}()
	for i := range subs {
		s := &cliSub{file: filepath.Join(dir, fmt.Sprintf("sub%d", i)), exited: make(chan struct{})}
		out, err := os.Create(s.file)
		if err != nil {
			return res, err
		}
		s.cmd = exec.Command(ct.sub, append(ct.hostPort(b), "-i", fmt.Sprintf("%s-sub%d", id, i),
			"-q", qos, "-t", topic, "-C", strconv.Itoa(c.n+1))...)
		s.cmd.Stdout = out
		err = s.cmd.Start()
		out.Close()
		if err != nil {
			return res, err
		}
		go func() { s.cmd.Wait(); s.at = time.Now(); close(s.exited) }()
		subs[i] = s
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, s := range subs {
		for size(s.file) == 0 {
			select {
			case <-s.exited:
				return res, fmt.Errorf("mosquitto_sub exited before subscribing: %v", s.cmd.ProcessState)
			default:
			}
			if time.Now().After(deadline) {
				return res, errors.New("mosquitto_sub: no retained message within 20s")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	pubDone := make(chan error, 1)
	var pubCPU, pubPeak time.Duration // written before pubDone
	cpu0, err := b.cpu()
	if err != nil {
		return res, err
	}
	start := time.Now()
	go func() {
		var err error
		pubCPU, pubPeak, err = ct.publish(b, c, id, topic, qos)
		pubDone <- err
	}()

	// Wait for the subscribers, watching their files grow.
	var (
		pubErr    error
		published bool
		total     int64
		lastAt    = start
	)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
wait:
	for !allExited(subs) {
		select {
		case pubErr = <-pubDone:
			published = true
		case now := <-tick.C:
			if now.Sub(start) > runTimeout {
				break wait
			}
			if !published {
				continue // the files are read only to tell idleness
			}
			var n int64
			for _, s := range subs {
				n += size(s.file)
			}
			if n != total {
				total, lastAt = n, now
			}
			if now.Sub(lastAt) > idleTimeout {
				break wait
			}
		}
	}
	if allExited(subs) {
		for _, s := range subs {
			lastAt = maxTime(lastAt, s.at)
		}
	}
	cpu1, cerr := b.cpu()
	if !published {
		for _, s := range subs {
			s.cmd.Process.Kill()
		}
		pubErr = <-pubDone
	}
	res.elapsed, res.cpu = lastAt.Sub(start), cpu1-cpu0
	res.clientCPU, res.clientPeak = pubCPU, pubPeak
	for _, s := range subs {
		n, err := countLines(s.file)
		if err != nil {
			return res, err
		}
		res.received += max(n-1, 0) // the first is "ready"
		if allExited(subs) {
			c := processCPU(s.cmd.ProcessState)
			res.clientCPU += c
			res.clientPeak = max(res.clientPeak, c)
		}
	}
	if time.Since(start) > runTimeout {
		err = fmt.Errorf("%d of %d messages after %v: %w", res.received, c.n*c.subs, runTimeout, errTimeout)
	}
	return res, errors.Join(err, pubErr, cerr)
}

// publish runs mosquitto_pub -l over c.n lines, in as many runs as chunks
// says, and returns the CPU time they took, and the most one took.
func (ct *cliTools) publish(b *brokerProc, c benchCase, id, topic, qos string) (total, peak time.Duration, err error) {
	for i, n := range chunks(c.n, byte(c.qos)) {
		file, err := ct.lines(n)
		if err != nil {
			return total, peak, err
		}
		in, err := os.Open(file)
		if err != nil {
			return total, peak, err
		}
		cmd := exec.Command(ct.pub, append(ct.hostPort(b), "-i", fmt.Sprintf("%s-pub%d", id, i),
			"-q", qos, "-M", strconv.Itoa(cliWindow), "-t", topic, "-l")...)
		cmd.Stdin = in
		out, err := cmd.CombinedOutput()
		in.Close()
		cpu := processCPU(cmd.ProcessState)
		total, peak = total+cpu, max(peak, cpu)
		if err != nil {
			return total, peak, fmt.Errorf("mosquitto_pub: %v: %s", err, out)
		}
	}
	return total, peak, nil
}

// processCPU is the CPU time, user and system, of a process that has
// exited; zero for one that has not.
func processCPU(ps *os.ProcessState) time.Duration {
	if ps == nil {
		return 0
	}
	return ps.UserTime() + ps.SystemTime()
}

// runPlain runs case c on broker b as plain.sh does it, a shell pipeline
// anyone can type: mosquitto_sub -C N & ... mosquitto_pub -l < file. The
// clock is the script's, from the start of mosquitto_pub until every
// mosquitto_sub has exited; the broker's CPU time is read around the whole
// script.
func (ct *cliTools) runPlain(b *brokerProc, c benchCase, id string) (result, error) {
	res := result{received: c.n * c.subs}
	if c.qos > 0 && c.n > 65535 {
		return res, fmt.Errorf("plain.sh: more than 65,535 lines at QoS %d (see maxCLILines)", c.qos)
	}
	file, err := ct.lines(c.n)
	if err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp(ct.dir, id)
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), plainTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "plain.sh", "127.0.0.1", strconv.Itoa(b.port), strconv.Itoa(int(c.qos)),
		"bench/"+id, strconv.Itoa(c.n), strconv.Itoa(c.subs), strconv.Itoa(cliWindow), file, dir)
	// Its own process group, so that a timeout ends its clients too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cpu0, err := b.cpu()
	if err != nil {
		return res, err
	}
	out, err := cmd.Output()
	cpu1, cerr := b.cpu()
	res.cpu = cpu1 - cpu0
	if err != nil {
		got := 0
		for i := 1; i <= c.subs; i++ {
			n, _ := countLines(filepath.Join(dir, fmt.Sprintf("sub%d", i)))
			got += max(n-1, 0)
		}
		return res, fmt.Errorf("plain.sh: %v (%d of %d messages received); %s", err, got, c.n*c.subs, stderr.String())
	}
	us, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return res, fmt.Errorf("plain.sh printed %q: %v", out, err)
	}
	res.elapsed = time.Duration(us) * time.Microsecond
	return res, cerr
}

// plainTimeout bounds one run of plain.sh, which has no idle timeout: a
// broker that drops a message leaves its subscriber waiting.
const plainTimeout = 30 * time.Second

func allExited(subs []*cliSub) bool {
	for _, s := range subs {
		select {
		case <-s.exited:
		default:
			return false
		}
	}
	return true
}

func size(file string) int64 {
	fi, err := os.Stat(file)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func countLines(file string) (int, error) {
	b, err := os.ReadFile(file)
	return bytes.Count(b, []byte{'\n'}), err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
