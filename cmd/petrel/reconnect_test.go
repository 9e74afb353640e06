package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
	"github.com/petrel-mqtt/petrel/internal/brokertest"
	"github.com/petrel-mqtt/petrel/internal/faultproxy"
	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/store"
)

// startEmbedded starts the broker package's Server on a free loopback
// port and returns it with its address; the test's cleanup shuts it down.
func startEmbedded(t *testing.T, cfg broker.Config) (*broker.Server, string) {
	t.Helper()
	return brokertest.Start(t, cfg)
}

// startProxy starts a fault proxy in front of target; the test's cleanup
// closes it.
func startProxy(t *testing.T, target string, seed int64) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Listen(target, faultproxy.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// addrFlags returns the -h and -p flags of addr.
func addrFlags(t *testing.T, addr string) []string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return []string{"-h", host, "-p", port}
}

// waitSubscriptions waits until the broker holds n subscriptions.
func waitSubscriptions(t *testing.T, s *broker.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Subscriptions < n {
		if time.Now().After(deadline) {
			t.Fatalf("the broker holds %d subscriptions after 5s, want %d", s.Stats().Subscriptions, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// numbered returns lines from to to (inclusive), each "%05d\n".
func numbered(from, to int) []string {
	var lines []string
	for i := from; i <= to; i++ {
		lines = append(lines, fmt.Sprintf("%05d\n", i))
	}
	return lines
}

// tally reads the lines a subscriber printed, numbered 1 to n: how many
// are missing, how many arrived more than once, and whether their first
// arrivals came in order.
type tally struct {
	missing, duplicates int
	inOrder             bool
	firstDisorder       string
}

func count(out string, n int) tally {
	seen := make(map[int]int)
	tl := tally{inOrder: true}
	last := 0
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		v, err := strconv.Atoi(l)
		if err != nil || v < 1 || v > n {
			tl.inOrder = false
			tl.firstDisorder = fmt.Sprintf("unexpected line %q", l)
			continue
		}
		seen[v]++
		if seen[v] > 1 {
			tl.duplicates++
			continue
		}
		if v != last+1 && tl.inOrder {
			tl.inOrder = false
			tl.firstDisorder = fmt.Sprintf("%d first arrived after %d", v, last)
		}
		last = v
	}
	for i := 1; i <= n; i++ {
		if seen[i] == 0 {
			tl.missing++
		}
	}
	return tl
}

// TestFlakyQoS2 puts petrel sub -c -q 2 and petrel pub -c -q 2 -l behind a
// fault proxy in front of the embedded broker, cuts their connections at
// random moments, and checks that the subscriber prints every line
// exactly once, in order.
func TestFlakyQoS2(t *testing.T) { testFlaky(t, 2, true) }

// TestFlakyQoS1 is TestFlakyQoS2 at QoS 1: every line at least once, the
// first arrivals in order.
func TestFlakyQoS1(t *testing.T) { testFlaky(t, 1, true) }

// TestFlakyQoS1CleanPub is TestFlakyQoS1 with a publisher without -c: it
// publishes again each message whose PUBACK the lost connection took.
func TestFlakyQoS1CleanPub(t *testing.T) { testFlaky(t, 1, false) }

func testFlaky(t *testing.T, qos int, pubSession bool) {
	leaktest.Check(t)
	const (
		lines   = 2000
		minCuts = 20
	)
	s, addr := startEmbedded(t, broker.Config{})
	p := startProxy(t, addr, int64(qos))
	q := strconv.Itoa(qos)
	topic := "flaky/" + q
	common := join(addrFlags(t, p.Addr()), []string{"-q", q, "-t", topic, "--reconnect-delay", "2ms,20ms"})

	sub := start(t, nil, nil, join([]string{"sub", "-c", "-i", "flaky-sub-" + q}, common)...)
	waitSubscriptions(t, s, 1)

	r, w := io.Pipe()
	t.Cleanup(func() { r.Close() })
	pubArgs := []string{"pub", "-i", "flaky-pub-" + q, "-l"}
	if pubSession {
		pubArgs = append(pubArgs, "-c")
	}
	pub := start(t, r, nil, join(pubArgs, common)...)
	go func() { // about 2s of lines, in bursts of ten
		defer w.Close()
		for i, l := range numbered(1, lines) {
			if _, err := io.WriteString(w, l); err != nil {
				return
			}
			if i%10 == 9 {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()

	// The faults, one every 20 to 100ms, in turn: a cut of every
	// connection, then cuts and truncations after the packets of each
	// flow, on the publisher's link (PUBLISH, PUBREL from the client) and
	// the subscriber's (PUBLISH, PUBREL from the broker).
	faults := []func(n int){
		func(int) { p.CutAll() },
		func(n int) { p.CutAfterPacket(faultproxy.ClientToServer, packet.TypePublish, n) },
		func(int) { p.TruncateNext(faultproxy.ServerToClient, packet.TypePublish) },
	}
	if qos == 2 {
		faults = append(faults,
			func(n int) { p.CutAfterPacket(faultproxy.ClientToServer, packet.TypePubrel, n) },
			func(n int) { p.CutAfterPacket(faultproxy.ServerToClient, packet.TypePubrec, n) },
			func(int) { p.TruncateNext(faultproxy.ClientToServer, packet.TypePubrec) },
			func(n int) { p.CutAfterPacket(faultproxy.ServerToClient, packet.TypePubrel, n) },
			func(int) { p.TruncateNext(faultproxy.ClientToServer, packet.TypePubcomp) },
		)
	} else {
		faults = append(faults,
			func(n int) { p.CutAfterPacket(faultproxy.ServerToClient, packet.TypePuback, n) },
			func(int) { p.TruncateNext(faultproxy.ClientToServer, packet.TypePuback) },
		)
	}
	pubDone := make(chan struct{})
	cutterDone := make(chan struct{})
	go func() {
		defer close(cutterDone)
		rnd := rand.New(rand.NewPCG(uint64(qos), 7))
		for i := 0; ; i++ {
			time.Sleep(time.Duration(20+rnd.IntN(81)) * time.Millisecond)
			select {
			case <-pubDone:
				if p.Cuts() >= minCuts {
					return
				}
				p.CutAll() // the subscriber's link, to reach minCuts
				continue
			default:
			}
			if i%2 == 0 {
				faults[0](0)
			} else {
				faults[1+rnd.IntN(len(faults)-1)](1 + rnd.IntN(20))
			}
		}
	}()

	code := pub.wait(t)
	close(pubDone)
	<-cutterDone
	p.Reset()
	if code != exitOK {
		t.Fatalf("pub: exit code %d, stderr %q", code, pub.stderr.String())
	}
	last := fmt.Sprintf("%05d\n", lines)
	sub.stdout.waitFor(t, last)
	time.Sleep(200 * time.Millisecond) // for late duplicates
	sub.cancel()
	if code := sub.wait(t); code != exitOK {
		t.Errorf("sub: exit code %d, stderr %q", code, sub.stderr.String())
	}

	tl := count(sub.stdout.String(), lines)
	reconnects := strings.Count(pub.stderr.String(), "petrel: reconnected") + strings.Count(sub.stderr.String(), "petrel: reconnected")
	t.Logf("QoS %d, pub -c %v: %d lines, %d cuts, %d reconnections (pub %d, sub %d), %d missing, %d duplicates, first arrivals in order: %v; broker dropped %d",
		qos, pubSession, lines, p.Cuts(), reconnects, strings.Count(pub.stderr.String(), "petrel: reconnected"),
		strings.Count(sub.stderr.String(), "petrel: reconnected"), tl.missing, tl.duplicates, tl.inOrder, s.Stats().Dropped)
	if p.Cuts() < minCuts {
		t.Errorf("%d cuts, want at least %d", p.Cuts(), minCuts)
	}
	if tl.missing > 0 {
		t.Errorf("%d lines missing", tl.missing)
	}
	if !tl.inOrder {
		t.Errorf("first arrivals out of order: %s", tl.firstDisorder)
	}
	if qos == 2 && tl.duplicates > 0 {
		t.Errorf("%d duplicates at QoS 2", tl.duplicates)
	}
	for name, c := range map[string]*cmd{"pub": pub, "sub": sub} {
		for _, l := range strings.Split(strings.TrimSuffix(c.stderr.String(), "\n"), "\n") {
			if l != "" && !strings.HasPrefix(l, "petrel: connection lost (") && l != "petrel: reconnected" {
				t.Errorf("%s: unexpected line on stderr: %q", name, l)
			}
		}
	}
}

// TestReconnectRefused: a broker that refuses the client's credentials on
// reconnection (its password was changed) ends sub and pub with exit code
// 2 and the refusal, after one attempt, not a loop.
func TestReconnectRefused(t *testing.T) {
	leaktest.Check(t)
	var changed atomic.Bool
	auth := broker.AuthenticatorFunc(func(_ context.Context, info broker.ConnInfo) (string, error) {
		if changed.Load() || string(info.Password) != "secret" {
			return "", broker.ErrBadUsernameOrPassword
		}
		return info.Username, nil
	})
	s, addr := startEmbedded(t, broker.Config{Authenticator: auth})
	p := startProxy(t, addr, 1)
	common := join(addrFlags(t, p.Addr()), []string{"-u", "alice", "-P", "secret", "-t", "a", "--reconnect-delay", "5ms,20ms"})

	sub := start(t, nil, nil, join([]string{"sub", "-i", "refused-sub"}, common)...)
	waitSubscriptions(t, s, 1)
	r, w := io.Pipe()
	t.Cleanup(func() { r.Close(); w.Close() })
	pub := start(t, r, nil, join([]string{"pub", "-i", "refused-pub", "-l", "-q", "1"}, common)...)
	io.WriteString(w, "one\n")
	sub.stdout.waitFor(t, "one\n")

	changed.Store(true)
	p.CutAll()
	for name, c := range map[string]*cmd{"sub": sub, "pub": pub} {
		code, stderr := c.wait(t), c.stderr.String()
		if code != exitConnect || !strings.Contains(stderr, "not authorized (CONNACK return code 5)") ||
			!strings.Contains(stderr, "petrel: connection lost (") {
			t.Errorf("%s: exit code %d, stderr %q; want %d, the connection lost, and the refusal", name, code, stderr, exitConnect)
		}
	}
	if n := s.Stats().Refused; n != 2 {
		t.Errorf("the broker refused %d connections, want 2: one per client, no retry", n)
	}
}

// TestPubStoreRestart: petrel pub -c --store, interrupted while a message
// waits for the broker, keeps it in the store; the next run with the same
// id and directory sends it, and the subscriber has every line at least
// once.
func TestPubStoreRestart(t *testing.T) {
	leaktest.Check(t)
	s, addr := startEmbedded(t, broker.Config{})
	p := startProxy(t, addr, 1)
	dir := filepath.Join(t.TempDir(), "store")
	sub := start(t, nil, nil, join([]string{"sub", "-i", "store-sub", "-c", "-q", "1", "-t", "s"}, addrFlags(t, addr))...)
	waitSubscriptions(t, s, 1)
	args := join([]string{"pub", "-i", "store-pub", "-c", "-q", "1", "-l", "-t", "s", "--store", dir, "--reconnect-delay", "5ms,20ms"}, addrFlags(t, p.Addr()))

	r, w := io.Pipe()
	t.Cleanup(func() { r.Close(); w.Close() })
	pub1 := start(t, r, nil, args...)
	for _, l := range numbered(1, 100) {
		io.WriteString(w, l)
	}
	sub.stdout.waitFor(t, "00100\n")

	// The broker becomes unreachable; line 101 goes to the store, and
	// waits there.
	p.Refuse(true)
	p.CutAll()
	wal := filepath.Join(dir, store.LogName)
	before := fileSize(t, wal)
	io.WriteString(w, "00101\n")
	io.WriteString(w, "00102\n") // returns once pub has taken 101 to publish it
	for deadline := time.Now().Add(5 * time.Second); fileSize(t, wal) == before; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("line 101 did not reach the store within 5s")
		}
	}
	pub1.cancel()
	if code, stderr := pub1.wait(t), pub1.stderr.String(); code != exitInterrupted || !strings.Contains(stderr, "the message stays in --store "+dir) {
		t.Fatalf("pub interrupted: exit code %d, stderr %q", code, stderr)
	}

	// Line 102 was read by the first run but never handed to the client:
	// the second run starts from it. Line 101 comes from the store.
	p.Refuse(false)
	in := strings.Join(numbered(102, 200), "")
	pub2 := start(t, strings.NewReader(in), nil, args...)
	if code := pub2.wait(t); code != exitOK || pub2.stderr.String() != "" {
		t.Fatalf("pub restarted: exit code %d, stderr %q", code, pub2.stderr.String())
	}
	sub.stdout.waitFor(t, "00200\n")
	sub.cancel()
	sub.wait(t)
	tl := count(sub.stdout.String(), 200)
	t.Logf("200 lines, run interrupted at line 101: %d missing, %d duplicates", tl.missing, tl.duplicates)
	if tl.missing > 0 {
		t.Errorf("%d lines missing; sub printed %q", tl.missing, sub.stdout.String())
	}
}

func fileSize(t *testing.T, name string) int64 {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestSubReconnectsClean: without -c, sub subscribes again after a
// reconnection (the broker kept no session) and goes on printing; the loss
// and the return are lines on standard error, not standard output.
func TestSubReconnectsClean(t *testing.T) {
	leaktest.Check(t)
	s, addr := startEmbedded(t, broker.Config{})
	p := startProxy(t, addr, 1)
	sub := start(t, nil, nil, join([]string{"sub", "-t", "c", "-q", "1", "--reconnect-delay", "5ms"}, addrFlags(t, p.Addr()))...)
	waitSubscriptions(t, s, 1)
	pub := join([]string{"pub", "-t", "c", "-q", "1"}, addrFlags(t, addr))
	if code, _, stderr := petrel(t, "", append(pub, "-m", "before")...); code != exitOK {
		t.Fatalf("pub: exit code %d, stderr %q", code, stderr)
	}
	sub.stdout.waitFor(t, "before\n")
	p.CutAll()
	sub.stderr.waitFor(t, "petrel: reconnected\n")
	waitSubscriptions(t, s, 1) // the new session's, once subscribed again
	if code, _, stderr := petrel(t, "", append(pub, "-m", "after")...); code != exitOK {
		t.Fatalf("pub: exit code %d, stderr %q", code, stderr)
	}
	sub.stdout.waitFor(t, "after\n")
	sub.cancel()
	sub.check(t, exitOK, "before\nafter\n")
	if stderr := sub.stderr.String(); !strings.HasPrefix(stderr, "petrel: connection lost (") || !strings.HasSuffix(stderr, "; reconnecting\npetrel: reconnected\n") {
		t.Errorf("stderr %q", stderr)
	}
}

// TestPubQoS2CleanLost: without -c, a QoS 2 message whose flow the lost
// connection cut short is not published again (that could deliver it
// twice): pub fails with exit code 3 and says to use -c.
func TestPubQoS2CleanLost(t *testing.T) {
	leaktest.Check(t)
	_, addr := startEmbedded(t, broker.Config{})
	p := startProxy(t, addr, 1)
	p.CutAfterPacket(faultproxy.ServerToClient, packet.TypePubrec, 1)
	code, _, stderr := petrel(t, "", join([]string{"pub", "-t", "q2", "-q", "2", "-m", "x", "--reconnect-delay", "5ms"}, addrFlags(t, p.Addr()))...)
	if code != exitOperation || !strings.Contains(stderr, "whether it was delivered is unknown (give -c -i id") {
		t.Errorf("exit code %d, stderr %q", code, stderr)
	}
}

// TestSubFirstSubscribeCut: the connection is cut right after sub's first
// SUBSCRIBE, before its SUBACK can come back; sub reconnects, subscribes
// again, and prints what is published.
func TestSubFirstSubscribeCut(t *testing.T) {
	leaktest.Check(t)
	s, addr := startEmbedded(t, broker.Config{})
	p := startProxy(t, addr, 1)
	p.CutAfterPacket(faultproxy.ClientToServer, packet.TypeSubscribe, 1)
	sub := start(t, nil, nil, join([]string{"sub", "-t", "first", "-q", "1", "--reconnect-delay", "5ms"}, addrFlags(t, p.Addr()))...)
	sub.stderr.waitFor(t, "petrel: reconnected\n")
	waitSubscriptions(t, s, 1)
	if p.Cuts() != 1 {
		t.Fatalf("%d cuts, want 1", p.Cuts())
	}
	pub := join([]string{"pub", "-t", "first", "-q", "1", "-m", "arrived"}, addrFlags(t, addr))
	if code, _, stderr := petrel(t, "", pub...); code != exitOK {
		t.Fatalf("pub: exit code %d, stderr %q", code, stderr)
	}
	sub.stdout.waitFor(t, "arrived\n")
	sub.cancel()
	sub.check(t, exitOK, "arrived\n")
}
