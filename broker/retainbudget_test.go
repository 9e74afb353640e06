package broker

import (
	"fmt"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/topictree"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestMaxRetainedBytes checks Config.MaxRetainedBytes: a retained message
// that would take the store above it is delivered to the subscribers of
// its topic but not retained, the message before staying, and counted; a
// smaller replacement, or a deletion, makes room.
func TestMaxRetainedBytes(t *testing.T) {
	cost := int64(len("r/1") + 300 + messageOverhead) // each message below
	// Two messages, and the three nodes of their topics: r, 1 and 2.
	nodes := 3 * topictree.NodeBytes[*message]()
	srv, addr := startServer(t, Config{MaxRetainedBytes: 2*cost + nodes + 10})
	live := connectID(t, addr, "live", true)
	live.subscribe(1, "r/#", packet.QoS0, packet.GrantedQoS0)
	p := connectID(t, addr, "pub", true)
	big := func(c string) string { return strings.Repeat(c, 300) }
	for _, m := range []struct{ topic, payload string }{{"r/1", big("a")}, {"r/2", big("b")}, {"r/3", big("c")}, {"r/1", big("d") + strings.Repeat("!", 20)}} {
		p.publish(m.topic, m.payload, packet.QoS1, true, 1)
		live.expectPublish(pub(m.topic, m.payload, packet.QoS0, false)) // delivered, kept or not
	}
	if st := srv.Stats(); st.RetainedDropped != 2 || st.Retained != 2 {
		t.Fatalf("RetainedDropped %d, Retained %d; want 2 and 2", st.RetainedDropped, st.Retained)
	}
	check := func(want ...string) {
		t.Helper()
		c := connectID(t, addr, "late", true)
		c.subscribe(1, "r/#", packet.QoS0, packet.GrantedQoS0)
		got := map[string]string{}
		for range want {
			m, ok := c.next().(*packet.Publish)
			if !ok || !m.Retain {
				t.Fatalf("got %+v; want a retained PUBLISH", m)
			}
			got[string(m.Topic)] = string(m.Payload)[:1]
		}
		c.expectNothing()
		for _, w := range want {
			topic, first, _ := strings.Cut(w, "=")
			if got[topic] != first {
				t.Errorf("retained %v; want %v", got, want)
				break
			}
		}
		c.send(&packet.Disconnect{})
	}
	check("r/1=a", "r/2=b") // neither r/3 nor the larger r/1

	p.publish("r/2", "", packet.QoS0, true, 0) // deleted: room for r/3
	live.expectPublish(pub("r/2", "", packet.QoS0, false))
	p.publish("r/3", big("c"), packet.QoS0, true, 0)
	live.expectPublish(pub("r/3", big("c"), packet.QoS0, false))
	p.publish("r/1", "e", packet.QoS0, true, 0) // smaller: always fits
	live.expectPublish(pub("r/1", "e", packet.QoS0, false))
	check("r/1=e", "r/3=c")
	if st := srv.Stats(); st.RetainedDropped != 2 || st.Retained != 2 {
		t.Errorf("RetainedDropped %d, Retained %d; want 2 and 2", st.RetainedDropped, st.Retained)
	}
}

// TestMaxRetainedBytesDeep checks that Config.MaxRetainedBytes counts the
// nodes a retained topic makes in the tree, one a level: a topic of 200
// levels with a 1-byte payload, new below its first level, holds some
// 14 KB, 35 times its topic and payload. Before the nodes were counted,
// 20,000 of them held 287 MB against a bound that counted 10 MB. A
// message refused leaves no node behind.
func TestMaxRetainedBytesDeep(t *testing.T) {
	deep := func(i int) string { return fmt.Sprint(i) + strings.Repeat("/a", 199) }
	var probe retainStore
	for i := range 3 {
		probe.set(&message{topic: deep(i), payload: []byte("x")})
	}
	fits := probe.bytes + probe.tree.Bytes() // three of them
	srv, addr := startServer(t, Config{MaxRetainedBytes: fits + 100})
	p := connectID(t, addr, "pub", true)
	for i := range 10 {
		p.publish(deep(i), "x", packet.QoS0, true, 0)
	}
	p.send(&packet.Pingreq{})
	p.expect(&packet.Pingresp{})
	if st := srv.Stats(); st.Retained != 3 || st.RetainedDropped != 7 {
		t.Errorf("Retained %d, RetainedDropped %d; want 3 and 7", st.Retained, st.RetainedDropped)
	}
	srv.retained.mu.RLock()
	got := srv.retained.tree.Bytes()
	srv.retained.mu.RUnlock()
	if want := probe.tree.Bytes(); got != want {
		t.Errorf("tree Bytes %d after 7 refused; want %d, the 3 kept's", got, want)
	}
}
