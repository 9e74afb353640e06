package main

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"

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
