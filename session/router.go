package session

import (
	"slices"
	"strings"
	"sync"

	"github.com/petrel-mqtt/petrel/internal/topictree"
)

// router is the client's subscription table: a topictree.Tree of topic
// filters, the one the broker's index is built on too, that maps each
// filter to its handler and finds the handlers of a topic name by the
// matching rules of section 4.7.
//
// A filter is stored under its full string, which is also the key of add
// and remove and what filters returns. A shared subscription
// "$share/<group>/<filter>" matches by <filter> (see splitShared), so the
// leaf of a filter may hold several subscriptions: the filter itself and
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
	mu    sync.RWMutex // guards tree and count
	tree  topictree.Tree[[]subscription]
	count int // subscriptions in the table
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

// add subscribes h to filter, replacing the handler of an identical
// filter.
func (r *router) add(filter string, h Handler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	subs := r.tree.Leaf(matchFilter(filter))
	for i := range *subs {
		if (*subs)[i].filter == filter {
			(*subs)[i].h = h
			return
		}
	}
	*subs = append(*subs, subscription{filter: filter, h: h})
	r.count++
}

// remove removes the subscription to filter and reports whether there was
// one. Other filters that match the same topics are left alone.
func (r *router) remove(filter string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := matchFilter(filter)
	subs := r.tree.Find(m)
	if subs == nil {
		return false
	}
	i := slices.IndexFunc(*subs, func(s subscription) bool { return s.filter == filter })
	if i < 0 {
		return false
	}
	*subs = slices.Delete(*subs, i, i+1)
	r.tree.Prune(m, func(subs []subscription) bool { return len(subs) == 0 })
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
	hs := buf[:0]
	r.mu.RLock()
	r.tree.Match(topic, func(subs []subscription) {
		for i := range subs {
			hs = append(hs, subs[i].h)
		}
	})
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
	r.tree.Walk(func(subs []subscription) {
		for _, s := range subs {
			fs = append(fs, s.filter)
		}
	})
	slices.Sort(fs)
	return fs
}

// len returns the number of subscriptions in the table.
func (r *router) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.count
}
