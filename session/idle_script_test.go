package session

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
)

// events records what the dispatcher did, in order.
type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.got = append(e.got, s)
	e.mu.Unlock()
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got)
}

// TestDispatchIdle checks that Config.DispatchIdle is called once the
// dispatcher has handled every message received: after a lone message,
// after the last of the messages that waited while a handler ran (not
// between them), and when the connection ends.
func TestDispatchIdle(t *testing.T) {
	leaktest.Check(t)
	var ev events
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	cfg := withDefault(HandlerFunc(func(m *Message) {
		ev.add(m.Topic)
		if m.Topic == "block" {
			entered <- struct{}{}
			<-release
		}
	}))
	idle := make(chan struct{}, 16)
	cfg.DispatchIdle = func() {
		ev.add("idle")
		idle <- struct{}{}
	}
	c, b := connected(t, cfg)
	waitIdle := func() {
		t.Helper()
		select {
		case <-idle:
		case <-time.After(5 * time.Second):
			t.Fatalf("DispatchIdle not called; events %q", ev.list())
		}
	}

	b.Send(hx("30 03 00 01 61")) // "a", alone
	waitIdle()

	b.Send(hx("30 07 00 05 62 6c 6f 63 6b")) // "block": its handler waits
	<-entered
	b.Send(hx("30 03 00 01 63 30 03 00 01 64")) // "c" and "d" queue behind it
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for len(cn.deliveries) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d messages queued; want 2", len(cn.deliveries))
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	waitIdle()

	want := []string{"a", "idle", "block", "c", "d", "idle"}
	if got := ev.list(); !slices.Equal(got, want) {
		t.Errorf("events %q; want %q", got, want)
	}

	b.Close()
	waitIdle() // the connection's end
	<-c.Done()
	if got := ev.list(); len(got) != len(want)+1 || got[len(got)-1] != "idle" {
		t.Errorf("events at the connection's end %q; want %q then idle", got, want)
	}
	c.Disconnect(context.Background())
}
