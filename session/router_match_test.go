package session

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// specCases are the examples of section 4.7, plus the edges of the rules
// they illustrate.
var specCases = []struct {
	filter, topic string
	match         bool
}{
	// 4.7.1.2 Multi-level wildcard.
	{"sport/tennis/player1/#", "sport/tennis/player1", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"sport/tennis/player1/#", "sport/tennis/player2", false},
	{"sport/tennis/player1/#", "sport/tennis", false},
	{"sport/#", "sport", true},
	{"sport/#", "sport/", true},
	{"sport/#", "sports", false},
	{"#", "sport", true},
	{"#", "sport/tennis/player1", true},
	{"#", "/", true},
	{"#", "/finance", true},
	{"sport/tennis/#", "sport/tennis/player1/ranking", true},
	{"sport/tennis/#", "sport/tennisplayer1", false},
	// 4.7.1.3 Single level wildcard.
	{"sport/tennis/+", "sport/tennis/player1", true},
	{"sport/tennis/+", "sport/tennis/player2", true},
	{"sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"sport/+", "sport", false},
	{"sport/+", "sport/", true},
	{"+", "sport", true},
	{"+", "/finance", false},
	{"+/+", "/finance", true},
	{"/+", "/finance", true},
	{"+/tennis/#", "sport/tennis", true},
	{"+/tennis/#", "sport/tennis/player1/ranking", true},
	{"+/tennis/#", "sport/golf", false},
	{"sport/+/player1", "sport/tennis/player1", true},
	{"sport/+/player1", "sport//player1", true},
	{"sport/+/player1", "sport/tennis/player2", false},
	{"+/#", "sport", true},
	{"+/+/#", "sport", false},
	// 4.7.2 Topics beginning with $ [MQTT-4.7.2-1].
	{"#", "$SYS/monitor/Clients", false},
	{"#", "$SYS", false},
	{"+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"+/#", "$SYS/monitor/Clients", false},
	{"+", "$SYS", false},
	{"$SYS/#", "$SYS/monitor/Clients", true},
	{"$SYS/#", "$SYS", true},
	{"$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"$SYS/+/Clients", "$SYS/monitor/Clients", true},
	{"$SYS/monitor/Clients", "$SYS/monitor/Clients", true},
	{"a/+", "a/$SYS", true}, // only the first character counts
	{"#", "a/$SYS", true},
	{"$share/g/#", "$SYS/monitor", false},
	{"$share/g/$SYS/#", "$SYS/monitor", true},
	// 4.7.3 Topic semantic and usage.
	{"ACCOUNTS", "Accounts", false},
	{"Accounts", "Accounts", true},
	{"Accounts payable", "Accounts payable", true},
	{"/finance", "finance", false},
	{"finance", "/finance", false},
	{"/finance", "/finance", true},
	{"finance/", "finance", false},
	{"/", "/", true},
	{"+", "/", false},
	{"+/+", "/", true},
	{"/+", "/", true},
	{"a//b", "a//b", true},
	{"a/b", "a//b", false},
	{"a/+/b", "a//b", true},
	{"caf\u00e9", "cafe\u0301", false}, // no normalisation [MQTT-4.7.3-4]
	{"caf\u00e9", "caf\u00e9", true},
	{"a/+/c", "a/\u00e9/c", true},
	// Shared subscriptions match by their filter.
	{"$share/g/sport/+", "sport/tennis", true},
	{"$share/g/sport/+", "$share/g/sport/tennis", false},
	{"$share/g/#", "sport", true},
}

func TestRouterMatchSpec(t *testing.T) {
	for _, tc := range specCases {
		var want []string
		if tc.match {
			want = []string{tc.filter}
		}
		if got := matched(newRouter(tc.filter), tc.topic); !slices.Equal(got, want) {
			t.Errorf("filter %q, topic %q: matched %q, want %q", tc.filter, tc.topic, got, want)
		}
	}
}

// TestRouterMatchAll puts every filter of specCases in one table and checks
// that each topic matches exactly the filters it matched alone.
func TestRouterMatchAll(t *testing.T) {
	var filters, topics []string
	for _, tc := range specCases {
		filters = append(filters, tc.filter)
		topics = append(topics, tc.topic)
	}
	slices.Sort(filters)
	filters = slices.Compact(filters)
	r := newRouter(filters...)
	for _, topic := range topics {
		var want []string
		for _, f := range filters {
			if refMatch(f, topic) {
				want = append(want, f)
			}
		}
		if diff := cmp.Diff(want, matched(r, topic)); diff != "" {
			t.Errorf("topic %q (-want +got):\n%s", topic, diff)
		}
	}
}

// refMatch is the matching rule of section 4.7 written as plainly as
// possible, as a reference for the trie.
func refMatch(filter, topic string) bool {
	_, filter, _ = splitShared(filter)
	if strings.HasPrefix(topic, "$") && strings.ContainsAny(filter[:1], "+#") {
		return false
	}
	f, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, level := range f {
		if level == "#" && i == len(f)-1 {
			return true
		}
		if i >= len(tl) || (level != "+" && level != tl[i]) {
			return false
		}
	}
	return len(f) == len(tl)
}

// TestRouterExhaustive compares the trie with refMatch over every filter
// and topic of up to three levels built from a few level values.
func TestRouterExhaustive(t *testing.T) {
	levels := []string{"a", "b", "", "$x"}
	topics := slices.DeleteFunc(combine(levels, 4), func(s string) bool { return s == "" })
	var filters []string
	for _, f := range combine([]string{"a", "b", "", "$x", "+", "#"}, 3) {
		if i := strings.Index(f, "#"); f == "" || i >= 0 && i != len(f)-1 {
			continue // not empty [MQTT-4.7.3-1]; '#' only last [MQTT-4.7.1-2]
		}
		filters = append(filters, f)
		if len(filters)%7 == 0 {
			filters = append(filters, "$share/g/"+f)
		}
	}
	r := newRouter(filters...)
	if r.len() != len(filters) {
		t.Fatalf("len() = %d, want %d", r.len(), len(filters))
	}
	for _, topic := range topics {
		var want []string
		for _, f := range filters {
			if refMatch(f, topic) {
				want = append(want, f)
			}
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, matched(r, topic)); diff != "" {
			t.Errorf("topic %q (-want +got):\n%s", topic, diff)
		}
	}
}

// combine returns every string of 1 to n levels from levels, joined by '/'.
func combine(levels []string, n int) []string {
	out, prev := slices.Clone(levels), levels
	for range n - 1 {
		var next []string
		for _, p := range prev {
			for _, l := range levels {
				next = append(next, p+"/"+l)
			}
		}
		out, prev = append(out, next...), next
	}
	return out
}
