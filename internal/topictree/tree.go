package topictree

import (
	"strings"
	"unsafe"
)

// Tree is a trie of topic filter levels whose nodes may hold a leaf of
// type L, the caller's state for the filter that ends there.
//
// The zero value is an empty tree. A Tree must not be copied after first
// use.
type Tree[L any] struct {
	root  node[L]
	nodes int // below root
}

// node is one filter level. leaf, if set, belongs to the filter that ends
// at this level; the filters that go on are below its literal children,
// plus (a '+' level) and hash (a last '#' level, which has no children).
//
// A literal child is held in first, with its level in firstLevel, if
// first is free when it is made, else in more. Most nodes have one child
// (each level of "devices/d42/cmd" below a shared prefix): they need no
// map, a few hundred bytes less per level.
type node[L any] struct {
	firstLevel string
	first      *node[L]
	more       map[string]*node[L]
	plus       *node[L]
	hash       *node[L]
	leaf       L
	set        bool // leaf was made by Leaf and not pruned
}

// cutLevel splits the first level off s; last reports that s held no '/'.
func cutLevel(s string) (level, rest string, last bool) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return s, "", true
	}
	return s[:i], s[i+1:], false
}

// Leaf returns the leaf of filter, making it, with the zero value of L, and
// the nodes that lead to it if need be. The pointer stays valid until
// [Tree.Prune] removes the leaf.
func (t *Tree[L]) Leaf(filter string) *L {
	n := &t.root
	for rest, last := filter, false; !last; {
		var level string
		level, rest, last = cutLevel(rest)
		c := n.child(level, last, false)
		if c == nil {
			c = n.child(level, last, true)
			t.nodes++
		}
		n = c
	}
	n.set = true
	return &n.leaf
}

// Find returns the leaf of filter, or nil if it has none.
func (t *Tree[L]) Find(filter string) *L {
	n := &t.root
	for rest, last := filter, false; !last; {
		var level string
		level, rest, last = cutLevel(rest)
		if n = n.child(level, last, false); n == nil {
			return nil
		}
	}
	if !n.set {
		return nil
	}
	return &n.leaf
}

// Prune removes the leaf of filter if empty reports it empty, and then the
// nodes that lead to it and hold neither a leaf nor other filters. The
// caller prunes a filter after emptying its leaf.
func (t *Tree[L]) Prune(filter string, empty func(L) bool) {
	t.nodes -= t.root.prune(filter, empty)
}

// Bytes is about the memory t's nodes take: one node per level of each
// filter, less the levels filters share, NodeBytes each. It is what a
// bound on a tree's memory counts beside the leaves'.
func (t *Tree[L]) Bytes() int64 { return int64(t.nodes) * NodeBytes[L]() }

// NodeBytes is about what one level of a filter costs in a Tree[L], if no
// other filter shares it: the node, and the map entry of a parent with
// many children.
func NodeBytes[L any]() int64 { return int64(unsafe.Sizeof(node[L]{})) + mapEntryBytes }

// mapEntryBytes is about what a map entry of a level and a node pointer
// costs: the key's string header, the pointer, and the map's slack.
const mapEntryBytes = 40

// Empty reports whether t holds no leaves and no nodes.
func (t *Tree[L]) Empty() bool {
	return t.root.bare()
}

// Match calls fn with the leaf of every filter that matches topic, once
// each, in no particular order. fn must not change t. Match does not
// allocate, and fn does not escape.
func (t *Tree[L]) Match(topic string, fn func(L)) {
	if !strings.HasPrefix(topic, "$") {
		t.root.match(topic, false, fn)
		return
	}
	// Filters starting with a wildcard do not match $-topics
	// [MQTT-4.7.2-1]: only the root's literal children are walked.
	level, rest, last := cutLevel(topic)
	if c := t.root.literal(level); c != nil {
		c.match(rest, last, fn)
	}
}

// Scan calls fn with the leaf of every filter of t that filter matches
// as if that filter were a topic name, in no particular order, until fn
// returns false. It serves a tree of topic names, which hold no wildcard:
// the topics a subscription's filter matches, by the rules of section 4.7,
// the $-rule included [MQTT-4.7.2-1]. fn must not change t.
func (t *Tree[L]) Scan(filter string, fn func(L) bool) {
	t.root.scan(filter, true, fn)
}

// Walk calls fn with every leaf of t, in no particular order. fn must not
// change t.
func (t *Tree[L]) Walk(fn func(L)) {
	t.root.walk(fn)
}

// child returns n's child for a filter level, creating it if create is
// set, or nil. '#' is a wildcard only as the last level [MQTT-4.7.1-2].
func (n *node[L]) child(level string, last, create bool) *node[L] {
	switch {
	case level == "#" && last:
		if n.hash == nil && create {
			n.hash = new(node[L])
		}
		return n.hash
	case level == "+":
		if n.plus == nil && create {
			n.plus = new(node[L])
		}
		return n.plus
	}
	c := n.literal(level)
	if c == nil && create {
		c = new(node[L])
		switch {
		case n.first == nil:
			n.firstLevel, n.first = level, c
		case n.more == nil:
			n.more = map[string]*node[L]{level: c}
		default:
			n.more[level] = c
		}
	}
	return c
}

// literal returns n's child for a literal level, or nil.
func (n *node[L]) literal(level string) *node[L] {
	if n.first != nil && n.firstLevel == level {
		return n.first
	}
	return n.more[level]
}

// dropChild removes n's child for a filter level.
func (n *node[L]) dropChild(level string, last bool) {
	switch {
	case level == "#" && last:
		n.hash = nil
	case level == "+":
		n.plus = nil
	case n.first != nil && n.firstLevel == level:
		n.firstLevel, n.first = "", nil
	default:
		delete(n.more, level)
		if len(n.more) == 0 {
			n.more = nil
		}
	}
}

// bare reports whether n holds no leaf and no children.
func (n *node[L]) bare() bool {
	return !n.set && n.first == nil && len(n.more) == 0 && n.plus == nil && n.hash == nil
}

// prune removes the leaf that filter, the levels left to walk below n,
// leads to if empty says so, and the children of n this leaves bare. It
// returns the number of nodes removed.
func (n *node[L]) prune(filter string, empty func(L) bool) (removed int) {
	level, rest, last := cutLevel(filter)
	c := n.child(level, last, false)
	if c == nil {
		return 0
	}
	if !last {
		removed = c.prune(rest, empty)
	} else if c.set && empty(c.leaf) {
		var zero L
		c.leaf, c.set = zero, false
	}
	if c.bare() {
		n.dropChild(level, last)
		removed++
	}
	return removed
}

// match calls fn with the leaves at or below n that match rest, the topic
// levels left after n's; end reports that none are left. A last '#'
// matches its parent level too: "a/#" matches "a" (section 4.7.1.2). '+'
// matches one level, even an empty one (section 4.7.1.3). Levels are
// compared byte for byte [MQTT-4.7.3-4].
func (n *node[L]) match(rest string, end bool, fn func(L)) {
	if h := n.hash; h != nil && h.set {
		fn(h.leaf)
	}
	if end {
		if n.set {
			fn(n.leaf)
		}
		return
	}
	level, rest, last := cutLevel(rest)
	if c := n.literal(level); c != nil {
		c.match(rest, last, fn)
	}
	if n.plus != nil {
		n.plus.match(rest, last, fn)
	}
}

// scan calls fn with the leaves at or below n whose levels the filter
// levels in filter match; root reports that n is the root, where
// wildcards skip levels starting with '$'. It reports false if fn stopped
// it.
func (n *node[L]) scan(filter string, root bool, fn func(L) bool) bool {
	level, rest, last := cutLevel(filter)
	switch {
	case level == "#" && last:
		if !root && n.set && !fn(n.leaf) { // "a/#" matches "a"
			return false
		}
		return n.literals(func(l string, c *node[L]) bool {
			return root && strings.HasPrefix(l, "$") || c.all(fn)
		})
	case level == "+":
		return n.literals(func(l string, c *node[L]) bool {
			return root && strings.HasPrefix(l, "$") || c.scanNext(rest, last, fn)
		})
	}
	if c := n.literal(level); c != nil {
		return c.scanNext(rest, last, fn)
	}
	return true
}

// scanNext goes on scanning at n, which matched a filter level; last
// reports that it was the filter's last.
func (n *node[L]) scanNext(rest string, last bool, fn func(L) bool) bool {
	if last {
		return !n.set || fn(n.leaf)
	}
	return n.scan(rest, false, fn)
}

// all calls fn with the leaves at and below n until it returns false, and
// reports false if it did.
func (n *node[L]) all(fn func(L) bool) bool {
	if n.set && !fn(n.leaf) {
		return false
	}
	return n.literals(func(_ string, c *node[L]) bool { return c.all(fn) })
}

// literals calls f with each literal child of n and its level until f
// returns false, and reports false if it did.
func (n *node[L]) literals(f func(string, *node[L]) bool) bool {
	if n.first != nil && !f(n.firstLevel, n.first) {
		return false
	}
	for l, c := range n.more {
		if !f(l, c) {
			return false
		}
	}
	return true
}

// walk calls fn with the leaves at and below n.
func (n *node[L]) walk(fn func(L)) {
	if n.set {
		fn(n.leaf)
	}
	for _, c := range n.more {
		c.walk(fn)
	}
	for _, c := range [...]*node[L]{n.first, n.plus, n.hash} {
		if c != nil {
			c.walk(fn)
		}
	}
}

// Matches reports whether filter matches topic by the rules of section
// 4.7, the $-rule [MQTT-4.7.2-1] included: the rule of [Tree.Match] for
// one filter, without a tree.
func Matches(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		f, frest, flast := cutLevel(filter)
		if f == "#" && flast {
			return true
		}
		t, trest, tlast := cutLevel(topic)
		if f != "+" && f != t {
			return false
		}
		if flast || tlast {
			// "a/#" matches "a": the filter goes on with a last '#'.
			return flast && tlast || tlast && frest == "#"
		}
		filter, topic = frest, trest
	}
}
