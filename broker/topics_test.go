package broker

import (
	"fmt"
	"testing"

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

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"#", "a", true},
		{"#", "a/b", true},
		{"#", "/", true},
		{"#", "$SYS/a", false},
		{"+/a", "$SYS/a", false},
		{"$SYS/#", "$SYS/a", true},
		{"$SYS/#", "$SYS", true},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/#", "ab", false},
		{"a/+", "a", false},
		{"a/+", "a/", true},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"+", "a", true},
		{"+", "a/b", false},
		{"+", "/a", false},
		{"+/+", "/a", true},
		{"/+", "/a", true},
		{"a/b", "a/b", true},
		{"a/b", "A/b", false},
		{"a/b", "a/b/", false},
		{"a/+/c", "a//c", true},
		{"sport/tennis/player1/#", "sport/tennis/player1", true},
		{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
		{"sport/+", "sport", false},
	}
	for _, tt := range tests {
		if got := matchTopic(tt.filter, tt.topic); got != tt.want {
			t.Errorf("matchTopic(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
		}
	}
}

// TestIndexAgreesWithMatchTopic checks the trie against matchTopic on
// every pair of a set of filters and topics.
func TestIndexAgreesWithMatchTopic(t *testing.T) {
	filters := []string{"#", "+", "+/+", "a", "a/#", "a/+", "a/b", "a/+/c", "+/b/#", "/+", "/#",
		"$SYS/#", "$SYS/+", "+/#", "a/b/c/#", "a//c", "a/+/+"}
	topics := []string{"a", "a/b", "a/b/c", "a//c", "/", "/a", "$SYS", "$SYS/x", "b", "a/b/c/d", "x/b"}
	var x index
	sessions := make(map[*session]string)
	for _, f := range filters {
		s := &session{id: f}
		sessions[s] = f
		x.add(f, s, 1)
	}
	for _, topic := range topics {
		got := map[string]bool{}
		for _, tg := range x.match(topic, nil) {
			got[sessions[tg.s]] = true
		}
		for _, f := range filters {
			if want := matchTopic(f, topic); got[f] != want {
				t.Errorf("index: %q matches %q = %v, want %v", f, topic, got[f], want)
			}
		}
	}
	for _, f := range filters {
		for s, sf := range sessions {
			if sf == f && !x.remove(f, s) {
				t.Errorf("remove(%q) = false", f)
			}
		}
	}
	if x.count != 0 || !x.root.empty() {
		t.Errorf("index not empty after removing all: count %d", x.count)
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
