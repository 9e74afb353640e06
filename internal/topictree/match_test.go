package topictree

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rules are the examples of section 4.7, plus the edges of the rules they
// illustrate.
var rules = []struct {
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
	{"+", "sport/tennis", false},
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
	// Malformed filters, which callers should have refused: '#' other
	// than last, and a wildcard inside a level, are ordinary levels.
	{"a/#/b", "a/#/b", true},
	{"a/#/b", "a/x/b", false},
	{"#/#", "a/b", false},
	{"#/#", "#/x", true},
	{"sport+", "sport+", true},
	{"sport+", "sportx", false},
	{"", "", true},
	{"", "a", false},
}

// newTree returns a tree holding filters, each leaf the filter itself.
func newTree(filters ...string) *Tree[string] {
	t := new(Tree[string])
	for _, f := range filters {
		*t.Leaf(f) = f
	}
	return t
}

// matched returns, sorted, the leaves t.Match calls back with for topic,
// a leaf repeated if it is called more than once.
func matched(t *Tree[string], topic string) []string {
	var got []string
	t.Match(topic, func(f string) { got = append(got, f) })
	slices.Sort(got)
	return got
}

func TestMatches(t *testing.T) {
	for _, tc := range rules {
		if got := Matches(tc.filter, tc.topic); got != tc.match {
			t.Errorf("Matches(%q, %q) = %v, want %v", tc.filter, tc.topic, got, tc.match)
		}
	}
}

func TestTreeMatch(t *testing.T) {
	for _, tc := range rules {
		var want []string
		if tc.match {
			want = []string{tc.filter}
		}
		if got := matched(newTree(tc.filter), tc.topic); !slices.Equal(got, want) {
			t.Errorf("filter %q, topic %q: matched %q, want %q", tc.filter, tc.topic, got, want)
		}
	}
}

// TestTreeMatchAll puts every filter of rules in one tree and checks that
// each topic matches exactly the filters Matches says it does.
func TestTreeMatchAll(t *testing.T) {
	var filters, topics []string
	for _, tc := range rules {
		filters = append(filters, tc.filter)
		topics = append(topics, tc.topic)
	}
	slices.Sort(filters)
	filters = slices.Compact(filters)
	tree := newTree(filters...)
	for _, topic := range topics {
		var want []string
		for _, f := range filters {
			if Matches(f, topic) {
				want = append(want, f)
			}
		}
		if diff := cmp.Diff(want, matched(tree, topic)); diff != "" {
			t.Errorf("topic %q (-want +got):\n%s", topic, diff)
		}
	}
}

// refMatch is the rule of section 4.7 written as plainly as possible, as
// a reference for Matches and the tree, for well-formed filters.
func refMatch(filter, topic string) bool {
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

// TestTreeExhaustive compares the tree and Matches with refMatch over
// every filter of up to three levels and every topic of up to four built
// from a few level values.
func TestTreeExhaustive(t *testing.T) {
	topics := combine([]string{"a", "b", "", "$x"}, 4)
	var filters []string
	for _, f := range combine([]string{"a", "b", "", "$x", "+", "#"}, 3) {
		if i := strings.Index(f, "#"); f == "" || i >= 0 && i != len(f)-1 {
			continue // not empty [MQTT-4.7.3-1]; '#' only last [MQTT-4.7.1-2]
		}
		filters = append(filters, f)
	}
	tree := newTree(filters...)
	for _, topic := range topics {
		var want []string
		for _, f := range filters {
			if refMatch(f, topic) {
				want = append(want, f)
			}
			if got := Matches(f, topic); got != refMatch(f, topic) {
				t.Errorf("Matches(%q, %q) = %v, want %v", f, topic, got, !got)
			}
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, matched(tree, topic)); diff != "" {
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

// TestTreeScanExhaustive stores topic names and checks Scan against the
// reference matcher for every filter of up to three levels, then that
// Scan stops when fn returns false.
func TestTreeScanExhaustive(t *testing.T) {
	topics := combine([]string{"a", "b", "", "$x"}, 3)
	var tree Tree[string]
	for _, topic := range topics {
		*tree.Leaf(topic) = topic
	}
	for _, f := range combine([]string{"a", "b", "", "$x", "+", "#"}, 3) {
		if i := strings.Index(f, "#"); f == "" || i >= 0 && i != len(f)-1 {
			continue
		}
		var want, got []string
		for _, topic := range topics {
			if refMatch(f, topic) {
				want = append(want, topic)
			}
		}
		tree.Scan(f, func(topic string) bool { got = append(got, topic); return true })
		slices.Sort(want)
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Scan(%q) (-want +got):\n%s", f, diff)
		}
		if len(want) > 1 {
			n := 0
			tree.Scan(f, func(string) bool { n++; return n < 2 })
			if n != 2 {
				t.Errorf("Scan(%q) went on after fn returned false: %d calls", f, n)
			}
		}
	}
}
