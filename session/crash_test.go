package session

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/store"
)

// The environment of the child publisher that TestKilledPublisher runs:
// the test binary itself, running only TestHelperStorePublisher.
const (
	helperEnv     = "PETREL_HELPER_PUBLISHER" // "1" in the child
	helperAddrEnv = "PETREL_HELPER_ADDR"      // the broker's URL
	helperDirEnv  = "PETREL_HELPER_DIR"       // the store's directory
	helperNEnv    = "PETREL_HELPER_N"         // how many messages in all
)

// TestKilledPublisher kills a publisher process with SIGKILL mid-stream,
// again and again, and restarts it with the same ClientID, a
// persistent session and the same store directory, against a real Mosquitto with
// persistence on. Each run loads the store, re-sends what the last one
// left unacknowledged (DUP set) and goes on from the next seq; the last
// run is left to finish. The subscriber, whose connection is never cut,
// must end with every QoS 1 message at least once and every QoS 2 message
// exactly once [MQTT-4.3.2] [MQTT-4.3.3-2] [MQTT-4.4.0-1].
func TestKilledPublisher(t *testing.T) {
	leaktest.Check(t)
	const (
		n        = 3000
		minKills = 5
	)
	b := mosquittotest.Start(t, mosquittotest.Options{Persistence: true, Config: "max_queued_messages 0\nmax_queued_bytes 0"})
	dir := t.TempDir()

	var mu sync.Mutex
	counts := make([]int, n+1) // by message number
	distinct := 0
	all := make(chan struct{})
	sub := mosqConnect(t, b, Config{ClientID: "crash-sub", PersistentSession: true})
	mosqSubscribe(t, sub, HandlerFunc(func(m *Message) {
		if len(m.Payload) != 8 {
			t.Errorf("message on %s with a payload of %d bytes", m.Topic, len(m.Payload))
			return
		}
		i := binary.BigEndian.Uint64(m.Payload)
		topic, qos := "crash/q1", packet.QoS1
		if i%2 == 0 {
			topic, qos = "crash/q2", packet.QoS2
		}
		if i < 1 || i > n || m.Topic != topic || m.QoS != qos {
			t.Errorf("message %d on %s at %v; want 1 to %d, on %s at %v", i, m.Topic, m.QoS, n, topic, qos)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		counts[i]++
		if counts[i] == 1 {
			if distinct++; distinct == n {
				close(all)
			}
		}
	}), "crash/#", packet.QoS2)

	start := time.Now()
	resentPublish, resentPubrel := 0, 0 // by the restarted children
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		return distinct
	}
	for kill := 1; kill <= minKills; kill++ {
		// Killed after a random time, or once it has delivered its share
		// of what is left, whichever comes first: a fast publisher (no
		// race detector) must leave work for the runs after it.
		d0 := received()
		share := (n - d0) / (minKills - kill + 2)
		ch := startHelper(t, b.URL(), dir, n)
		after := 150*time.Millisecond + rand.N(450*time.Millisecond)
		deadline := time.After(after)
		poll := time.NewTicker(2 * time.Millisecond)
	wait:
		for {
			select {
			case r := <-ch.exited:
				poll.Stop()
				t.Fatalf("run %d ended by itself before its kill (%v)\n%s", kill, r, ch.out)
			case <-deadline:
				break wait
			case <-poll.C:
				if received()-d0 >= share {
					break wait
				}
			}
		}
		poll.Stop()
		if err := ch.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-ch.exited
		said, p, r := ch.started()
		resentPublish += p
		resentPubrel += r
		t.Logf("run %d: %s; killed after %d new messages arrived (share %d), within %v", kill, said, received()-d0, share, after)
	}
	last := startHelper(t, b.URL(), dir, n)
	select {
	case err := <-last.exited:
		if err != nil {
			t.Fatalf("last run: %v\n%s", err, last.out)
		}
	case <-time.After(25 * time.Second):
		last.cmd.Process.Kill()
		<-last.exited
		t.Fatalf("last run did not end within 25s\n%s", last.out)
	}
	said, p, r := last.started()
	resentPublish += p
	resentPubrel += r
	t.Logf("run %d: %s; ran to the end", minKills+1, said)

	select {
	case <-all:
	case <-time.After(10 * time.Second):
	}
	time.Sleep(200 * time.Millisecond) // for a late duplicate to show
	elapsed := time.Since(start)

	mu.Lock()
	defer mu.Unlock()
	var lost, dup2 []int
	dup1 := 0
	for i := 1; i <= n; i++ {
		switch c := counts[i]; {
		case c == 0:
			lost = append(lost, i)
		case c > 1 && i%2 == 1:
			dup1 += c - 1
		case c > 1:
			dup2 = append(dup2, i)
		}
	}
	t.Logf("%d kills, %d messages (%d QoS 1, %d QoS 2) in %v; re-sent after a kill: %d PUBLISH, %d PUBREL; lost %d, QoS 1 duplicates %d, QoS 2 duplicates %d",
		minKills, n, (n+1)/2, n/2, elapsed.Round(time.Millisecond), resentPublish, resentPubrel, len(lost), dup1, len(dup2))
	if len(lost) > 0 {
		t.Errorf("%d messages lost: %v", len(lost), head(lost))
	}
	if len(dup2) > 0 {
		t.Errorf("%d QoS 2 messages delivered more than once: %v", len(dup2), head(dup2))
	}
}

// head returns the first few of s, to keep a failure readable.
func head(s []int) []int { return s[:min(len(s), 20)] }

// helper is a running child publisher.
type helper struct {
	cmd    *exec.Cmd
	out    *bytes.Buffer // its stdout and stderr, to read once it has exited
	exited chan error    // receives cmd.Wait's error
}

// startHelper starts the test binary as a child publisher of n messages to
// the broker at url, with its store in dir.
func startHelper(t *testing.T, url, dir string, n int) *helper {
	t.Helper()
	h := &helper{out: new(bytes.Buffer), exited: make(chan error, 1)}
	h.cmd = exec.Command(os.Args[0], "-test.run=^TestHelperStorePublisher$", "-test.count=1", "-test.v")
	h.cmd.Env = append(os.Environ(), helperEnv+"=1", helperAddrEnv+"="+url, helperDirEnv+"="+dir, helperNEnv+"="+strconv.Itoa(n))
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.exited <- h.cmd.Wait() }()
	return h
}

// started returns what the child said when it started, once it has
// exited, and how many PUBLISH and PUBREL packets it had to re-send.
func (h *helper) started() (said string, publish, pubrel int) {
	sc := bufio.NewScanner(bytes.NewReader(h.out.Bytes()))
	for sc.Scan() {
		if s, ok := strings.CutPrefix(sc.Text(), "helper: "); ok {
			var seq int
			fmt.Sscanf(s, "from seq %d, re-sending %d PUBLISH and %d PUBREL", &seq, &publish, &pubrel)
			return s, publish, pubrel
		}
	}
	return "killed before it loaded the store", 0, 0
}

// TestHelperStorePublisher is the child publisher of TestKilledPublisher,
// not a test of its own: without the environment that test gives it, it
// skips. It loads the store, connects as "crash-pub" (re-sending what the
// store holds) and publishes the messages from the store's last seq + 1
// to n, one at a time: message i has i as its 8-byte payload, and goes at
// QoS 1 to crash/q1 if i is odd, at QoS 2 to crash/q2 if even. As the
// client numbers its messages from the store's last seq on, i is also
// the seq the message has in the store, which storeChecker checks. Then
// it disconnects once every message is acknowledged.
func TestHelperStorePublisher(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("the child publisher of TestKilledPublisher")
	}
	n, err := strconv.ParseUint(os.Getenv(helperNEnv), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(os.Getenv(helperDirEnv), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, inbound, lastSeq, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	released := 0
	for _, o := range out {
		if o.Released {
			released++
		}
	}
	fmt.Printf("helper: from seq %d, re-sending %d PUBLISH and %d PUBREL, %d damaged records\n",
		lastSeq+1, len(out)-released, released, len(s.Recovered()))
	if len(inbound) > 0 {
		t.Errorf("inbound QoS 2 identifiers %v in a publisher's store", inbound)
	}
	c, err := New(Config{
		Address:           os.Getenv(helperAddrEnv),
		ClientID:          "crash-pub",
		PersistentSession: true,
		ConnectionTimeout: 10 * time.Second,
		Store:             storeChecker{s},
		Reconnect:         &Reconnect{},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for i := lastSeq + 1; i <= n; i++ {
		m := Message{Topic: "crash/q1", QoS: packet.QoS1, Payload: binary.BigEndian.AppendUint64(nil, i)}
		if i%2 == 0 {
			m.Topic, m.QoS = "crash/q2", packet.QoS2
		}
		if err := c.Publish(ctx, m); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	if out, _, _, err := s.Load(); err != nil || len(out) > 0 {
		t.Fatalf("after Disconnect, Load = %d messages, %v; want none", len(out), err)
	}
}

// storeChecker is a Store that refuses a message whose seq is not its
// payload, as TestHelperStorePublisher numbers them.
type storeChecker struct{ store.Store }

func (s storeChecker) PutOutgoing(o store.Outgoing) error {
	if len(o.Packet) < 8 || binary.BigEndian.Uint64(o.Packet[len(o.Packet)-8:]) != o.Seq {
		return fmt.Errorf("test: message % x has seq %d", o.Packet, o.Seq)
	}
	return s.Store.PutOutgoing(o)
}
