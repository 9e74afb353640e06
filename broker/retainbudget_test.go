package broker

import (
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestMaxRetainedBytes checks Config.MaxRetainedBytes: a retained message
// that would take the store above it is delivered to the subscribers of
// its topic but not retained, the message before staying, and counted; a
// smaller replacement, or a deletion, makes room.
func TestMaxRetainedBytes(t *testing.T) {
	cost := int64(len("r/1") + 300 + messageOverhead) // each message below
	srv, addr := startServer(t, Config{MaxRetainedBytes: 2*cost + 10})
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
