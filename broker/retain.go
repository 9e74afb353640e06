package broker

import (
	"strings"
	"sync"
)

// retainStore holds the retained message of each topic (section 3.3.1.3)
// in a trie of topic levels, so that a new subscription finds the messages
// its filter matches without scanning them all. It is safe for concurrent
// use.
type retainStore struct {
	mu    sync.RWMutex // guards root and count
	root  rnode
	count int
}

type rnode struct {
	children map[string]*rnode
	msg      *message
}

// set stores m as the retained message of its topic, replacing the one
// before [MQTT-3.3.1-5]; a message with an empty payload deletes it instead
// and is never kept [MQTT-3.3.1-10] [MQTT-3.3.1-11].
func (r *retainStore) set(m *message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(m.payload) == 0 {
		if r.root.remove(m.topic) {
			r.count--
		}
		return
	}
	n := &r.root
	for rest, last := m.topic, false; !last; {
		var level string
		level, rest, last = cutLevel(rest)
		c := n.children[level]
		if c == nil {
			if n.children == nil {
				n.children = make(map[string]*rnode)
			}
			c = new(rnode)
			n.children[level] = c
		}
		n = c
	}
	if n.msg == nil {
		r.count++
	}
	n.msg = m
}

// remove deletes the message of topic from the subtree under n, pruning
// emptied nodes, and reports whether there was one.
func (n *rnode) remove(topic string) bool {
	level, rest, last := cutLevel(topic)
	c := n.children[level]
	if c == nil {
		return false
	}
	if last {
		if c.msg == nil {
			return false
		}
		c.msg = nil
	} else if !c.remove(rest) {
		return false
	}
	if c.msg == nil && len(c.children) == 0 {
		delete(n.children, level)
	}
	return true
}

// len returns the number of retained messages.
func (r *retainStore) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.count
}

// match returns the retained messages whose topics filter matches
// [MQTT-3.3.1-6], the $-rule included [MQTT-4.7.2-1].
func (r *retainStore) match(filter string) []*message {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.root.match(filter, true, nil)
}

// match appends the messages at or below n that the filter levels in
// filter match; root reports that n is the root, where wildcards skip
// topics starting with '$'.
func (n *rnode) match(filter string, root bool, ms []*message) []*message {
	level, rest, last := cutLevel(filter)
	switch {
	case level == "#" && last:
		if !root && n.msg != nil {
			ms = append(ms, n.msg) // "a/#" matches "a"
		}
		for l, c := range n.children {
			if !root || !strings.HasPrefix(l, "$") {
				ms = c.all(ms)
			}
		}
	case level == "+":
		for l, c := range n.children {
			if root && strings.HasPrefix(l, "$") {
				continue
			}
			ms = c.matchNext(rest, last, ms)
		}
	default:
		if c := n.children[level]; c != nil {
			ms = c.matchNext(rest, last, ms)
		}
	}
	return ms
}

// matchNext goes on matching under n, which matched a filter level; last
// reports that it was the filter's last level.
func (n *rnode) matchNext(rest string, last bool, ms []*message) []*message {
	if last {
		if n.msg != nil {
			ms = append(ms, n.msg)
		}
		return ms
	}
	return n.match(rest, false, ms)
}

// all appends every message at or below n.
func (n *rnode) all(ms []*message) []*message {
	if n.msg != nil {
		ms = append(ms, n.msg)
	}
	for _, c := range n.children {
		ms = c.all(ms)
	}
	return ms
}

// snapshot returns every retained message.
func (r *retainStore) snapshot() []*message {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.root.all(nil)
}
