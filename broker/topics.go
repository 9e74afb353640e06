package broker

import (
	"strings"
	"sync"

	"github.com/petrel-mqtt/petrel/internal/topictree"
	"github.com/petrel-mqtt/petrel/packet"
)

// index is the broker's subscription table: a topictree.Tree of topic
// filters, the one the client's router is built on too, whose leaves hold
// the sessions subscribed to each filter with the QoS granted to them.
//
// Filters are validated by the codec before they get here; a '#' that is
// not the last level is stored as an ordinary level, never with a panic.
// An index is safe for concurrent use.
type index struct {
	mu    sync.RWMutex // guards tree and count
	tree  topictree.Tree[subscribers]
	count int // subscriptions in the table
}

// subscribers are the sessions subscribed to one filter, with the QoS
// granted to each: the first in one, with its QoS in oneQoS, if one is
// free when it subscribes, the others in more. Most filters have one
// subscriber (a client's own "devices/d42/cmd/#"), and need no map.
type subscribers struct {
	one    *session
	oneQoS packet.QoS
	more   map[*session]packet.QoS
	groups []*shareGroup // the shared subscriptions to the filter
}

// set subscribes s at QoS q and reports whether it replaced the QoS of a
// subscription s had.
func (x *subscribers) set(s *session, q packet.QoS) bool {
	if x.one == s {
		x.oneQoS = q
		return true
	}
	if _, ok := x.more[s]; ok {
		x.more[s] = q
		return true
	}
	switch {
	case x.one == nil:
		x.one, x.oneQoS = s, q
	case x.more == nil:
		x.more = map[*session]packet.QoS{s: q}
	default:
		x.more[s] = q
	}
	return false
}

// drop removes the subscription of s and reports whether there was one.
func (x *subscribers) drop(s *session) bool {
	if x.one == s {
		x.one, x.oneQoS = nil, 0
		return true
	}
	if _, ok := x.more[s]; !ok {
		return false
	}
	delete(x.more, s)
	if len(x.more) == 0 {
		x.more = nil
	}
	return true
}

// empty reports whether no session is subscribed.
func (x subscribers) empty() bool { return x.one == nil && len(x.more) == 0 && len(x.groups) == 0 }

// target is a session a message goes to and the highest QoS granted to it
// by its matching subscriptions.
type target struct {
	s   *session
	qos packet.QoS
}

// cutLevel splits the first level off s; last reports that s held no '/'.
func cutLevel(s string) (level, rest string, last bool) {
	i := strings.IndexByte(s, '/')
	if i < 0 {
		return s, "", true
	}
	return s[:i], s[i+1:], false
}

// add subscribes s to filter with QoS q, replacing the QoS of an identical
// filter of the same session [MQTT-3.8.4-3]. It reports whether it did
// replace one.
func (x *index) add(filter string, s *session, q packet.QoS) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	var replaced bool
	if name, f, ok := sharedFilter(filter); ok {
		replaced = x.tree.Leaf(f).join(name, s, q)
	} else {
		replaced = x.tree.Leaf(filter).set(s, q)
	}
	if !replaced {
		x.count++
	}
	return replaced
}

// remove removes the subscription of s to exactly filter [MQTT-3.10.4-1]
// and reports whether there was one.
func (x *index) remove(filter string, s *session) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	name, f, shared := sharedFilter(filter)
	if !shared {
		f = filter
	}
	subs := x.tree.Find(f)
	if subs == nil || shared && !subs.leave(name, s) || !shared && !subs.drop(s) {
		return false
	}
	x.tree.Prune(f, subscribers.empty)
	x.count--
	return true
}

// len returns the number of subscriptions.
func (x *index) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.count
}

// match appends to ts one target per session with a subscription matching
// topic by the rules of section 4.7 (see topictree), at the highest QoS
// granted to its matching subscriptions [MQTT-3.3.5-1]: a client with
// overlapping subscriptions gets the message once.
func (x *index) match(topic string, ts []target) []target {
	start := len(ts)
	x.mu.RLock()
	x.tree.Match(topic, func(subs subscribers) {
		if subs.one != nil {
			ts = append(ts, target{subs.one, subs.oneQoS})
		}
		for s, q := range subs.more {
			ts = append(ts, target{s, q})
		}
		for _, g := range subs.groups {
			i := g.next.Add(1) - 1
			ts = append(ts, g.members[int(i%uint32(len(g.members)))])
		}
	})
	x.mu.RUnlock()
	return dedup(ts, start)
}

// dedup merges the targets of ts[start:] that name the same session,
// keeping the highest QoS, in place.
func dedup(ts []target, start int) []target {
	found := ts[start:]
	if len(found) < 2 {
		return ts
	}
	out := found[:0]
	if len(found) <= 16 {
		for _, t := range found {
			merged := false
			for i := range out {
				if out[i].s == t.s {
					out[i].qos = max(out[i].qos, t.qos)
					merged = true
					break
				}
			}
			if !merged {
				out = append(out, t)
			}
		}
		return ts[:start+len(out)]
	}
	at := make(map[*session]int, len(found))
	for _, t := range found {
		if i, ok := at[t.s]; ok {
			out[i].qos = max(out[i].qos, t.qos)
			continue
		}
		at[t.s] = len(out)
		out = append(out, t)
	}
	return ts[:start+len(out)]
}

// covers reports whether every topic that sub matches is also matched by
// acl, so that a client allowed acl may subscribe to sub.
func covers(acl, sub string) bool {
	if strings.HasPrefix(sub, "$") != strings.HasPrefix(acl, "$") &&
		(strings.HasPrefix(acl, "+") || strings.HasPrefix(acl, "#")) {
		return false // an ACL starting with a wildcard grants no $-topics
	}
	for {
		a, arest, alast := cutLevel(acl)
		if a == "#" && alast {
			return true
		}
		s, srest, slast := cutLevel(sub)
		switch {
		case s == "#" && slast:
			return false // only "#" covers "#"
		case a == "+":
		case s == "+" || a != s:
			return false
		}
		if alast || slast {
			// "a/#" covers "a" as it matches it.
			return alast && slast || slast && arest == "#"
		}
		acl, sub = arest, srest
	}
}
