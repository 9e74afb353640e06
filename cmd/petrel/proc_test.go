package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"
)

// proc is a program the test runs: petrel's binary, or one of Mosquitto's
// clients.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{} // closed when the process has exited
	err            error         // from Wait, set before done is closed
}

// startProc starts the program at path with args and stdin (nil: none);
// the test's cleanup kills it if it is still running.
func startProc(t *testing.T, stdin io.Reader, path string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(path, args...), done: make(chan struct{})}
	p.cmd.Stdin = stdin
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
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

// wait waits for the program to exit and returns its exit code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not exit within 15s; stdout %q, stderr %q", p.cmd.Path, p.stdout.String(), p.stderr.String())
	}
	if ee, ok := errors.AsType[*exec.ExitError](p.err); ok {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("%s: %v", p.cmd.Path, p.err)
	}
	return 0
}

// mosquittoTool returns the path of one of Mosquitto's clients. When it is
// missing the test is skipped, or fails if the environment variable CI is
// "true", as mosquittotest does for the broker.
func mosquittoTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found (CI=true: a missing tool fails the test): %v", name, err)
	}
	t.Skipf("%s not found: apt-get install mosquitto-clients", name)
	return ""
}
