package leaktest

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// DefaultWait is how long Check waits, when the test ends, for the
// goroutines the test started to exit.
const DefaultWait = 2 * time.Second

// Check fails t if, once t and its cleanups have ended, goroutines that
// were not running when Check was called are still running DefaultWait
// later. The failure lists their stacks.
//
// Call it first in the test: cleanups run last-registered first, and the
// check must come after the cleanups that close what the test opened.
func Check(t testing.TB) {
	t.Helper()
	check(t, DefaultWait)
}

// Run runs the tests of m and returns their exit code, or 1 if they passed
// but goroutines other than the runtime's and the testing package's are
// still running DefaultWait later; it prints their stacks. Use it from
// TestMain as os.Exit(leaktest.Run(m)), for packages whose tests cannot all
// call Check.
func Run(m *testing.M) int { return Finish(m.Run()) }

// Finish is the end of Run: given code, the exit code of a package's
// tests, it returns code, or 1 if code is 0 but goroutines other than the
// runtime's and the testing package's are still running DefaultWait later;
// it prints their stacks. Call m.Run and Finish apart when what the tests
// shared must be stopped in between:
//
//	code := m.Run()
//	rabbitmqtest.StopShared()
//	os.Exit(leaktest.Finish(code))
func Finish(code int) int {
	if code != 0 {
		return code
	}
	deadline := time.Now().Add(DefaultWait)
	for {
		var leaked []goroutine
		for _, g := range goroutines() {
			if !ignored(g.stack) {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "leaktest: %d goroutine(s) still running after the tests:\n", len(leaked))
			for _, g := range leaked {
				fmt.Fprintf(os.Stderr, "\n%s\n", g.stack)
			}
			return 1
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func check(t testing.TB, wait time.Duration) {
	before := make(map[int]bool)
	for _, g := range goroutines() {
		before[g.id] = true
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(wait)
		for {
			var leaked []goroutine
			for _, g := range goroutines() {
				if !before[g.id] && !ignored(g.stack) {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				var b strings.Builder
				for _, g := range leaked {
					b.WriteString("\n\n")
					b.WriteString(g.stack)
				}
				t.Errorf("leaktest: %d goroutine(s) still running %v after the test:%s", len(leaked), wait, b.String())
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// goroutine is one goroutine of a runtime.Stack dump.
type goroutine struct {
	id    int
	stack string // the whole record, header line included
}

// goroutines returns every goroutine but the caller's.
func goroutines() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []goroutine
	// Records are separated by a blank line; the first is the caller's.
	for i, rec := range bytes.Split(buf, []byte("\n\n")) {
		if i == 0 {
			continue
		}
		// "goroutine 42 [chan receive]:"
		header, _, _ := bytes.Cut(rec, []byte("\n"))
		f := strings.Fields(string(header))
		if len(f) < 2 || f[0] != "goroutine" {
			continue
		}
		id, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		gs = append(gs, goroutine{id: id, stack: string(rec)})
	}
	return gs
}

// ignoredFuncs are functions whose goroutines are the runtime's or the
// testing package's, not the test's.
var ignoredFuncs = []string{
	"testing.tRunner(",       // other tests, and this test's own goroutine
	"testing.(*M).",          // the test binary's main, and its -timeout alarm
	"testing.runFuzzing(",    // the fuzzing engine
	"os/signal.signal_recv(", // the signal handler, once os/signal is used
	"runtime.ensureSigM(",    // its companion
	// net.Pipe's deadline timers run a short callback after the deadline,
	// possibly after the test that set it has ended.
	"net.(*pipeDeadline).set.func1(",
	// internal/nowait's poller serves the whole process: it runs while any
	// Listener or Conn of that package is open, whichever test opened it,
	// and may start after Check looked (a broker's Serve goroutine starts
	// it). internal/nowait's own tests check that it ends.
	"internal/nowait.(*poller).run(",
}

// ignored reports whether a goroutine's stack belongs to the runtime or the
// testing package.
func ignored(stack string) bool {
	return slices.ContainsFunc(ignoredFuncs, func(f string) bool {
		return strings.Contains(stack, f)
	})
}
