package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/rabbitmqtest"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// The failover tests run against a three-node RabbitMQ cluster
// (internal/rabbitmqtest), started once for the package: a persistent
// QoS 1 subscriber on node 3, a publisher given nodes 1 and 2 sending
// failoverMessages at failoverRate, and node 1 killed (SIGKILL) halfway.
// Every message must arrive; duplicates are counted, as QoS 1 allows them.
// The tests live here rather than in session/ so that one cluster serves
// both the library's test and the command's. They run in this file's
// order: the last leaves node 1 down, for StopShared.
const (
	failoverMessages = 20000
	failoverRate     = 2000 // messages a second
)

// counter counts the deliveries of each message, by sequence number.
type counter struct {
	mu    sync.Mutex
	seen  []int // deliveries of message i
	total int   // deliveries, duplicates included
	bad   []string
	all   chan struct{} // closed once every message has arrived once
	left  int
}

func newCounter(n int) *counter {
	return &counter{seen: make([]int, n), all: make(chan struct{}), left: n}
}

// add counts a delivery of payload, a sequence number.
func (c *counter) add(payload string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	i, err := strconv.Atoi(payload)
	if err != nil || i < 0 || i >= len(c.seen) {
		c.bad = append(c.bad, payload)
		return
	}
	c.seen[i]++
	if c.seen[i] == 1 {
		c.left--
		if c.left == 0 {
			close(c.all)
		}
	}
}

// report returns the deliveries, duplicates included, the messages
// missing, the duplicates, and payloads that were no sequence number.
func (c *counter) report() (total int, missing []int, dups int, bad []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, n := range c.seen {
		switch {
		case n == 0:
			missing = append(missing, i)
		case n > 1:
			dups += n - 1
		}
	}
	return c.total, missing, dups, slices.Clone(c.bad)
}

// pace sends 0, 1, ... n-1 on the returned channel at rate a second, in
// steps of 10 ms, whatever the consumers' pace (the channel holds all n),
// and calls at(i) in its own goroutine when it has sent i of them.
func pace(n, rate, at int, f func()) <-chan int {
	seq := make(chan int, n)
	go func() {
		defer close(seq)
		const step = 10 * time.Millisecond
		per := rate * int(step) / int(time.Second)
		tick := time.NewTicker(step)
		defer tick.Stop()
		for i := 0; i < n; {
			for j := 0; j < per && i < n; j++ {
				if i == at {
					go f()
				}
				seq <- i
				i++
			}
			<-tick.C
		}
	}()
	return seq
}

// TestRabbitMQQoS2: RabbitMQ 3.10 answers a QoS 2 PUBLISH with PUBACK (it
// downgrades QoS 2 to 1); the client fails the publish at once, naming the
// mismatch, rather than wait for a PUBREC that never comes.
func TestRabbitMQQoS2(t *testing.T) {
	c := rabbitmqtest.Shared(t)
	cl, err := session.New(session.Config{Address: c.Node(2).Addr(), ClientID: fmt.Sprintf("petrel-qos2-%d", os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cl.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer cl.Disconnect(context.Background())
	began := time.Now()
	err = cl.Publish(ctx, session.Message{Topic: "petrel/qos2", Payload: []byte("x"), QoS: packet.QoS2})
	if !errors.Is(err, session.ErrProtocolViolation) || !strings.Contains(err.Error(), "PUBACK") {
		t.Fatalf("QoS 2 Publish to RabbitMQ: %v; want an error matching ErrProtocolViolation naming PUBACK", err)
	}
	t.Logf("failed in %v: %v", time.Since(began).Round(time.Millisecond), err)
}

// TestRabbitMQFailover: the library's client, given nodes 1 and 2, goes on
// on node 2 when node 1 is killed, and none of its messages is lost.
func TestRabbitMQFailover(t *testing.T) {
	c := rabbitmqtest.Shared(t)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	id := fmt.Sprintf("petrel-failover-%d", os.Getpid())
	topic := "petrel/failover/" + id
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	got := newCounter(failoverMessages)
	sub, err := session.New(session.Config{
		Address: n3.Addr(), ClientID: id + "-sub", PersistentSession: true,
		Reconnect: &session.Reconnect{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer sub.Disconnect(context.Background())
	codes, err := sub.Subscribe(ctx, session.HandlerFunc(func(m *session.Message) { got.add(string(m.Payload)) }),
		session.Subscription{Filter: topic, QoS: packet.QoS1})
	if err != nil || codes[0] != packet.SubackCode(packet.QoS1) {
		t.Fatalf("Subscribe: %v, %v", codes, err)
	}

	var reconnected atomic.Int64 // when the publisher was connected again, in ns since began
	began := time.Now()
	pub, err := session.New(session.Config{
		Address: n1.Addr(), ClientID: id + "-pub", PersistentSession: true,
		Reconnect: &session.Reconnect{
			Addresses: []string{n2.Addr()},
			OnConnect: func(bool) { reconnected.CompareAndSwap(0, int64(time.Since(began))) },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(context.Background())

	var killed atomic.Int64 // when node 1 was killed, in ns since began
	seq := pace(failoverMessages, failoverRate, failoverMessages/2, func() {
		n1.Kill()
		killed.Store(int64(time.Since(began)))
	})
	var (
		wg      sync.WaitGroup
		errs    = make(chan error, 1)
		slowest atomic.Int64 // the longest Publish, in ns
	)
	for range session.DefaultMaxInflight {
		wg.Go(func() {
			for i := range seq {
				start := time.Now()
				err := pub.Publish(ctx, session.Message{Topic: topic, Payload: []byte(strconv.Itoa(i)), QoS: packet.QoS1})
				if err != nil {
					select {
					case errs <- fmt.Errorf("Publish %d: %w", i, err):
					default:
					}
					return
				}
				if d := int64(time.Since(start)); d > slowest.Load() {
					slowest.Store(d) // racy maximum: good enough for a figure
				}
			}
		})
	}
	wg.Wait()
	sent := time.Since(began)
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}

	select {
	case <-got.all:
	case <-time.After(60 * time.Second):
	}
	received := time.Since(began)
	total, missing, dups, bad := got.report()
	if len(missing) > 0 || len(bad) > 0 {
		t.Errorf("%d of %d messages missing (the first: %v); %d payloads that are no sequence number: %q",
			len(missing), failoverMessages, missing[:min(len(missing), 10)], len(bad), bad[:min(len(bad), 10)])
	}
	t.Logf("%d QoS 1 messages at %d/s: all published (acknowledged) in %v, all received in %v; node 1 killed at %v, "+
		"the publisher connected to node 2 at %v; slowest Publish %v; %d deliveries, %d duplicates",
		failoverMessages, failoverRate, sent.Round(time.Millisecond), received.Round(time.Millisecond),
		time.Duration(killed.Load()).Round(time.Millisecond), time.Duration(reconnected.Load()).Round(time.Millisecond),
		time.Duration(slowest.Load()).Round(time.Millisecond), total, dups)
	if err := c.Restart(n1); err != nil {
		t.Fatal(err)
	}
	t.Logf("node 1 restarted in %v", n1.BootTime().Round(100*time.Millisecond))
}

// TestRabbitMQFailoverCommand: the same through the built command, petrel
// pub -h node1,node2 -l reading lines as they come, and petrel sub -c on
// node 3.
func TestRabbitMQFailoverCommand(t *testing.T) {
	c := rabbitmqtest.Shared(t)
	bin := petrelBin(t)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	id := fmt.Sprintf("petrel-cli-failover-%d", os.Getpid())
	topic := "petrel/cli-failover/" + id
	const rate = failoverRate

	// The subscriber's session, made first (-E: exit once subscribed),
	// keeps every message on node 3 until the subscriber is back.
	subArgs := []string{"sub", "-h", n3.Addr(), "-c", "-i", id + "-sub", "-q", "1", "-t", topic}
	if p := startProc(t, nil, bin, append(subArgs, "-E")...); p.wait(t) != exitOK {
		t.Fatalf("sub -E: stderr %q", p.stderr.String())
	}
	sub := startProc(t, nil, bin, subArgs...)

	lines, w := io.Pipe()
	defer w.Close()
	pub := startProc(t, lines, bin, "pub", "-h", n1.Addr()+","+n2.Addr(), "-c", "-i", id+"-pub", "-q", "1", "-t", topic, "-l")
	began := time.Now()
	var killed atomic.Int64 // when node 1 was killed, in ns since began
	seq := pace(failoverMessages, rate, failoverMessages/2, func() {
		n1.Kill()
		killed.Store(int64(time.Since(began)))
	})
	go func() {
		for i := range seq {
			if _, err := fmt.Fprintf(w, "%d\n", i); err != nil {
				return
			}
		}
		w.Close()
	}()

	select {
	case <-pub.done:
	case <-time.After(5 * time.Minute):
		t.Fatalf("pub has not exited after 5 minutes; stderr %q", pub.stderr.String())
	}
	sent := time.Since(began)
	if code := pub.wait(t); code != exitOK {
		t.Fatalf("pub: exit code %d, stderr %q", code, pub.stderr.String())
	}

	got := newCounter(failoverMessages)
	deadline := time.Now().Add(60 * time.Second)
	for {
		got = newCounter(failoverMessages)
		for line := range strings.Lines(sub.stdout.String()) {
			got.add(strings.TrimSuffix(line, "\n"))
		}
		if _, missing, _, _ := got.report(); len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	received := time.Since(began)
	sub.cmd.Process.Signal(syscall.SIGINT)
	if code := sub.wait(t); code != exitOK {
		t.Errorf("sub: exit code %d, stderr %q", code, sub.stderr.String())
	}
	total, missing, dups, bad := got.report()
	if len(missing) > 0 || len(bad) > 0 {
		t.Errorf("%d of %d messages missing (the first: %v); %d lines that are no sequence number: %q",
			len(missing), failoverMessages, missing[:min(len(missing), 10)], len(bad), bad[:min(len(bad), 10)])
	}
	if !strings.Contains(pub.stderr.String(), "petrel: reconnected") {
		t.Errorf("pub did not report reconnecting; stderr %q", pub.stderr.String())
	}
	t.Logf("%d lines at up to %d/s through petrel pub -l: all published in %v, all received in %v; node 1 killed at %v; "+
		"%d lines printed by petrel sub, %d duplicates; pub's stderr: %q",
		failoverMessages, rate, sent.Round(time.Millisecond), received.Round(time.Millisecond),
		time.Duration(killed.Load()).Round(time.Millisecond), total, dups, pub.stderr.String())
}
