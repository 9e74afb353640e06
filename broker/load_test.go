package broker

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	psession "github.com/petrel-mqtt/petrel/session"
)

// group runs functions, at most limit at a time, and keeps the first
// error: errgroup's job, without the dependency.
type group struct {
	wg   sync.WaitGroup
	sem  chan struct{}
	once sync.Once
	err  error
}

func newGroup(limit int) *group { return &group{sem: make(chan struct{}, limit)} }

func (g *group) Go(f func() error) {
	g.sem <- struct{}{}
	g.wg.Go(func() {
		defer func() { <-g.sem }()
		if err := f(); err != nil {
			g.once.Do(func() { g.err = err })
		}
	})
}

func (g *group) Wait() error {
	g.wg.Wait()
	return g.err
}

// TestManyClients runs 200 Petrel clients at once, each subscribed to two
// overlapping filters at QoS 1 and 2 and publishing QoS 1 and 2 messages,
// and accounts for every message: each reaches every client with a
// matching subscription exactly once, at the QoS the rules give, and
// nothing else arrives.
func TestManyClients(t *testing.T) {
	const (
		clients = 200
		perPub  = 20
	)
	if testing.Short() {
		t.Skip("slow")
	}
	s, addr := startServer(t, Config{MaxQueued: 1 << 20})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	type key struct {
		to  int
		msg string
	}
	var (
		mu       sync.Mutex
		received = make(map[key]int)
		// The client calls each matching subscription's handler with the
		// same *Message: one delivery is one distinct pointer.
		seen   = make(map[*psession.Message]bool)
		badQoS []string
		total  int
	)
	filters := func(i int) [2]psession.Subscription {
		return [2]psession.Subscription{
			{Filter: fmt.Sprintf("load/%d/#", i%10), QoS: packet.QoS1},
			{Filter: fmt.Sprintf("load/+/%d", i%20), QoS: packet.QoS2},
		}
	}
	topic := func(i, j int) string { return fmt.Sprintf("load/%d/%d", (i+j)%10, (i*7+j)%20) }
	pubQoS := func(j int) packet.QoS { return packet.QoS(1 + j%2) }
	// wantQoS is the QoS client `to` gets a message with, or -1 if none.
	wantQoS := func(to int, topic string, q packet.QoS) int {
		g := -1
		for _, f := range filters(to) {
			if matchTopic(f.Filter, topic) {
				g = max(g, int(min(q, f.QoS)))
			}
		}
		return g
	}

	cs := make([]*psession.Client, clients)
	g := newGroup(20)
	for i := range clients {
		h := psession.HandlerFunc(func(m *psession.Message) {
			mu.Lock()
			defer mu.Unlock()
			if seen[m] {
				return
			}
			seen[m] = true
			k := key{i, string(m.Payload)}
			received[k]++
			total++
			var from, j int
			fmt.Sscanf(k.msg, "%d-%d", &from, &j)
			if want := wantQoS(i, m.Topic, pubQoS(j)); int(m.QoS) != want || m.Topic != topic(from, j) {
				badQoS = append(badQoS, fmt.Sprintf("client %d: %s on %s at QoS %d, want %d", i, k.msg, m.Topic, m.QoS, want))
			}
		})
		c, err := psession.New(psession.Config{Address: "tcp://" + addr, ClientID: fmt.Sprintf("load-%d", i),
			ConnectionTimeout: 30 * time.Second, DefaultHandler: h})
		if err != nil {
			t.Fatal(err)
		}
		cs[i] = c
		g.Go(func() error {
			if _, err := c.Connect(ctx); err != nil {
				return err
			}
			f := filters(i)
			_, err := c.Subscribe(ctx, h, f[0], f[1])
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	pg := newGroup(clients)
	for i, c := range cs {
		pg.Go(func() error {
			for j := range perPub {
				m := psession.Message{Topic: topic(i, j), Payload: fmt.Appendf(nil, "%d-%d", i, j), QoS: pubQoS(j)}
				if err := c.Publish(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := pg.Wait(); err != nil {
		t.Fatal(err)
	}

	want := make(map[key]int)
	for i := range clients {
		for j := range perPub {
			tp, msg := topic(i, j), fmt.Sprintf("%d-%d", i, j)
			for to := range clients {
				if wantQoS(to, tp, pubQoS(j)) >= 0 {
					want[key{to, msg}] = 1
				}
			}
		}
	}
	eventually(t, fmt.Sprintf("%d deliveries", len(want)), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return total >= len(want)
	})
	time.Sleep(quiet) // anything extra would arrive now
	elapsed := time.Since(start)

	mu.Lock()
	if total != len(want) {
		t.Errorf("%d deliveries, want %d", total, len(want))
	}
	for k, n := range want {
		if received[k] != n {
			t.Errorf("client %d got %s %d times, want %d", k.to, k.msg, received[k], n)
		}
	}
	for _, b := range badQoS {
		t.Error(b)
	}
	mu.Unlock()

	st := s.Stats()
	if st.MessagesReceived != clients*perPub || st.MessagesSent != uint64(len(want)) || st.Dropped != 0 {
		t.Errorf("stats: received %d sent %d dropped %d; want %d, %d, 0",
			st.MessagesReceived, st.MessagesSent, st.Dropped, clients*perPub, len(want))
	}
	t.Logf("%d clients: %d messages in, %d deliveries in %v", clients, clients*perPub, len(want), elapsed)
	for _, c := range cs {
		g.Go(func() error { return c.Disconnect(ctx) })
	}
	if err := g.Wait(); err != nil {
		t.Error(err)
	}
}
