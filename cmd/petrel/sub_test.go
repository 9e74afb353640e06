package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// TestSubFlagErrors checks sub's own flags that are refused before
// connecting: exit code 1, and the flag named on stderr.
func TestSubFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-t", "a", "-R", "--retained-only"}, "-R and --retained-only"},
		{[]string{"-t", "a", "-T", "a/#/b"}, `-T "a/#/b"`},
		{[]string{"-U", "a/#/b"}, `-U "a/#/b"`},
		{[]string{"-t", "a", "-F", "%Z"}, `-F "%Z": at byte 1: unknown specifier "%Z"`},
		{[]string{"-t", "a", "-F", "%"}, `-F "%": at byte 1: a '%' ends the format`},
		{[]string{"-t", "a", "-x", "abc"}, `-x "abc": the session expiry interval is seconds`},
		{[]string{"-t", "a", "-x", "4294967296"}, `-x "4294967296"`},
		{[]string{"-t", "a", "--random-filter", "0"}, "--random-filter 0: the chance"},
		{[]string{"-t", "a", "--random-filter", "100.5"}, "--random-filter 100.5"},
		{[]string{"-x", "5"}, "no topic: give -t"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := petrel(t, "", append([]string{"sub"}, tt.args...)...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit code %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, exitUsage, tt.want)
			}
		})
	}
	for _, x := range []string{"0", "-1", "∞", "4294967295", "60"} {
		if err := checkSessionExpiry(x); err != nil {
			t.Errorf("-x %s: %v", x, err)
		}
	}
}

// TestSubQuiet checks that --quiet silences a runtime error but keeps its
// exit code, and still reports usage errors.
func TestSubQuiet(t *testing.T) {
	code, stdout, stderr := petrel(t, "", "sub", "-h", "127.0.0.1", "-p", "1", "-t", "a", "--quiet")
	if code != exitConnect || stdout != "" || stderr != "" {
		t.Errorf("sub --quiet to a closed port: exit code %d, stdout %q, stderr %q; want %d and nothing", code, stdout, stderr, exitConnect)
	}
	code, _, stderr = petrel(t, "", "sub", "-t", "a/#/b", "--quiet")
	if code != exitUsage || !strings.Contains(stderr, `-t "a/#/b"`) {
		t.Errorf("sub --quiet with a bad filter: exit code %d, stderr %q; want the usage error", code, stderr)
	}
}

// mosquittoPub publishes with the real mosquitto_pub, and fails the test
// unless it succeeds.
func mosquittoPub(t *testing.T, b *mosquittotest.Broker, args ...string) {
	t.Helper()
	args = append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(b.Port())}, args...)
	p := startProc(t, nil, mosquittoTool(t, "mosquitto_pub"), args...)
	if code := p.wait(t); code != 0 {
		t.Fatalf("mosquitto_pub %q: exit code %d, stderr %q", args, code, p.stderr.String())
	}
}

// TestSubRetainedFlags checks -R, -T, --retained-only and
// --remove-retained against Mosquitto, in mosquitto_sub's order: -T
// before --remove-retained, so that a filtered-out topic keeps its
// retained message.
func TestSubRetainedFlags(t *testing.T) {
	b := startBroker(t, mosquittotest.Options{})
	for _, r := range []string{"sf/r1", "sf/r2", "sf/skip/x"} {
		mosquittoPub(t, b, "-t", r, "-m", r+" kept", "-r", "-q", "1")
	}
	live := func(t *testing.T, id, filter string) {
		t.Helper()
		waitSubscribed(t, b, id, 0, filter)
		mosquittoPub(t, b, "-t", "sf/live", "-m", "now")
	}

	t.Run("-R", func(t *testing.T) {
		sub := start(t, nil, nil, subArgs(b, "-t", "sf/#", "-R", "-v", "-C", "1", "-i", "sf-R")...)
		live(t, "sf-R", "sf/#")
		sub.check(t, exitOK, "sf/live now\n")
	})
	t.Run("-T and --retained-only", func(t *testing.T) {
		sub := start(t, nil, nil, subArgs(b, "-t", "sf/#", "-T", "sf/skip/#", "-T", "sf/r2", "--retained-only", "-v", "-i", "sf-T")...)
		live(t, "sf-T", "sf/#")
		sub.check(t, exitOK, "sf/r1 sf/r1 kept\n")
	})
	t.Run("--remove-retained", func(t *testing.T) {
		sub := start(t, nil, nil, subArgs(b, "-t", "sf/#", "-T", "sf/skip/#", "--remove-retained", "--retained-only", "-F", "%t %r", "-i", "sf-rm")...)
		live(t, "sf-rm", "sf/#")
		sub.check(t, exitOK, "sf/r1 1\nsf/r2 1\n")
		// What is left retained: the topic -T kept.
		sub = start(t, nil, nil, subArgs(b, "-t", "sf/#", "--retained-only", "-v", "-i", "sf-left")...)
		live(t, "sf-left", "sf/#")
		sub.check(t, exitOK, "sf/skip/x sf/skip/x kept\n")
	})
}

// TestSubUnsubscribe checks -U: alone it unsubscribes a persistent
// session and exits, so that the messages published afterwards are no
// longer queued for it.
func TestSubUnsubscribe(t *testing.T) {
	b := startBroker(t, mosquittotest.Options{})
	code, _, stderr := petrel(t, "", subArgs(b, "-c", "-i", "sf-U", "-q", "1", "-t", "sf/u", "-t", "sf/kept", "-E")...)
	if code != exitOK {
		t.Fatalf("sub -E: exit code %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := petrel(t, "", subArgs(b, "-c", "-i", "sf-U", "-U", "sf/u")...)
	if code != exitOK || stdout != "" || stderr != "" {
		t.Fatalf("sub -U: exit code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	mosquittoPub(t, b, "-t", "sf/u", "-m", "dropped", "-q", "1")
	mosquittoPub(t, b, "-t", "sf/kept", "-m", "queued", "-q", "1")
	// The session's one subscription left, sf/kept, has queued its
	// message; sf/u has not. The messages come before SUBACK.
	code, stdout, stderr = petrel(t, "", subArgs(b, "-c", "-i", "sf-U", "-q", "1", "-t", "sf/kept", "-v", "-C", "1")...)
	if code != exitOK || stdout != "sf/kept queued\n" {
		t.Errorf("sub after -U: exit code %d, stdout %q, stderr %q; want only the message of sf/kept", code, stdout, stderr)
	}
}
