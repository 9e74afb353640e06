package session

import (
	"slices"
	"strings"
	"sync"
)

// router is the client's subscription table: a trie of topic levels that
// maps each topic filter to its handler and finds the handlers of a topic
// name by the matching rules of section 4.7.
//
// A filter is stored under its full string, which is also the key of add
// and remove and what filters returns. A shared subscription
// "$share/<group>/<filter>" matches by <filter> (see splitShared), so the
// node of a filter may hold several subscriptions: the filter itself and
// the shared subscriptions of several groups to it.
//
// The router trusts its caller to have checked each filter with
// packet.ValidateTopicFilter and splitShared; a malformed filter is stored
// and matched as best it can be ('#' other than as the last level is an
// ordinary level), never with a panic.
//
// The zero value is an empty table. A router is safe for concurrent use;
// it must not be copied after first use.
type router struct {
	mu    sync.RWMutex // guards root and count
	root  node
	count int // subscriptions in the table
}

// node is one topic level of the trie. The subscriptions whose filters end
// at this level are in subs; the filters that go on are below children
// (one per literal level), plus (a '+' level) and hash (a last '#' level,
// which holds only subs).
type node struct {
	children map[string]*node
	plus     *node
	hash     *node
	subs     []subscription
}

// subscription is one entry of the table.
type subscription struct {
	filter string // the full filter, "$share/..." included
	h      Handler
}

// maxInline is how many handlers match collects without allocating;
// beyond it, the slice of matching handlers grows on the heap.
const maxInline = 16

// sharePrefix starts the filter of a shared subscription.
const sharePrefix = "$share/"

// splitShared splits a shared subscription "$share/<group>/<filter>" into
// its group name and the filter it matches by. For any other filter it
// returns an empty group, match equal to filter and ok true.
//
// It reports ok false for a malformed shared subscription, which the
// caller refuses: no "/" after the group, an empty group or filter, or a
// group holding '+' or '#'. Shared subscriptions are not part of MQTT
// 3.1.1; these are the rules of MQTT 5 (section 4.8.2), which brokers that
// offer them to 3.1.1 clients follow.
func splitShared(filter string) (group, match string, ok bool) {
	rest, shared := strings.CutPrefix(filter, sharePrefix)
	if !shared {
		return "", filter, true
	}
	group, match, found := strings.Cut(rest, "/")
	if !found || group == "" || match == "" || strings.ContainsAny(group, "+#") {
		return "", "", false
	}
	return group, match, true
}

// matchFilter returns the part of filter that topics are matched against.
func matchFilter(filter string) string {
	if _, m, ok := splitShared(filter); ok {
		return m
	}
	return filter
}

// cutLevel splits the first level off s. last reports that it was the
// last level: s held no '/'.
func cutLevel(s string) (level, rest string, last bool) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return s, "", true
	}
	return s[:i], s[i+1:], false
}

// add subscribes h to filter, replacing the handler of an identical
// filter.
func (r *router) add(filter string, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := &r.root
	for rest, last := matchFilter(filter), false; !last; {
		var level string
		level, rest, last = cutLevel(rest)
		n = n.child(level, last, true)
	}
	for i := range n.subs {
		if n.subs[i].filter == filter {
			n.subs[i].h = h
			return
		}
	}
	n.subs = append(n.subs, subscription{filter: filter, h: h})
	r.count++
}

// remove removes the subscription to filter and reports whether there was
// one. Other filters that match the same topics are left alone.
func (r *router) remove(filter string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.root.remove(matchFilter(filter), filter) {
		return false
	}
	r.count--
	return true
}

// match calls fn with the handler of every subscription whose filter
// matches topic, once per subscription, in no particular order. fn is
// called without the router's lock held, so it may add and remove
// subscriptions; those changes do not affect the handlers of this call.
//
// match does not allocate unless more than maxInline subscriptions match.
func (r *router) match(topic string, fn func(Handler)) {
	var buf [maxInline]Handler
	r.mu.RLock()
	hs := r.root.matchRoot(topic, buf[:0])
	r.mu.RUnlock()
	for _, h := range hs {
		fn(h)
	}
}

// filters returns every filter in the table, sorted.
func (r *router) filters() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fs := make([]string, 0, r.count)
	fs = r.root.appendFilters(fs)
	slices.Sort(fs)
	return fs
}

// len returns the number of subscriptions in the table.
func (r *router) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.count
}

// child returns n's child for a filter level, creating it if create is
// set, or nil. '#' is a wildcard only as the last level [MQTT-4.7.1-2].
func (n *node) child(level string, last, create bool) *node {
	switch {
	case level == "#" && last:
		if n.hash == nil && create {
			n.hash = new(node)
		}
		return n.hash
	case level == "+":
		if n.plus == nil && create {
			n.plus = new(node)
		}
		return n.plus
	}
	c := n.children[level]
	if c == nil && create {
		if n.children == nil {
			n.children = make(map[string]*node)
		}
		c = new(node)
		n.children[level] = c
	}
	return c
}

// dropChild removes n's child for a filter level.
func (n *node) dropChild(level string, last bool) {
	switch {
	case level == "#" && last:
		n.hash = nil
	case level == "+":
		n.plus = nil
	default:
		delete(n.children, level)
		if len(n.children) == 0 {
			n.children = nil
		}
	}
}

// empty reports whether n holds no subscriptions and no children.
func (n *node) empty() bool {
	return len(n.subs) == 0 && len(n.children) == 0 && n.plus == nil && n.hash == nil
}

// remove removes the subscription to filter from the node that rest, the
// levels of its match filter still to walk, leads to, and prunes the nodes
// that this leaves empty.
func (n *node) remove(rest, filter string) bool {
	level, rest, last := cutLevel(rest)
	c := n.child(level, last, false)
	if c == nil {
		return false
	}
	if last {
		i := slices.IndexFunc(c.subs, func(s subscription) bool { return s.filter == filter })
		if i < 0 {
			return false
		}
		c.subs = slices.Delete(c.subs, i, i+1)
	} else if !c.remove(rest, filter) {
		return false
	}
	if c.empty() {
		n.dropChild(level, last)
	}
	return true
}

// matchRoot appends to hs the handlers that match topic. A filter that
// starts with a wildcard does not match a topic that starts with '$'
// [MQTT-4.7.2-1].
func (n *node) matchRoot(topic string, hs []Handler) []Handler {
	if !strings.HasPrefix(topic, "$") {
		return n.match(topic, false, hs)
	}
	level, rest, last := cutLevel(topic)
	if c := n.children[level]; c != nil {
		hs = c.match(rest, last, hs)
	}
	return hs
}

// match appends to hs the handlers at or below n that match rest, the
// levels of the topic that n's level did not consume; end reports that
// there are none left. "a/#" matches "a" as well as "a/b" [section
// 4.7.1.2]; '+' matches one level, even an empty one [section 4.7.1.3].
// Levels are compared byte for byte [MQTT-4.7.3-4].
func (n *node) match(rest string, end bool, hs []Handler) []Handler {
	if n.hash != nil {
		hs = appendHandlers(hs, n.hash.subs)
	}
	if end {
		return appendHandlers(hs, n.subs)
	}
	level, rest, last := cutLevel(rest)
	if c := n.children[level]; c != nil {
		hs = c.match(rest, last, hs)
	}
	if n.plus != nil {
		hs = n.plus.match(rest, last, hs)
	}
	return hs
}

func appendHandlers(hs []Handler, subs []subscription) []Handler {
	for i := range subs {
		hs = append(hs, subs[i].h)
	}
	return hs
}

// appendFilters appends the filters of the subscriptions at and below n.
func (n *node) appendFilters(fs []string) []string {
	for _, s := range n.subs {
		fs = append(fs, s.filter)
	}
	for _, c := range n.children {
		fs = c.appendFilters(fs)
	}
	for _, c := range [...]*node{n.plus, n.hash} {
		if c != nil {
			fs = c.appendFilters(fs)
		}
	}
	return fs
}
