package leaktest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps its cleanups and errors for the test
// to look at, instead of acting on them.
type recorder struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// end runs the cleanups as the testing package would.
func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestCheckWaitsForExit(t *testing.T) {
	Check(t)
	go time.Sleep(50 * time.Millisecond)
}

func TestCheckFindsLeak(t *testing.T) {
	r := &recorder{TB: t}
	check(r, 100*time.Millisecond)
	stop := make(chan struct{})
	defer close(stop)
	go leakyWorker(stop)
	r.end()
	if len(r.errors) != 1 {
		t.Fatalf("got %d errors, want 1: %q", len(r.errors), r.errors)
	}
	if msg := r.errors[0]; !strings.Contains(msg, "1 goroutine(s) still running") || !strings.Contains(msg, "leaktest.leakyWorker") {
		t.Errorf("error does not name the leaked goroutine:\n%s", msg)
	}
}

func leakyWorker(stop chan struct{}) { <-stop }

func TestCheckIgnoresEarlierGoroutines(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	go leakyWorker(stop)
	r := &recorder{TB: t}
	check(r, 100*time.Millisecond)
	r.end()
	if len(r.errors) != 0 {
		t.Errorf("unexpected errors: %q", r.errors)
	}
}

func TestCheckIgnoresOtherTests(t *testing.T) {
	r := &recorder{TB: t}
	check(r, 100*time.Millisecond)
	t.Run("sub", func(t *testing.T) {
		// The subtest's goroutine runs while the check looks.
		r.end()
	})
	if len(r.errors) != 0 {
		t.Errorf("unexpected errors: %q", r.errors)
	}
}
