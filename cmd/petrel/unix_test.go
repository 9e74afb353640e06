package main

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/broker"
	"github.com/petrel-mqtt/petrel/internal/brokertest"
	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// startUnixBroker starts Petrel's embedded broker on a Unix socket in a
// temporary directory and returns it with the socket's path.
func startUnixBroker(t *testing.T) (*broker.Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "petrel.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := brokertest.Serve(t, broker.Config{}, l)
	return s, path
}

// TestUnix runs petrel sub and pub over a Unix socket to Petrel's embedded
// broker, at QoS 0, 1 and 2.
func TestUnix(t *testing.T) {
	s, path := startUnixBroker(t)
	sub := start(t, nil, nil, "sub", "--unix", path, "-t", "unix/#", "-q", "2", "-v", "-C", "3")
	waitSubscriptions(t, s, 1)
	for _, q := range []string{"0", "1", "2"} {
		if code, _, stderr := petrel(t, "", "pub", "--unix", path, "-t", "unix/"+q, "-q", q, "-m", "q"+q); code != exitOK {
			t.Fatalf("pub -q %s --unix: exit code %d, %s", q, code, stderr)
		}
	}
	if code := sub.wait(t); code != exitOK {
		t.Fatalf("sub --unix: exit code %d, %s", code, sub.stderr.String())
	}
	if got, want := sub.stdout.String(), "unix/0 q0\nunix/1 q1\nunix/2 q2\n"; got != want {
		t.Errorf("sub printed %q, want %q", got, want)
	}

	// A socket nobody listens on: exit code 2, naming the path.
	missing := filepath.Join(t.TempDir(), "none.sock")
	code, _, stderr := petrel(t, "", "pub", "--unix", missing, "-t", "x", "-m", "x")
	if code != exitConnect || !strings.Contains(stderr, missing) || !strings.Contains(stderr, "no such file") {
		t.Errorf("--unix %s: exit code %d, stderr %q; want %d naming the path", missing, code, stderr, exitConnect)
	}
}

// TestUnixMosquitto publishes with mosquitto_pub --unix to petrel sub
// --unix through Mosquitto's Unix listener.
func TestUnixMosquitto(t *testing.T) {
	if _, err := exec.LookPath("mosquitto_pub"); err != nil {
		t.Skip("no mosquitto_pub")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "mosquitto.sock")
	b := startBroker(t, mosquittotest.Options{Config: "listener 0 " + path})
	sub := start(t, nil, nil, "sub", "--unix", path, "-t", "unix/m", "-q", "1", "-i", "petrel-unix", "-C", "1")
	waitSubscribed(t, b, "petrel-unix", 1, "unix/m")
	if out, err := exec.Command("mosquitto_pub", "--unix", path, "-t", "unix/m", "-q", "1", "-m", "from mosquitto_pub").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub --unix: %v\n%s", err, out)
	}
	if code := sub.wait(t); code != exitOK || sub.stdout.String() != "from mosquitto_pub\n" {
		t.Errorf("sub --unix: exit code %d, stdout %q, stderr %q", code, sub.stdout.String(), sub.stderr.String())
	}
}

// TestUnixFlag checks the errors of --unix: each names the flags at odds
// and what to do.
func TestUnixFlag(t *testing.T) {
	long := "/" + strings.Repeat("d", 107)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--unix", ""}, "--unix: give the path of the broker's Unix socket"},
		{[]string{"--unix", long}, "108 bytes, more than the 107 a Unix socket path may have"},
		{[]string{"--unix", "/s", "-h", "h"}, "--unix and -h: --unix replaces -h, -p and -L"},
		{[]string{"--unix", "/s", "-p", "1883"}, "--unix and -p:"},
		{[]string{"--unix", "/s", "-L", "mqtt://h"}, "--unix and -L:"},
		{[]string{"--unix", "/s", "--proxy", "socks5h://p"}, "--unix and --proxy: a proxy tunnels to a host and port"},
		{[]string{"--unix", "/s", "--cafile", "ca.pem"}, "--cafile with --unix: petrel speaks plain MQTT over a Unix socket"},
		{[]string{"--unix", "/s", "--tls"}, "--tls with --unix"},
	} {
		code, _, stderr := petrel(t, "", append([]string{"pub", "-t", "x", "-m", "x"}, c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit code %d, stderr %q; want %d and %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
}
