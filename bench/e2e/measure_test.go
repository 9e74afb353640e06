package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// benchCase is one run: n messages of payloadSize bytes at qos, from one
// publisher to one subscriber on topic.
type benchCase struct {
	qos    byte
	n      int
	window int // messages a publisher may have in flight
	topic  string
	id     string // unique per run, for client identifiers
	rep    int
}

// result is what one peer measured on one case.
type result struct {
	peer     string
	qos      byte
	n        int
	rep      int
	elapsed  time.Duration // first publish until the last message arrived
	cpu      time.Duration // the clients' CPU time, publisher and subscriber
	pubCPU   time.Duration // of which the publisher's, where it is a process of its own
	broker   time.Duration // the broker's CPU time meanwhile
	received int
	gaps     string // with -e2e.gaps, the pauses in arrivals
	io       string // with -e2e.io, the clients' reads and writes
}

func (r result) rate() float64 { return float64(r.received) / r.elapsed.Seconds() }

func (r result) cpuPerMsg() float64 { return perMsg(r.cpu, r.received) }

func (r result) brokerPerMsg() float64 { return perMsg(r.broker, r.received) }

func perMsg(d time.Duration, n int) float64 {
	return float64(d.Nanoseconds()) / 1e3 / float64(max(n, 1))
}

// payloadSize is the size of every message's payload.
const payloadSize = 64

// payload is the message every peer sends: printable, without a newline,
// so that mosquitto_pub -l can send it as a line and mosquitto_sub prints
// it as one.
var payload = func() []byte {
	b := []byte("petrel-e2e-")
	for len(b) < payloadSize {
		b = append(b, 'a'+byte(len(b)%26))
	}
	return b
}()

// Limits of a run: the whole of it, and how long the subscriber may receive
// nothing after the publisher has finished before the run ends short (QoS 0
// messages may be lost).
var (
	runTimeout  = 2 * time.Minute
	idleTimeout = 3 * time.Second
)

// counter counts received messages and closes all when n have arrived.
type counter struct {
	n    int64
	got  atomic.Int64
	all  chan struct{}
	once sync.Once

	// With -e2e.gaps, the arrival times.
	mu       sync.Mutex
	arrivals []time.Time
}

// With -e2e.gaps, counters record arrival times, to find stalls: pauses
// longer than gapMin.
const gapMin = 5 * time.Millisecond

func newCounter(n int) *counter {
	c := &counter{n: int64(n), all: make(chan struct{})}
	if *flagGaps {
		c.arrivals = make([]time.Time, 0, n)
	}
	return c
}

func (c *counter) add(k int64) {
	if *flagGaps {
		c.mu.Lock()
		c.arrivals = append(c.arrivals, time.Now())
		c.mu.Unlock()
	}
	if c.got.Add(k) >= c.n {
		c.once.Do(func() { close(c.all) })
	}
}

// gaps summarises the pauses between arrivals longer than min, and the
// first arrival's delay after start.
func (c *counter) gaps(start time.Time, min time.Duration) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.arrivals) == 0 {
		return ""
	}
	var n int
	var total, longest time.Duration
	prev := start
	var b strings.Builder
	for _, t := range c.arrivals {
		if d := t.Sub(prev); d > min {
			n++
			total += d
			longest = max(longest, d)
			if n <= 8 {
				fmt.Fprintf(&b, " %v@%v", d.Round(time.Millisecond), prev.Sub(start).Round(time.Millisecond))
			}
		}
		prev = t
	}
	return fmt.Sprintf("first after %v; %d pauses > %v, %v in all, longest %v:%s",
		c.arrivals[0].Sub(start).Round(time.Microsecond), n, min, total.Round(time.Millisecond), longest.Round(time.Millisecond), b.String())
}

// await waits until the subscriber has all messages; or, once pubDone is
// closed, until nothing has arrived for idleTimeout; or until runTimeout.
// It returns the time from start until the last message seen and the count
// received.
func (c *counter) await(start time.Time, pubDone <-chan struct{}) (time.Duration, int, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last, lastAt := c.got.Load(), time.Now()
	for {
		select {
		case <-c.all:
			return time.Since(start), int(c.got.Load()), nil
		case now := <-tick.C:
			if got := c.got.Load(); got != last {
				last, lastAt = got, now
			}
			published := false
			select {
			case <-pubDone:
				published = true
			default:
			}
			switch {
			case published && now.Sub(lastAt) > idleTimeout:
				return lastAt.Sub(start), int(last), nil
			case now.Sub(start) > runTimeout:
				return lastAt.Sub(start), int(last), fmt.Errorf("%d of %d messages after %v: %w", last, c.n, runTimeout, errTimeout)
			}
		}
	}
}

var errTimeout = errors.New("timed out")

// waitDone waits for ch until timeout.
func waitDone(ch <-chan struct{}, timeout time.Duration, what string) error {
	select {
	case <-ch:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s: not done after %v: %w", what, timeout, errTimeout)
	}
}

// cpuSelf returns the CPU time, user and system, of this process so far:
// all its threads, none of its children (the broker among them).
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// inProcess measures a run of a Go peer whose clients live in this
// process: the CPU time of the whole process while it runs, after a GC so
// that one run's garbage is not collected on the next one's time. If
// profileDir is set, it also writes a CPU profile of the run there.
type inProcess struct {
	start      time.Time
	cpu0       time.Duration
	profile    *os.File
	profileErr error
}

func startInProcess(profileDir, name string) *inProcess {
	runtime.GC()
	m := new(inProcess)
	if profileDir != "" {
		m.profile, m.profileErr = os.Create(filepath.Join(profileDir, name+".pprof"))
		if m.profileErr == nil {
			m.profileErr = pprof.StartCPUProfile(m.profile)
		}
	}
	m.cpu0 = cpuSelf()
	m.start = time.Now()
	return m
}

// stop returns the CPU time since start.
func (m *inProcess) stop() (time.Duration, error) {
	cpu := cpuSelf() - m.cpu0
	if m.profile != nil {
		if m.profileErr == nil {
			pprof.StopCPUProfile()
		}
		if err := m.profile.Close(); m.profileErr == nil {
			m.profileErr = err
		}
	}
	return cpu, m.profileErr
}

// procCPU returns the CPU time, user and system, of process pid so far,
// from /proc/pid/stat, in clock ticks of 10 ms.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	s := string(b)
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

// clockTicks is sysconf(_SC_CLK_TCK), 100 on Linux for every architecture Go
// supports.
const clockTicks = 100

// connectLabelled calls connect with the profiler label client=role, which
// the goroutines it starts inherit, so that a profile tells the
// publisher's work from the subscriber's (go tool pprof -tagfocus
// client=publisher).
func connectLabelled(ctx context.Context, role string, connect func(context.Context) (bool, error)) (present bool, err error) {
	pprof.Do(ctx, pprof.Labels("client", role), func(ctx context.Context) {
		present, err = connect(ctx)
	})
	return present, err
}

// labelled is connectLabelled for calls without a context.
func labelled[T any](role string, f func() T) (v T) {
	pprof.Do(context.Background(), pprof.Labels("client", role), func(context.Context) { v = f() })
	return v
}

// labelAs sets the profiler label client=role on the calling goroutine.
func labelAs(role string) {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("client", role)))
}
