package broker

import (
	"strings"
	"sync"

	"github.com/petrel-mqtt/petrel/packet"
)

// index is the broker's subscription table: a trie of topic filter levels,
// built like the client's router (session/router.go), whose leaves hold the
// sessions subscribed to each filter with the QoS granted to them.
//
// Filters are validated by the codec before they get here; a '#' that is
// not the last level is stored as an ordinary level, never with a panic.
// An index is safe for concurrent use.
type index struct {
	mu    sync.RWMutex // guards root and count
	root  inode
	count int // subscriptions in the table
}

// inode is one filter level. subs holds the sessions whose filter ends at
// this level; children, plus ('+') and hash (a last '#') go on.
type inode struct {
	children map[string]*inode
	plus     *inode
	hash     *inode
	subs     map[*session]packet.QoS
}

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
	n := &x.root
	for rest, last := filter, false; !last; {
		var level string
		level, rest, last = cutLevel(rest)
		n = n.child(level, last, true)
	}
	if n.subs == nil {
		n.subs = make(map[*session]packet.QoS)
	}
	_, replaced := n.subs[s]
	n.subs[s] = q
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
	if !x.root.remove(filter, s) {
		return false
	}
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
// topic, at the highest QoS granted to its matching subscriptions
// [MQTT-3.3.5-1]: a client with overlapping subscriptions gets the message
// once.
func (x *index) match(topic string, ts []target) []target {
	x.mu.RLock()
	start := len(ts)
	if !strings.HasPrefix(topic, "$") {
		ts = x.root.match(topic, false, ts)
	} else {
		// Filters starting with a wildcard do not match $-topics
		// [MQTT-4.7.2-1].
		level, rest, last := cutLevel(topic)
		if c := x.root.children[level]; c != nil {
			ts = c.match(rest, last, ts)
		}
	}
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

func (n *inode) child(level string, last, create bool) *inode {
	switch {
	case level == "#" && last:
		if n.hash == nil && create {
			n.hash = new(inode)
		}
		return n.hash
	case level == "+":
		if n.plus == nil && create {
			n.plus = new(inode)
		}
		return n.plus
	}
	c := n.children[level]
	if c == nil && create {
		if n.children == nil {
			n.children = make(map[string]*inode)
		}
		c = new(inode)
		n.children[level] = c
	}
	return c
}

func (n *inode) dropChild(level string, last bool) {
	switch {
	case level == "#" && last:
		n.hash = nil
	case level == "+":
		n.plus = nil
	default:
		delete(n.children, level)
	}
}

func (n *inode) empty() bool {
	return len(n.subs) == 0 && len(n.children) == 0 && n.plus == nil && n.hash == nil
}

// remove removes s from the node rest leads to, pruning emptied nodes.
func (n *inode) remove(rest string, s *session) bool {
	level, rest, last := cutLevel(rest)
	c := n.child(level, last, false)
	if c == nil {
		return false
	}
	if last {
		if _, ok := c.subs[s]; !ok {
			return false
		}
		delete(c.subs, s)
	} else if !c.remove(rest, s) {
		return false
	}
	if c.empty() {
		n.dropChild(level, last)
	}
	return true
}

// match appends the subscriptions at or below n that match rest, the
// topic levels left; end reports that none are left. "a/#" matches "a"
// (section 4.7.1.2); '+' matches one level, even an empty one. Levels are
// compared byte for byte [MQTT-4.7.3-4].
func (n *inode) match(rest string, end bool, ts []target) []target {
	if n.hash != nil {
		ts = appendTargets(ts, n.hash.subs)
	}
	if end {
		return appendTargets(ts, n.subs)
	}
	level, rest, last := cutLevel(rest)
	if c := n.children[level]; c != nil {
		ts = c.match(rest, last, ts)
	}
	if n.plus != nil {
		ts = n.plus.match(rest, last, ts)
	}
	return ts
}

func appendTargets(ts []target, subs map[*session]packet.QoS) []target {
	for s, q := range subs {
		ts = append(ts, target{s, q})
	}
	return ts
}

// matchTopic reports whether filter matches topic by the rules of section
// 4.7, the $-rule [MQTT-4.7.2-1] included.
func matchTopic(filter, topic string) bool {
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
