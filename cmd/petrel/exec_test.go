package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// TestExec runs the built command in its own process, publishing to a
// subscriber: the subscriber writes each message as it arrives (a pipe
// sees the first before the second is sent), and SIGINT makes it
// disconnect and exit with 0.
func TestExec(t *testing.T) {
	b := startBroker(t, mosquittotest.Options{})
	bin := petrelBin(t)
	sub := startProc(t, nil, bin, "sub", "-h", "127.0.0.1", "-p", strconv.Itoa(b.Port()),
		"-t", "petrel/exec/#", "-q", "1", "-v", "-i", "petrel-exec")
	waitSubscribed(t, b, "petrel-exec", 1, "petrel/exec/#")
	mustPub(t, b, "", "-t", "petrel/exec/1", "-q", "1", "-m", "first")
	sub.stdout.waitFor(t, "petrel/exec/1 first\n")
	mustPub(t, b, "a\nb\n", "-t", "petrel/exec/2", "-q", "2", "-l")
	sub.stdout.waitFor(t, "petrel/exec/2 b\n")
	sub.cmd.Process.Signal(syscall.SIGINT)
	if code := sub.wait(t); code != exitOK {
		t.Errorf("sub after SIGINT: exit code %d, stderr %q", code, sub.stderr.String())
	}
	if got, want := sub.stdout.String(), "petrel/exec/1 first\npetrel/exec/2 a\npetrel/exec/2 b\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if !strings.Contains(b.Log(), "Client petrel-exec disconnected.") {
		t.Errorf("the broker did not log a clean DISCONNECT of petrel-exec:\n%s", b.Log())
	}

	// SIGTERM too; and the exit codes of failures reach the shell.
	sub = startProc(t, nil, bin, "sub", "-h", "127.0.0.1", "-p", strconv.Itoa(b.Port()), "-t", "x", "-i", "petrel-term")
	waitSubscribed(t, b, "petrel-term", 0, "x")
	sub.cmd.Process.Signal(syscall.SIGTERM)
	if code := sub.wait(t); code != exitOK {
		t.Errorf("sub after SIGTERM: exit code %d, stderr %q", code, sub.stderr.String())
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"pub", "-t", "a"}, exitUsage},
		{[]string{"sub", "-h", "127.0.0.1", "-p", strconv.Itoa(b.Port()), "-t", "a", "-W", "0.1"}, exitTimeout},
	} {
		p := startProc(t, nil, bin, c.args...)
		if code := p.wait(t); code != c.code {
			t.Errorf("%q: exit code %d, want %d; stderr %q", c.args, code, c.code, p.stderr.String())
		}
	}
}

// TestPubInProcess publishes at QoS 1 and 2 from the test process.
func TestPubInProcess(t *testing.T) {
	b := startBroker(t, mosquittotest.Options{})
	for qos := 1; qos <= 2; qos++ {
		topic, q := fmt.Sprintf("petrel/inprocess/%d", qos), strconv.Itoa(qos)
		if code, stdout, stderr := petrel(t, "x\ny\n", pubArgs(b, "-t", topic, "-q", q, "-l", "-r")...); code != exitOK {
			t.Fatalf("pub -q %d: exit code %d, stdout %q, stderr %q", qos, code, stdout, stderr)
		}
		code, stdout, stderr := petrel(t, "", subArgs(b, "-t", topic, "-C", "1")...)
		if code != exitOK || stdout != "y\n" {
			t.Errorf("sub: exit code %d, stdout %q, stderr %q; want the retained y", code, stdout, stderr)
		}
	}
}

// TestExecPipes: sub's standard output and pub's standard input are
// pipes, which they read and write through descriptions of their own
// (stdio.go). A QoS 0 burst of lines, which sub writes a burst at a time,
// arrives whole and in order; and a sub whose reader has gone dies of
// SIGPIPE at its next message, as mosquitto_sub does (`petrel sub | head
// -1`).
func TestExecPipes(t *testing.T) {
	b := startBroker(t, mosquittotest.Options{})
	bin := petrelBin(t)
	port := strconv.Itoa(b.Port())
	const n = 500
	sub := startProc(t, nil, bin, "sub", "-h", "127.0.0.1", "-p", port, "-t", "petrel/pipes", "-C", strconv.Itoa(n), "-i", "petrel-pipes")
	waitSubscribed(t, b, "petrel-pipes", 0, "petrel/pipes")
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, "line %d\n", i)
	}
	mustPub(t, b, lines.String(), "-t", "petrel/pipes", "-l")
	if code := sub.wait(t); code != exitOK || sub.stdout.String() != lines.String() {
		t.Errorf("sub -C %d: exit code %d, %d bytes of stdout (want %d, in order); stderr %q",
			n, code, len(sub.stdout.String()), lines.Len(), sub.stderr.String())
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "sub", "-h", "127.0.0.1", "-p", port, "-t", "petrel/broken", "-i", "petrel-broken")
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	waitSubscribed(t, b, "petrel-broken", 0, "petrel/broken")
	mustPub(t, b, "", "-t", "petrel/broken", "-m", "one")
	if line, err := bufio.NewReader(r).ReadString('\n'); line != "one\n" {
		t.Fatalf("first line %q, %v; want \"one\\n\"", line, err)
	}
	r.Close()
	mustPub(t, b, "", "-t", "petrel/broken", "-m", "two")
	select {
	case err := <-exited:
		exited <- err
		var ws syscall.WaitStatus
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			ws, _ = ee.Sys().(syscall.WaitStatus)
		}
		if !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
			t.Errorf("sub writing to a pipe without a reader ended with %v; want SIGPIPE", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("sub did not exit within 15s of writing to a pipe without a reader")
	}
}
