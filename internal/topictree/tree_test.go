package topictree

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func isEmpty(s string) bool { return s == "" }

func TestTreeLeaf(t *testing.T) {
	var tree Tree[int] // the zero value is ready
	if !tree.Empty() || tree.Find("a") != nil {
		t.Fatal("zero Tree not empty")
	}
	p := tree.Leaf("a/+/#")
	*p = 7
	if q := tree.Leaf("a/+/#"); q != p {
		t.Errorf("Leaf again: another pointer")
	}
	if q := tree.Find("a/+/#"); q != p || *q != 7 {
		t.Errorf("Find(%q) = %v, want the leaf", "a/+/#", q)
	}
	// The nodes on the way hold no leaf, and no other filter is found.
	for _, f := range []string{"a", "a/+", "a/#", "a/b/#", "a/+/#/x", "+/+/#", "#", ""} {
		if q := tree.Find(f); q != nil {
			t.Errorf("Find(%q) = %v, want nil", f, q)
		}
	}
	if got := tree.Leaf("a/+"); *got != 0 {
		t.Errorf("new leaf = %d, want the zero value", *got)
	}
	if tree.Empty() {
		t.Error("Empty() with two leaves")
	}
}

// TestTreePrune empties leaves one by one and checks what still matches,
// and that the tree is left with no nodes.
func TestTreePrune(t *testing.T) {
	tree := newTree("a", "a/b/c", "a/b/#", "a/+", "x/#/y")
	topics := []string{"a/b/c", "a/b", "a", "x/#/y"}
	all := func() []string {
		var got []string
		for _, topic := range topics {
			got = append(got, matched(tree, topic)...)
		}
		return got
	}
	// A leaf that is not empty stays, and so does the way to it.
	tree.Prune("a/b/c", isEmpty)
	if diff := cmp.Diff([]string{"a/b/#", "a/b/c", "a/+", "a/b/#", "a", "x/#/y"}, all()); diff != "" {
		t.Fatalf("after pruning a full leaf (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		prune string
		want  []string // matched by topics afterwards
	}{
		{"a/b/c", []string{"a/b/#", "a/+", "a/b/#", "a", "x/#/y"}},
		{"a/b/c", []string{"a/b/#", "a/+", "a/b/#", "a", "x/#/y"}}, // no leaf
		{"no/such", []string{"a/b/#", "a/+", "a/b/#", "a", "x/#/y"}},
		{"a/b", []string{"a/b/#", "a/+", "a/b/#", "a", "x/#/y"}}, // a node, no leaf
		{"a/b/#", []string{"a/+", "a", "x/#/y"}},
		{"a", []string{"a/+", "x/#/y"}},
		{"x/#/y", []string{"a/+"}},
		{"a/+", nil},
	} {
		if p := tree.Find(tc.prune); p != nil {
			*p = ""
		}
		tree.Prune(tc.prune, isEmpty)
		if diff := cmp.Diff(tc.want, all()); diff != "" {
			t.Errorf("after Prune(%q) (-want +got):\n%s", tc.prune, diff)
		}
		if p := tree.Find(tc.prune); p != nil {
			t.Errorf("after Prune(%q): Find = %q, want nil", tc.prune, *p)
		}
	}
	if !tree.Empty() {
		t.Errorf("tree not empty after pruning every leaf: %+v", tree.root)
	}
}

func TestTreeWalk(t *testing.T) {
	in := []string{"b/+", "#", "a", "a/#", "+", "/", "$SYS/#", "b/c/d", "a/#/b", ""}
	tree := newTree(in...)
	var got []string
	tree.Walk(func(f string) { got = append(got, f) })
	slices.Sort(got)
	want := slices.Sorted(slices.Values(in))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

// benchTopics are matched against benchTree, each by want filters.
var benchTopics = []struct {
	name, topic string
	want        int
}{
	{"device", "site3/dev42/state", 3},
	{"alarm", "site7/dev5/alarm/fire", 3},
	{"dollar", "$SYS/broker/load", 0},
	{"other", "other", 1},
}

// benchTree returns a tree of a thousand filters of devices on sites, and
// a few with wildcards across them.
func benchTree() *Tree[string] {
	filters := []string{"+/+/alarm/#", "site7/#", "#"}
	for site := range 10 {
		filters = append(filters, fmt.Sprintf("site%d/+/state", site))
		for dev := range 100 {
			filters = append(filters, fmt.Sprintf("site%d/dev%d/state", site, dev))
		}
	}
	return newTree(filters...)
}

// TestTreeMatchAllocs checks that Match allocates nothing, its callback
// included: fn does not escape.
func TestTreeMatchAllocs(t *testing.T) {
	tree := benchTree()
	for _, tc := range benchTopics {
		n := 0
		allocs := testing.AllocsPerRun(100, func() {
			n = 0
			tree.Match(tc.topic, func(string) { n++ })
		})
		if allocs != 0 {
			t.Errorf("Match(%q): %v allocs, want 0", tc.topic, allocs)
		}
		if n != tc.want {
			t.Errorf("Match(%q): %d leaves, want %d", tc.topic, n, tc.want)
		}
	}
}

func BenchmarkTreeMatch(b *testing.B) {
	tree := benchTree()
	for _, tc := range benchTopics {
		b.Run(tc.name, func(b *testing.B) {
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				tree.Match(tc.topic, func(string) { n++ })
			}
			if n != tc.want*b.N {
				b.Fatalf("%d leaves for %d matches, want %d each", n, b.N, tc.want)
			}
		})
	}
}

// TestTreeChurn adds and prunes filters in a seeded random order, so that
// literal children move through a node's first slot and its map in every
// order, and checks after each step that Find and Match agree with the
// set of filters held, that Bytes counts the nodes there are, and that
// the tree ends empty.
func TestTreeChurn(t *testing.T) {
	var filters []string
	for _, f := range combine([]string{"a", "b", "c", "+"}, 3) {
		filters = append(filters, f, f+"/#")
	}
	topics := combine([]string{"a", "b", "c"}, 3)
	rng := rand.New(rand.NewPCG(1, 2))
	var tree Tree[string]
	held := map[string]bool{}
	check := func(step int) {
		t.Helper()
		if n := countNodes(&tree.root); tree.Bytes() != int64(n)*NodeBytes[string]() {
			t.Fatalf("step %d: Bytes %d, want %d nodes of %d", step, tree.Bytes(), n, NodeBytes[string]())
		}
		for _, f := range filters {
			if p := tree.Find(f); (p != nil) != held[f] {
				t.Fatalf("step %d: Find(%q) = %v, held %v", step, f, p, held[f])
			}
		}
		for _, topic := range topics {
			var want []string
			for f := range held {
				if refMatch(f, topic) {
					want = append(want, f)
				}
			}
			slices.Sort(want)
			if diff := cmp.Diff(want, matched(&tree, topic)); diff != "" {
				t.Fatalf("step %d: topic %q (-want +got):\n%s", step, topic, diff)
			}
		}
	}
	for step := range 2000 {
		f := filters[rng.IntN(len(filters))]
		if held[f] {
			*tree.Find(f) = ""
			tree.Prune(f, isEmpty)
			delete(held, f)
		} else {
			*tree.Leaf(f) = f
			held[f] = true
		}
		if step%50 == 0 {
			check(step)
		}
	}
	check(2000)
	for f := range held {
		*tree.Find(f) = ""
		tree.Prune(f, isEmpty)
	}
	if !tree.Empty() || tree.Bytes() != 0 {
		t.Errorf("tree not empty after pruning every leaf (Bytes %d): %+v", tree.Bytes(), tree.root)
	}
}

// countNodes counts the nodes below n.
func countNodes[L any](n *node[L]) int {
	count := 0
	for _, c := range []*node[L]{n.first, n.plus, n.hash} {
		if c != nil {
			count += 1 + countNodes(c)
		}
	}
	for _, c := range n.more {
		count += 1 + countNodes(c)
	}
	return count
}
