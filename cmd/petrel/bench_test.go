package main

import (
	"context"
	"encoding/json"
	"flag"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/faultproxy"
	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// runBenchJSON runs petrel bench with args and -json in the test process
// and returns its exit code, its report and its standard error.
func runBenchJSON(t *testing.T, args ...string) (int, benchResult, string) {
	t.Helper()
	code, stdout, stderr := petrel(t, "", append([]string{"bench", "-json"}, args...)...)
	var r benchResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("bench %q: exit code %d, stdout %q is not a JSON report (%v); stderr %q", args, code, stdout, err, stderr)
	}
	return code, r, stderr
}

// sysCounters reads the retained values of the $SYS topics from the
// broker at addr, with a client that subscribes to them and disconnects:
// the broker counts each of the len(topics) deliveries as a message sent.
func sysCounters(t *testing.T, addr string, topics ...string) map[string]uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	c, err := session.New(session.Config{Address: host, Port: p, ClientID: "petrel-bench-sys"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	got := make(chan *session.Message, len(topics))
	var subs []session.Subscription
	for _, topic := range topics {
		subs = append(subs, session.Subscription{Filter: topic})
	}
	if _, err := c.Subscribe(ctx, session.HandlerFunc(func(m *session.Message) { got <- m }), subs...); err != nil {
		t.Fatal(err)
	}
	vals := make(map[string]uint64)
	for len(vals) < len(topics) {
		select {
		case m := <-got:
			v, err := strconv.ParseUint(strings.Fields(string(m.Payload))[0], 10, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", m.Topic, m.Payload, err)
			}
			vals[m.Topic] = v
		case <-ctx.Done():
			t.Fatalf("$SYS: got %v of %q", vals, topics)
		}
	}
	return vals
}

// checkBenchAgainstSys runs petrel bench at QoS 0, 1 and 2 against the
// broker at addr, whose $SYS counters of PUBLISH packets received and sent
// are the topics recv and sent, refreshed every interval, and checks that
// the broker counted what the bench did: every message the bench sent
// received, every message its subscribers received sent, plus the $SYS
// readers' own.
// Mosquitto 2.0 leaves QoS 2 messages out of its count of PUBLISH packets
// received (not out of those sent): qos2Received says whether the broker
// counts them. At QoS 0 a broker may drop messages for a subscriber that
// falls behind; the bench must then count as lost what the broker did not
// send.
func checkBenchAgainstSys(t *testing.T, addr, recv, sent string, interval time.Duration, qos2Received bool) {
	t.Helper()
	time.Sleep(2 * interval)
	before := sysCounters(t, addr, recv, sent)
	host, port, _ := net.SplitHostPort(addr)
	var total benchResult
	for qos := range 3 {
		code, r, stderr := runBenchJSON(t, "-h", host, "-p", port, "-q", strconv.Itoa(qos), "-pub", "3", "-sub", "2", "-n", "500", "-s", "100", "-quiet")
		if code != exitOK {
			t.Fatalf("bench -q %d: exit code %d, stderr %q", qos, code, stderr)
		}
		if r.Sent != 1500 || r.Acked != 1500 || r.Expected != 3000 || r.Received != 3000-r.Lost || r.Duplicated+r.OutOfOrder != 0 || qos > 0 && r.Lost > 0 {
			t.Errorf("bench -q %d: %+v; want 1500 sent, 3000 received less those lost (none at QoS 1 and 2), none duplicated or out of order", qos, r)
		}
		if l := r.Latency; l.P50 <= 0 || l.P50 > l.P90 || l.P90 > l.P99 || l.P99 > l.Max {
			t.Errorf("bench -q %d: latency %+v: not 0 < p50 <= p90 <= p99 <= max", qos, l)
		}
		if qos < 2 || qos2Received {
			total.Sent += r.Sent
		}
		total.Received += r.Received
		t.Logf("QoS %d: %.0f msg/s sent, %.0f received, %d lost; latency p50 %.3gs p90 %.3gs p99 %.3gs max %.3gs",
			qos, r.SentRate, r.RecvRate, r.Lost, r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	}
	// Wait for a snapshot taken after the runs. Each read delivers two
	// $SYS messages, which the broker counts as sent: the first read's are
	// in any later snapshot; a read that found the snapshot stale may or
	// may not be in the fresh one.
	reads := 1
	var after map[string]uint64
	for deadline := time.Now().Add(20 * interval); ; {
		time.Sleep(3 * interval)
		after = sysCounters(t, addr, recv, sent)
		reads++
		if after[recv]-before[recv] == total.Sent || time.Now().After(deadline) {
			break
		}
	}
	if d := after[recv] - before[recv]; d != total.Sent {
		t.Errorf("%s moved by %d (%d to %d); the bench sent %d", recv, d, before[recv], after[recv], total.Sent)
	}
	if d := after[sent] - before[sent]; d < total.Received+2 || d > total.Received+2*uint64(reads-1) {
		t.Errorf("%s moved by %d (%d to %d); the bench received %d, plus 2 to %d for the $SYS readers", sent, d, before[sent], after[sent], total.Received, 2*(reads-1))
	}
}

// TestBenchPetrelBroker runs petrel bench against petrel broker at each
// QoS; the broker's $SYS counters agree with the bench's counts.
func TestBenchPetrelBroker(t *testing.T) {
	b := startPetrelBroker(t, 1, "-listen", "127.0.0.1:0", "-sys-interval", "100ms")
	checkBenchAgainstSys(t, b.addrs["mqtt"], "$SYS/broker/messages/received", "$SYS/broker/messages/sent", 100*time.Millisecond, true)
	b.stop(t)
}

// TestBenchMosquitto runs petrel bench against Mosquitto, with no limit on
// queued messages (its default of 1,000 drops what a subscriber that falls
// behind would get) nor on messages in flight (with its default of 20, it
// closes the connection of a client that has more QoS 2 messages awaiting
// PUBCOMP); its $SYS counters of PUBLISH packets agree.
func TestBenchMosquitto(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{Config: "sys_interval 1\nmax_queued_messages 0\n"})
	checkBenchAgainstSys(t, b.Addr(), "$SYS/broker/publish/messages/received", "$SYS/broker/publish/messages/sent", time.Second, false)
}

// TestBenchSubscriberCut cuts one subscriber's connection mid-run (with
// internal/faultproxy between the bench and petrel broker): the bench
// reports that subscriber's missing messages as lost, names its error, and
// exits with code 4; the other subscriber lost nothing.
func TestBenchSubscriberCut(t *testing.T) {
	b := startPetrelBroker(t, 1, "-listen", "127.0.0.1:0")
	p, err := faultproxy.Listen(b.addrs["mqtt"], faultproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.CutAfterPacket(faultproxy.ServerToClient, packet.TypePublish, 300)
	code, r, stderr := runBenchJSON(t, "-L", "mqtt://"+p.Addr(), "-q", "1", "-pub", "1", "-sub", "2", "-n", "1000", "-rate", "2000", "-drain", "1s")
	if code != exitLost || !strings.Contains(stderr, "messages lost at QoS 1") {
		t.Errorf("exit code %d, stderr %q; want %d and the count of lost messages", code, stderr, exitLost)
	}
	if r.Acked != 1000 || len(r.SubDetail) != 2 {
		t.Fatalf("report %+v: want 1000 messages acknowledged, 2 subscribers", r)
	}
	var cut, whole benchSubResult
	for _, s := range r.SubDetail {
		if s.Error != "" {
			cut = s
		} else {
			whole = s
		}
	}
	if cut.Error == "" || cut.Received >= 1000 || cut.Received < 100 || cut.Lost != 1000-cut.Received {
		t.Errorf("the cut subscriber: %+v; want an error, 100 to 300 received (the cut comes after 300 deliveries to both) and the rest lost", cut)
	}
	if whole.Received != 1000 || whole.Lost != 0 {
		t.Errorf("the other subscriber: %+v; want all 1000 and none lost", whole)
	}
	if r.Lost != cut.Lost || r.Errors != 1 {
		t.Errorf("report: lost %d, errors %d; want %d and 1", r.Lost, r.Errors, cut.Lost)
	}
	t.Logf("cut after %d messages: %d lost", cut.Received, cut.Lost)
	b.stop(t)
}

// TestBenchText checks the text report and the progress line, the rate
// limit, and the usage errors.
func TestBenchText(t *testing.T) {
	b := startPetrelBroker(t, 1, "-listen", "127.0.0.1:0")
	start := time.Now()
	code, stdout, stderr := petrel(t, "", join([]string{"bench"}, b.hostPort("mqtt"), []string{"-q", "2", "-n", "240", "-rate", "200", "-t", "x/%c", "-filter", "x/+"})...)
	if el := time.Since(start); el < time.Second {
		t.Errorf("240 messages at 200 a second took %v, less than 1s", el)
	}
	if code != exitOK || !strings.Contains(stdout, "\nsent      240 messages") || !strings.Contains(stdout, "lost 0, duplicated 0, out of order 0\n") {
		t.Errorf("exit code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "petrel bench:   1s sent ") {
		t.Errorf("no progress line on stderr: %q", stderr)
	}
	b.stop(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-q", "3"}, "-q 3"},
		{[]string{"-s", "10"}, "-s 10"},
		{[]string{"-t", "a/#"}, "without wildcards"},
		{[]string{"-pub", "0", "-sub", "0"}, "at least one client"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		code, _, stderr := petrel(t, "", append([]string{"bench"}, c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("bench %q: exit code %d, stderr %q; want %d and %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
}

// TestBenchUsageNamesEveryFlag keeps petrel bench's usage text in step with
// its flags.
func TestBenchUsageNamesEveryFlag(t *testing.T) {
	benchFlagSet(new(benchFlags)).VisitAll(func(f *flag.Flag) {
		if !regexp.MustCompile(`\n  -` + regexp.QuoteMeta(f.Name) + `[ \n]`).MatchString(benchUsage) {
			t.Errorf("the usage text does not describe -%s", f.Name)
		}
	})
	if code, stdout, _ := petrel(t, "", "bench", "--help"); code != exitOK || !strings.HasPrefix(stdout, "Usage: petrel bench") {
		t.Errorf("bench --help: exit code %d, stdout %q", code, stdout)
	}
}
