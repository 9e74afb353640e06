package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// The drop-in test of issue 13: a Mosquitto deployment's configuration,
// password file (made by mosquitto_passwd) and ACL, unchanged, run by
// petrel broker -c and by Mosquitto itself, driven by mosquitto_pub and
// mosquitto_sub; the two brokers' results are compared row by row.

// dropInACL has a deny rule and a %u pattern. The rules before any user
// line are those of anonymous clients, refused here anyway.
const dropInACL = `# general section: anonymous clients
topic read public/#

user alice
topic readwrite sensors/#
topic deny sensors/secret

user bob
topic readwrite sensors/#

pattern readwrite home/%u/#
`

// dropInConfig is the configuration both brokers read, but for its head:
// mosquittotest writes Mosquitto's (listener, and user root when the test
// runs as root, since Mosquitto would drop to user mosquitto, who cannot
// read the test's files; a second user line is an error to Mosquitto);
// Petrel's is the same lines, written by the test.
func dropInConfig(passwd, acl string) string {
	return fmt.Sprintf(`per_listener_settings false
allow_anonymous false
password_file %s
acl_file %s
message_size_limit 64
max_keepalive 300
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
persistence false
`, passwd, acl)
}

// dropInRow is one step of the scenario and what came of it.
type dropInRow struct{ step, result string }

// dropInDifferences are the rows where Petrel differs from Mosquitto on
// purpose (docs/migrating-from-mosquitto.md): a subscription the ACL
// forbids to read gets SUBACK 0x80 [MQTT-3.9.3-2], where Mosquitto grants
// it and then delivers nothing, so mosquitto_sub says all its
// subscriptions were denied and exits.
var dropInDifferences = map[string][2]string{
	"alice subscribes sensors/secret (denied)": {
		"exit 0, SUBACK 128, All subscription requests were denied.",
		"exit 27, SUBACK 0, Timed out",
	},
	"bob subscribes home/alice/# (another's pattern)": {
		"exit 0, SUBACK 128, All subscription requests were denied.",
		"exit 27, SUBACK 0, Timed out",
	},
}

func TestDropInMosquittoDeployment(t *testing.T) {
	pub, sub := mosquittoTool(t, "mosquitto_pub"), mosquittoTool(t, "mosquitto_sub")
	passwdBin := mosquittoTool(t, "mosquitto_passwd")
	stdbuf, err := exec.LookPath("stdbuf")
	if err != nil {
		t.Skipf("stdbuf (GNU coreutils) not found: %v", err)
	}
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	for _, args := range [][]string{{"-c", "-b", passwd, "alice", "alice-pw"}, {"-b", passwd, "bob", "bob-pw"}} {
		if out, err := exec.Command(passwdBin, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd %q: %v\n%s", args, err, out)
		}
	}
	if b, err := os.ReadFile(passwd); err != nil || !strings.Contains(string(b), "alice:$7$") {
		t.Fatalf("mosquitto_passwd wrote %q (%v), want $7$ hashes", b, err)
	}
	acl := filepath.Join(dir, "acl")
	if err := os.WriteFile(acl, []byte(dropInACL), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := dropInConfig(passwd, acl)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	petrelAddr := l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(petrelAddr)
	petrelConf := filepath.Join(dir, "petrel.conf")
	head := "listener " + port + " 127.0.0.1\n"
	if os.Geteuid() == 0 {
		head += "user root\n" // Petrel warns that it does not change user
	}
	if err := os.WriteFile(petrelConf, []byte(head+conf), 0o600); err != nil {
		t.Fatal(err)
	}
	pb := startPetrelBroker(t, 1, "-c", petrelConf)
	got := runDropIn(t, pub, sub, stdbuf, pb.addrs["mqtt"])
	if !strings.Contains(pb.stderr.String(), "line 2: user: ignored") && os.Geteuid() == 0 {
		t.Errorf("petrel broker did not warn about user root: %q", pb.stderr.String())
	}
	pb.stop(t)

	m := mosquittotest.Start(t, mosquittotest.Options{Config: conf})
	want := runDropIn(t, pub, sub, stdbuf, m.Addr())

	var table strings.Builder
	fmt.Fprintf(&table, "%-54s | %-58s | %s\n", "step", "petrel broker", "mosquitto")
	for i, g := range got {
		w := want[i]
		fmt.Fprintf(&table, "%-54s | %-58s | %s\n", g.step, g.result, w.result)
		if d, ok := dropInDifferences[g.step]; ok {
			if g.result != d[0] || w.result != d[1] {
				t.Errorf("%s: petrel %q, mosquitto %q; want the documented difference %q, %q", g.step, g.result, w.result, d[0], d[1])
			}
			continue
		}
		if g.result != w.result {
			t.Errorf("%s: petrel %q, mosquitto %q", g.step, g.result, w.result)
		}
	}
	t.Logf("same configuration, password file and ACL:\n%s", table.String())
}

var (
	connackLine = regexp.MustCompile(`received CONNACK \((\d+)\)`)
	subackLine  = regexp.MustCompile(`(?m)^Subscribed \(mid: \d+\): (.*)$`)
)

// runDropIn runs the scenario against the broker at addr and returns its
// rows, in order.
func runDropIn(t *testing.T, pub, sub, stdbuf, addr string) []dropInRow {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	hp := []string{"-h", host, "-p", port}
	var rows []dropInRow
	add := func(step, result string) { rows = append(rows, dropInRow{step, result}) }

	// publish runs mosquitto_pub with -d and sums up what it said.
	publish := func(step string, args ...string) {
		t.Helper()
		p := startProc(t, nil, pub, join([]string{"-d"}, hp, args)...)
		code := p.wait(t)
		ack := "none"
		if m := connackLine.FindStringSubmatch(p.stdout.String()); m != nil {
			ack = m[1]
		}
		add(step, fmt.Sprintf("exit %d, CONNACK %s%s", code, ack, firstLine(p.stderr.String())))
	}
	// subscribe runs mosquitto_sub with -d until it exits, at most 1s.
	subscribe := func(step string, args ...string) {
		t.Helper()
		p := startProc(t, nil, sub, join([]string{"-d", "-W", "1"}, hp, args)...)
		code := p.wait(t)
		ack := "none"
		if m := subackLine.FindStringSubmatch(p.stdout.String()); m != nil {
			ack = m[1]
		}
		add(step, fmt.Sprintf("exit %d, SUBACK %s%s", code, ack, firstLine(p.stderr.String())))
	}

	// alice's subscriber sees what may be delivered to her, in order; each
	// publication is acknowledged before the next starts, so anything
	// not delivered would have come before the last of the three.
	// stdbuf: mosquitto_sub's debug lines go to stdout, which the C
	// library buffers when it is a pipe.
	s := startProc(t, nil, stdbuf, join([]string{"-oL", sub, "-d", "-W", "20"}, hp,
		[]string{"-u", "alice", "-P", "alice-pw", "-i", "alice-sub", "-q", "1", "-v", "-C", "3", "-t", "sensors/#", "-t", "home/alice/#"})...)
	s.stdout.waitFor(t, "Subscribed (mid: 1)")
	ack := subackLine.FindStringSubmatch(s.stdout.String())
	add("alice subscribes sensors/# and home/alice/#", "SUBACK "+ack[1])

	publish("alice, right password", "-u", "alice", "-P", "alice-pw", "-i", "alice-pub", "-q", "1", "-t", "public/x", "-m", "x")
	publish("alice, wrong password", "-u", "alice", "-P", "wrong", "-i", "alice-pub", "-t", "sensors/x", "-m", "x")
	publish("unknown user", "-u", "mallory", "-P", "alice-pw", "-i", "mallory", "-t", "sensors/x", "-m", "x")
	publish("anonymous", "-i", "anon", "-t", "sensors/x", "-m", "x")
	publish("alice, wrong password, MQTT 3.1", "-V", "mqttv31", "-u", "alice", "-P", "wrong", "-i", "alice31", "-t", "sensors/x", "-m", "x")
	publish("bob publishes sensors/secret (denied to alice)", "-u", "bob", "-P", "bob-pw", "-i", "bob-pub", "-q", "1", "-t", "sensors/secret", "-m", "secret")
	publish("alice publishes 100 bytes over message_size_limit 64", "-u", "alice", "-P", "alice-pw", "-i", "alice-pub", "-q", "1", "-t", "sensors/big", "-m", strings.Repeat("b", 100))
	publish("bob publishes home/alice/lamp (not his pattern)", "-u", "bob", "-P", "bob-pw", "-i", "bob-pub", "-q", "1", "-t", "home/alice/lamp", "-m", "bob")
	publish("bob publishes sensors/open", "-u", "bob", "-P", "bob-pw", "-i", "bob-pub", "-q", "1", "-t", "sensors/open", "-m", "open")
	publish("alice publishes home/alice/lamp, MQTT 3.1", "-V", "mqttv31", "-u", "alice", "-P", "alice-pw", "-i", "alice31", "-q", "1", "-t", "home/alice/lamp", "-m", "on")
	publish("alice publishes 64 bytes", "-u", "alice", "-P", "alice-pw", "-i", "alice-pub", "-q", "1", "-t", "sensors/full", "-m", strings.Repeat("f", 64))
	code := s.wait(t)
	var msgs []string
	for line := range strings.SplitSeq(s.stdout.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "Client ") && !strings.HasPrefix(line, "Subscribed ") {
			msgs = append(msgs, shortMessage(line))
		}
	}
	add("alice receives", fmt.Sprintf("exit %d: %s", code, strings.Join(msgs, ", ")))
	if want := []string{`sensors/open "open"`, `home/alice/lamp "on"`, "sensors/full (64 bytes)"}; !slices.Equal(msgs, want) {
		t.Errorf("broker at %s: alice received %q, want %q", addr, msgs, want)
	}

	subscribe("alice subscribes sensors/secret (denied)", "-u", "alice", "-P", "alice-pw", "-i", "alice-sub2", "-t", "sensors/secret")
	subscribe("alice subscribes sensors/secret, MQTT 3.1 (no 0x80)", "-V", "mqttv31", "-u", "alice", "-P", "alice-pw", "-i", "alice31", "-t", "sensors/secret")
	subscribe("bob subscribes home/alice/# (another's pattern)", "-u", "bob", "-P", "bob-pw", "-i", "bob-sub", "-t", "home/alice/#")
	subscribe("bob subscribes home/bob/# (his pattern)", "-u", "bob", "-P", "bob-pw", "-i", "bob-sub", "-t", "home/bob/#")
	return rows
}

// shortMessage returns a line of mosquitto_sub -v, topic and payload, as
// topic and quoted payload, or topic and size if the payload is long.
func shortMessage(line string) string {
	topic, payload, _ := strings.Cut(line, " ")
	if len(payload) > 16 {
		return fmt.Sprintf("%s (%d bytes)", topic, len(payload))
	}
	return fmt.Sprintf("%s %q", topic, payload)
}

// firstLine returns ", " and the first line of s, or "" if s is empty.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if line == "" {
		return ""
	}
	return ", " + line
}
