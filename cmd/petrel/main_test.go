package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/internal/rabbitmqtest"
)

// binDir holds the petrel binary built for the exec tests; TestMain
// removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	rabbitmqtest.StopShared()
	code = leaktest.Finish(code)
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	buildErr  error
)

// petrelBin builds the petrel command once per test run and returns the
// path of the binary.
func petrelBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "petrel-test-")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", filepath.Join(binDir, "petrel")}
		// In a Git checkout, stamp the revision, which petrel version
		// prints, whatever GOFLAGS says (-buildvcs=auto fails where git
		// status does).
		if exec.Command("git", "status", "--porcelain").Run() == nil {
			args = append(args, "-buildvcs=true")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "petrel")
}

// startBroker starts a Mosquitto broker that logs subscriptions, so that
// waitSubscribed can tell when a subscriber is ready.
func startBroker(t *testing.T, opts mosquittotest.Options) *mosquittotest.Broker {
	t.Helper()
	opts.Config += "\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\nlog_type subscribe\n"
	return mosquittotest.Start(t, opts)
}

// waitSubscribed waits until the broker has logged the subscription of
// clientID to filter at qos: from then on it routes messages to it.
func waitSubscribed(t *testing.T, b *mosquittotest.Broker, clientID string, qos int, filter string) {
	t.Helper()
	line := fmt.Sprintf(": %s %d %s\n", clientID, qos, filter)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.Log(), line) {
		if time.Now().After(deadline) {
			t.Fatalf("the broker did not log the subscription %q within 10s; log:\n%s", line, b.Log())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer that a command writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until s holds want.
func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output %q does not hold %q after 10s", s.String(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cmd is a petrel command running in the test process.
type cmd struct {
	stdout, stderr syncBuffer
	code           chan int
	cancel         context.CancelFunc // as a signal would
}

// start runs petrel with args in the test process, on a goroutine, with
// stdin as its standard input (nil: empty) and the environment variables
// vars.
func start(t *testing.T, stdin io.Reader, vars map[string]string, args ...string) *cmd {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &cmd{code: make(chan int, 1), cancel: cancel}
	e := &env{stdin: stdin, stdout: &c.stdout, stderr: &c.stderr, getenv: func(k string) string { return vars[k] }}
	go func() { c.code <- run(ctx, e, args) }()
	t.Cleanup(func() {
		cancel()
		c.wait(t)
	})
	return c
}

// wait waits for the command to end and returns its exit code.
func (c *cmd) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-c.code:
		c.code <- code // for the next wait
		return code
	case <-time.After(15 * time.Second):
		t.Fatalf("petrel did not exit within 15s; stdout %q, stderr %q", c.stdout.String(), c.stderr.String())
		return -1
	}
}

// petrel runs petrel with args in the test process and returns its exit
// code, stdout and stderr.
func petrel(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	c := start(t, strings.NewReader(stdin), nil, args...)
	code = c.wait(t)
	return code, c.stdout.String(), c.stderr.String()
}

// hostPort returns the -h and -p flags of the broker's plain listener.
func hostPort(b *mosquittotest.Broker) []string {
	return []string{"-h", "127.0.0.1", "-p", fmt.Sprint(b.Port())}
}

// join joins lists of arguments.
func join(lists ...[]string) []string {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	return all
}
