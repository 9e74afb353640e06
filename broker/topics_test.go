package broker

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/topictree"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestOverlappingSubscriptions checks that a client whose subscriptions
// overlap gets a message once, at the highest QoS granted to them
// [MQTT-3.3.5-1], and that SUBSCRIBE with several filters answers one code
// per filter in order [MQTT-3.8.4-4] [MQTT-3.9.3-1].
func TestOverlappingSubscriptions(t *testing.T) {
	_, addr := startServer(t, Config{})
	sub := connectID(t, addr, "sub", true)
	sub.send(&packet.Subscribe{PacketID: 9, Filters: []packet.Subscription{
		{Filter: []byte("a/#"), QoS: 0},
		{Filter: []byte("a/+/c"), QoS: 2},
		{Filter: []byte("a/b/c"), QoS: 1},
		{Filter: []byte("+/b/#"), QoS: 0},
	}})
	sub.expect(&packet.Suback{PacketID: 9, ReturnCodes: []packet.SubackCode{0, 2, 1, 0}})
	p := connectID(t, addr, "pub", true)
	p.publish("a/b/c", "x", packet.QoS2, false, 1)
	m := sub.expectPublish(pub("a/b/c", "x", packet.QoS2, false))
	sub.send(&packet.Pubrec{PacketID: m.PacketID})
	sub.expect(&packet.Pubrel{PacketID: m.PacketID})
	sub.send(&packet.Pubcomp{PacketID: m.PacketID})
	sub.expectNothing()

	// Re-subscribing to an identical filter replaces its QoS
	// [MQTT-3.8.4-3]: a/+/c now at QoS 0, so a/b/c (QoS 1) wins.
	sub.subscribe(10, "a/+/c", packet.QoS0, packet.GrantedQoS0)
	p.publish("a/b/c", "y", packet.QoS2, false, 2)
	m = sub.expectPublish(pub("a/b/c", "y", packet.QoS1, false))
	sub.send(&packet.Puback{PacketID: m.PacketID})
	sub.expectNothing()

	// UNSUBSCRIBE compares filters exactly [MQTT-3.10.4-1] and is
	// answered even if nothing matched [MQTT-3.10.4-5].
	sub.send(&packet.Unsubscribe{PacketID: 11, Filters: [][]byte{[]byte("a/b/c"), []byte("a/+/+"), []byte("a/#")}})
	sub.expect(&packet.Unsuback{PacketID: 11})
	p.publish("a/b/c", "z", packet.QoS2, false, 3)
	sub.expectPublish(pub("a/b/c", "z", packet.QoS0, false))
	sub.expectNothing()
	sub.send(&packet.Unsubscribe{PacketID: 12, Filters: [][]byte{[]byte("nothing")}})
	sub.expect(&packet.Unsuback{PacketID: 12})
}

// TestDollarTopics checks that filters starting with a wildcard do not
// match topics starting with '$' [MQTT-4.7.2-1], and that clients cannot
// publish to $SYS.
func TestDollarTopics(t *testing.T) {
	s, addr := startServer(t, Config{})
	all := connectID(t, addr, "all", true)
	all.subscribe(1, "#", packet.QoS0, packet.GrantedQoS0)
	all.subscribe(2, "+/x", packet.QoS0, packet.GrantedQoS0)
	dollar := connectID(t, addr, "dollar", true)
	dollar.subscribe(1, "$app/#", packet.QoS0, packet.GrantedQoS0)
	p := connectID(t, addr, "pub", true)
	p.publish("$app/x", "d", packet.QoS1, false, 1)
	p.publish("$SYS/x", "s", packet.QoS1, false, 2)
	p.publish("app/x", "a", packet.QoS1, false, 3)
	dollar.expectPublish(pub("$app/x", "d", 0, false))
	all.expectPublish(pub("app/x", "a", 0, false))
	all.expectNothing()
	dollar.expectNothing()
	if got := s.Stats().Denied; got != 1 {
		t.Errorf("Denied = %d, want 1 ($SYS publish)", got)
	}
}

// matchTopic reports whether filter matches topic by the rules of section
// 4.7, which internal/topictree tests; the broker's tests check their
// subscriptions and ACLs against it.
func matchTopic(filter, topic string) bool { return topictree.Matches(filter, topic) }

// TestIndexAddRemove checks the index's own bookkeeping: a session's
// subscription to a filter is one entry, replaced by an identical filter
// [MQTT-3.8.4-3], removed by exactly its filter [MQTT-3.10.4-1], and the
// table holds nothing once all are removed. Which filters match which
// topics is internal/topictree's.
func TestIndexAddRemove(t *testing.T) {
	var x index
	a, b := &session{id: "a"}, &session{id: "b"}
	for _, tc := range []struct {
		filter   string
		s        *session
		qos      packet.QoS
		replaced bool
	}{
		{"a/+", a, 1, false},
		{"a/+", b, 0, false},
		{"a/#", a, 0, false},
		{"a/+", a, 2, true},
		{"#", b, 1, false},
	} {
		if got := x.add(tc.filter, tc.s, tc.qos); got != tc.replaced {
			t.Errorf("add(%q, %s) = %v, want %v", tc.filter, tc.s.id, got, tc.replaced)
		}
	}
	if x.len() != 4 {
		t.Errorf("len() = %d, want 4", x.len())
	}
	got := map[string]packet.QoS{}
	for _, tg := range x.match("a/b", nil) {
		got[tg.s.id] = tg.qos
	}
	if want := map[string]packet.QoS{"a": 2, "b": 1}; !maps.Equal(got, want) {
		t.Errorf("match(a/b) = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		filter string
		s      *session
		found  bool
	}{
		{"a/+", a, true},
		{"a/+", a, false},
		{"a/b", b, false},
		{"a/#", b, false},
		{"a/+", b, true},
		{"#", b, true},
		{"a/#", a, true},
	} {
		if got := x.remove(tc.filter, tc.s); got != tc.found {
			t.Errorf("remove(%q, %s) = %v, want %v", tc.filter, tc.s.id, got, tc.found)
		}
	}
	if x.len() != 0 || !x.tree.Empty() {
		t.Errorf("index not empty after removing all: len() = %d", x.len())
	}
}

// TestIndexDedup checks that one session matching through many filters
// gets one target, at the highest QoS, both with few and with many
// matches.
func TestIndexDedup(t *testing.T) {
	for _, n := range []int{3, 40} {
		var x index
		a, b := &session{id: "a"}, &session{id: "b"}
		for i := range n {
			x.add(fmt.Sprintf("t/%d/#", i), a, packet.QoS(i%2))
			x.add(fmt.Sprintf("t/+/%d/#", i), b, 0)
		}
		x.add("t/#", a, 2)
		ts := x.match("t/1/1/x", nil)
		if len(ts) != 2 {
			t.Fatalf("n=%d: %d targets, want 2", n, len(ts))
		}
		for _, tg := range ts {
			if want := map[*session]packet.QoS{a: 2, b: 0}[tg.s]; tg.qos != want {
				t.Errorf("n=%d: %s at QoS %d, want %d", n, tg.s.id, tg.qos, want)
			}
		}
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		acl, sub string
		want     bool
	}{
		{"#", "a/b", true},
		{"#", "#", true},
		{"#", "$SYS/#", false},
		{"$SYS/#", "$SYS/broker/+", true},
		{"a/#", "a", true},
		{"a/#", "a/#", true},
		{"a/#", "a/+/c", true},
		{"a/#", "#", false},
		{"a/#", "+/b", false},
		{"a/+", "a/b", true},
		{"a/+", "a/+", true},
		{"a/+", "a/#", false},
		{"a/+", "a/b/c", false},
		{"a/b", "a/b", true},
		{"a/b", "a/+", false},
		{"+/b", "a/b", true},
		{"+/b", "$x/b", false},
		{"a/+/#", "a/b", true},
		{"a/+/#", "a/#", false},
	}
	for _, tt := range tests {
		if got := covers(tt.acl, tt.sub); got != tt.want {
			t.Errorf("covers(%q, %q) = %v, want %v", tt.acl, tt.sub, got, tt.want)
		}
	}
}

// indexCases are tables of subscriptions of the shapes a broker sees, with
// a topic to match and the number of targets it has.
var indexCases = []struct {
	name    string
	filters func(i int) []string // the filters of session i
	n       int                  // sessions
	topic   string
	want    int // targets
}{
	// 1,000 sessions on their own rooms, 10 of them on every room too:
	// a few matches out of a large table.
	{"few", func(i int) []string {
		fs := []string{fmt.Sprintf("home/room%d/temperature", i), fmt.Sprintf("home/room%d/+", i)}
		if i%100 == 0 {
			fs = append(fs, "home/+/temperature")
		}
		return fs
	}, 1000, "home/room7/temperature", 11},
	// 8 sessions matching through two filters each: merged in place.
	{"fanout8", func(int) []string { return []string{"t/#", "t/a/+"} }, 8, "t/a/x", 8},
	// 50 sessions matching through two filters each: merged with a map.
	{"fanout50", func(int) []string { return []string{"t/#", "t/+/x"} }, 50, "t/a/x", 50},
}

// newBenchIndex returns an index of n sessions, session i subscribed to
// filters(i).
func newBenchIndex(n int, filters func(int) []string) *index {
	x := new(index)
	for i := range n {
		s := &session{id: fmt.Sprint(i)}
		for _, f := range filters(i) {
			x.add(f, s, packet.QoS(i%3))
		}
	}
	return x
}

// TestIndexMatchAllocs checks that match allocates nothing when its
// targets fit the caller's slice and need no map to merge.
func TestIndexMatchAllocs(t *testing.T) {
	for _, tc := range indexCases[:2] {
		x := newBenchIndex(tc.n, tc.filters)
		var buf [16]target
		allocs := testing.AllocsPerRun(100, func() {
			if ts := x.match(tc.topic, buf[:0]); len(ts) != tc.want {
				t.Fatalf("%s: %d targets, want %d", tc.name, len(ts), tc.want)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: match: %v allocs, want 0", tc.name, allocs)
		}
	}
}

func BenchmarkIndexMatch(b *testing.B) {
	for _, tc := range indexCases {
		b.Run(tc.name, func(b *testing.B) {
			x := newBenchIndex(tc.n, tc.filters)
			ts := make([]target, 0, 128)
			b.ReportAllocs()
			for b.Loop() {
				ts = x.match(tc.topic, ts[:0])
			}
			if len(ts) != tc.want {
				b.Fatalf("%d targets, want %d", len(ts), tc.want)
			}
		})
	}
}

// TestSubscribersSlots moves sessions of one filter through subscribers'
// first slot and its map in every order: each is held once, at its last
// QoS, and the leaf ends empty.
func TestSubscribersSlots(t *testing.T) {
	ss := []*session{{id: "s0"}, {id: "s1"}, {id: "s2"}, {id: "s3"}}
	var x subscribers
	held := map[*session]packet.QoS{}
	rng := rand.New(rand.NewPCG(3, 4))
	for step := range 500 {
		s := ss[rng.IntN(len(ss))]
		if _, ok := held[s]; ok && rng.IntN(2) == 0 {
			if !x.drop(s) {
				t.Fatalf("step %d: drop(%s) = false for a session held", step, s.id)
			}
			delete(held, s)
		} else {
			q := packet.QoS(rng.IntN(3))
			_, had := held[s]
			if got := x.set(s, q); got != had {
				t.Fatalf("step %d: set(%s) = %v, want %v", step, s.id, got, had)
			}
			held[s] = q
		}
		got := map[*session]packet.QoS{}
		if x.one != nil {
			got[x.one] = x.oneQoS
		}
		for s, q := range x.more {
			if _, dup := got[s]; dup {
				t.Fatalf("step %d: %s held twice", step, s.id)
			}
			got[s] = q
		}
		if !maps.Equal(got, held) || x.empty() != (len(held) == 0) {
			t.Fatalf("step %d: holds %v, want %v", step, got, held)
		}
	}
	for s := range held {
		x.drop(s)
	}
	if !x.empty() || x.more != nil {
		t.Errorf("not empty after dropping all: %+v", x)
	}
}

// TestIndexShared checks the index's shared subscriptions: members of a
// group take the matches in turn, a member's QoS is replaced, a filter
// like $share/g (no FILTER) is an ordinary one, and leaving empties the
// tree.
func TestIndexShared(t *testing.T) {
	var x index
	s1, s2 := &session{id: "s1"}, &session{id: "s2"}
	x.add("$share/g/a/#", s1, packet.QoS1)
	x.add("$share/g/a/#", s2, packet.QoS1)
	if !x.add("$share/g/a/#", s1, packet.QoS2) {
		t.Error("a member's second join did not replace its QoS")
	}
	var turns []string
	for range 4 {
		ts := x.match("a/b", nil)
		if len(ts) != 1 {
			t.Fatalf("match = %v; want one member", ts)
		}
		turns = append(turns, fmt.Sprintf("%s:%d", ts[0].s.id, ts[0].qos))
	}
	if want := []string{"s1:2", "s2:1", "s1:2", "s2:1"}; !slices.Equal(turns, want) {
		t.Errorf("turns %v; want %v", turns, want)
	}
	x.add("$share/g", s2, packet.QoS0) // not shared: the literal filter
	if ts := x.match("$share/g", nil); len(ts) != 1 || ts[0].s != s2 {
		t.Errorf("match($share/g) = %v; want s2's literal subscription", ts)
	}
	for _, tc := range []struct {
		filter string
		s      *session
		found  bool
	}{
		{"$share/g/a/#", s2, true}, {"$share/g/a/#", s2, false}, {"$share/h/a/#", s1, false},
		{"a/#", s1, false}, {"$share/g/a/#", s1, true}, {"$share/g", s2, true},
	} {
		if got := x.remove(tc.filter, tc.s); got != tc.found {
			t.Errorf("remove(%q, %s) = %v, want %v", tc.filter, tc.s.id, got, tc.found)
		}
	}
	if x.len() != 0 || !x.tree.Empty() {
		t.Errorf("index not empty after removing all: len() = %d", x.len())
	}
}
