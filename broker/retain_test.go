package broker

import (
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestRetained checks setting, replacing and clearing retained messages
// [MQTT-3.3.1-5] [MQTT-3.3.1-10] [MQTT-3.3.1-11] [MQTT-3.3.1-12], their
// delivery on subscribe with RETAIN=1 [MQTT-3.3.1-6] [MQTT-3.3.1-8] at the
// lower QoS, and RETAIN=0 on live deliveries [MQTT-3.3.1-9].
func TestRetained(t *testing.T) {
	s, addr := startServer(t, Config{})
	p := connectID(t, addr, "pub", true)
	p.publish("r/a", "first", packet.QoS1, true, 1)
	p.publish("r/a", "second", packet.QoS2, true, 2) // replaces
	p.publish("r/b", "b", packet.QoS0, true, 0)
	p.publish("r/c", "c", packet.QoS0, true, 0)
	p.publish("r/c", "", packet.QoS0, true, 0)                    // clears
	p.publish("r/d", "not retained", packet.QoS0, false, 0)       // not kept
	p.publish("r/b", "live, not retained", packet.QoS0, false, 0) // does not replace
	p.publish("$SYS/x", "denied", packet.QoS0, true, 0)           // clients cannot publish to $SYS
	eventually(t, "2 retained", func() bool { return s.Stats().Retained == 2 })

	sub := connectID(t, addr, "sub", true)
	sub.subscribe(1, "r/a", packet.QoS1, packet.GrantedQoS1)
	m := sub.expectPublish(pub("r/a", "second", packet.QoS1, true))
	sub.send(&packet.Puback{PacketID: m.PacketID})
	sub.expectNothing()
	sub.subscribe(2, "r/b", packet.QoS2, packet.GrantedQoS2)
	sub.expectPublish(pub("r/b", "b", packet.QoS0, true))
	sub.expectNothing()
	sub.subscribe(3, "r/c", packet.QoS0, packet.GrantedQoS0)
	sub.expectNothing()

	// Subscribing again to the same filter sends the retained message
	// again [MQTT-3.8.4-3].
	sub.subscribe(4, "r/b", packet.QoS0, packet.GrantedQoS0)
	sub.expectPublish(pub("r/b", "b", packet.QoS0, true))

	// Live deliveries have RETAIN=0, even of a retained PUBLISH.
	p.publish("r/b", "new", packet.QoS0, true, 0)
	sub.expectPublish(pub("r/b", "new", packet.QoS0, false))
	// A retained PUBLISH with an empty payload is delivered as usual.
	p.publish("r/b", "", packet.QoS0, true, 0)
	sub.expectPublish(pub("r/b", "", packet.QoS0, false))
	eventually(t, "1 retained", func() bool { return s.Stats().Retained == 1 })

	// Wildcards.
	w := connectID(t, addr, "w", true)
	p.publish("r/x/y", "deep", packet.QoS0, true, 0)
	p.publish("r", "top", packet.QoS0, true, 0)
	eventually(t, "3 retained", func() bool { return s.Stats().Retained == 3 })
	w.send(&packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: []byte("r/#")}}})
	w.expect(&packet.Suback{PacketID: 1, ReturnCodes: []packet.SubackCode{0}})
	got := map[string]bool{}
	for range 3 {
		m := w.next().(*packet.Publish)
		if !m.Retain {
			t.Errorf("%s: RETAIN=0", m.Topic)
		}
		got[string(m.Topic)] = true
	}
	if !got["r"] || !got["r/a"] || !got["r/x/y"] {
		t.Errorf("r/# got retained %v, want r, r/a, r/x/y", got)
	}
	w.subscribe(2, "r/+", packet.QoS0, packet.GrantedQoS0)
	w.expectPublish(pub("r/a", "second", packet.QoS0, true))
	w.expectNothing()
}

// TestRetainStoreMatch checks the retained store's filter matching,
// $-topics included [MQTT-4.7.2-1].
func TestRetainStoreMatch(t *testing.T) {
	var r retainStore
	for _, topic := range []string{"a", "a/b", "a/b/c", "a//c", "/a", "$SYS/x", "$SYS", "b"} {
		r.set(newMessage(topic, []byte("x"), 0, true))
	}
	tests := []struct {
		filter string
		want   []string
	}{
		{"#", []string{"a", "a/b", "a/b/c", "a//c", "/a", "b"}},
		{"+", []string{"a", "b"}},
		{"a/#", []string{"a", "a/b", "a/b/c", "a//c"}},
		{"a/+", []string{"a/b"}},
		{"a/+/c", []string{"a/b/c", "a//c"}},
		{"+/a", []string{"/a"}},
		{"$SYS/#", []string{"$SYS", "$SYS/x"}},
		{"$SYS/+", []string{"$SYS/x"}},
		{"+/x", nil},
		{"a/b/c/#", []string{"a/b/c"}},
		{"nothing", nil},
	}
	for _, tt := range tests {
		got := map[string]bool{}
		ms, more := r.match(tt.filter, 100)
		if more {
			t.Errorf("%q: more than 100 matches reported", tt.filter)
		}
		for _, m := range ms {
			got[m.topic] = true
		}
		// With a limit, the walk stops there and says so.
		if n := len(tt.want); n > 0 {
			ms, more := r.match(tt.filter, n-1)
			if len(ms) != n-1 || !more {
				t.Errorf("%q with limit %d: %d matches, more %v; want %d, true", tt.filter, n-1, len(ms), more, n-1)
			}
			if _, more := r.match(tt.filter, n); more {
				t.Errorf("%q with limit %d: more reported", tt.filter, n)
			}
		}
		want := map[string]bool{}
		for _, w := range tt.want {
			want[w] = true
		}
		if len(got) != len(want) {
			t.Errorf("%q matched %v, want %v", tt.filter, got, tt.want)
			continue
		}
		for w := range want {
			if !got[w] {
				t.Errorf("%q matched %v, want %v", tt.filter, got, tt.want)
			}
		}
	}
	r.set(newMessage("a/b", nil, 0, true))
	r.set(newMessage("a/b/c", nil, 0, true))
	r.set(newMessage("nothing/here", nil, 0, true))
	if r.len() != 6 {
		t.Errorf("len = %d, want 6", r.len())
	}
	if p := r.tree.Find("a/b"); p != nil {
		t.Errorf("a/b not pruned: %v", *p)
	}
	for _, m := range []string{"a", "a//c", "/a", "$SYS/x", "$SYS", "b"} {
		r.set(newMessage(m, nil, 0, true))
	}
	if r.len() != 0 || !r.tree.Empty() || r.bytes != 0 {
		t.Errorf("store not empty after every topic was cleared: len %d, bytes %d", r.len(), r.bytes)
	}
}
