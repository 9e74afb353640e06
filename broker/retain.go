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
	mu    sync.RWMutex // guards root, count and bytes
	root  rnode
	count int
	bytes int64 // the messages' cost, as retainedCost counts it
	// max bounds bytes (Config.MaxRetainedBytes); zero means no bound.
	max int64
	// onSet, if set before use, is called with each message set (stored,
	// or deleting with an empty payload), with mu held: the broker's
	// store records it.
	onSet func(*message)
}

type rnode struct {
	children map[string]*rnode
	msg      *message
}

// retainedCost is what a retained message counts against
// Config.MaxRetainedBytes: its topic, its payload and messageOverhead.
func retainedCost(m *message) int64 {
	return int64(len(m.topic)+len(m.payload)) + messageOverhead
}

// set stores m as the retained message of its topic, replacing the one
// before [MQTT-3.3.1-5]; a message with an empty payload deletes it instead
// and is never kept [MQTT-3.3.1-10] [MQTT-3.3.1-11]. It reports false,
// storing nothing and leaving the message before in place, if m would
// take the store above its bound (Config.MaxRetainedBytes).
func (r *retainStore) set(m *message) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	var old int64
	if o := r.root.find(m.topic); o != nil {
		old = retainedCost(o)
	}
	if len(m.payload) > 0 && r.max > 0 && r.bytes-old+retainedCost(m) > r.max && retainedCost(m) > old {
		return false
	}
	if r.onSet != nil {
		r.onSet(m)
	}
	if len(m.payload) == 0 {
		if r.root.remove(m.topic) {
			r.count--
			r.bytes -= old
		}
		return true
	}
	r.bytes += retainedCost(m) - old
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
	return true
}

// find returns the message of topic in the subtree under n, or nil.
func (n *rnode) find(topic string) *message {
	for rest, last := topic, false; !last && n != nil; {
		var level string
		level, rest, last = cutLevel(rest)
		n = n.children[level]
	}
	if n == nil {
		return nil
	}
	return n.msg
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
// [MQTT-3.3.1-6], the $-rule included [MQTT-4.7.2-1], at most limit of
// them; more reports that there were others. The walk stops at the
// limit, so a subscription costs no more than what it can receive.
func (r *retainStore) match(filter string, limit int) (ms []*message, more bool) {
	if limit <= 0 {
		return nil, r.len() > 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := collector{limit: limit + 1}
	c.match(&r.root, filter, true)
	if len(c.ms) > limit {
		return c.ms[:limit], true
	}
	return c.ms, false
}

// collector gathers matching messages, up to limit.
type collector struct {
	ms    []*message
	limit int
}

func (c *collector) full() bool { return len(c.ms) >= c.limit }

func (c *collector) add(m *message) {
	if m != nil && !c.full() {
		c.ms = append(c.ms, m)
	}
}

// match gathers the messages at or below n that the filter levels in
// filter match; root reports that n is the root, where wildcards skip
// topics starting with '$'.
func (c *collector) match(n *rnode, filter string, root bool) {
	level, rest, last := cutLevel(filter)
	switch {
	case level == "#" && last:
		if !root {
			c.add(n.msg) // "a/#" matches "a"
		}
		for l, ch := range n.children {
			if c.full() {
				return
			}
			if !root || !strings.HasPrefix(l, "$") {
				c.all(ch)
			}
		}
	case level == "+":
		for l, ch := range n.children {
			if c.full() {
				return
			}
			if root && strings.HasPrefix(l, "$") {
				continue
			}
			c.matchNext(ch, rest, last)
		}
	default:
		if ch := n.children[level]; ch != nil {
			c.matchNext(ch, rest, last)
		}
	}
}

// matchNext goes on matching under n, which matched a filter level; last
// reports that it was the filter's last level.
func (c *collector) matchNext(n *rnode, rest string, last bool) {
	if last {
		c.add(n.msg)
		return
	}
	c.match(n, rest, false)
}

// all gathers every message at or below n.
func (c *collector) all(n *rnode) {
	c.add(n.msg)
	for _, ch := range n.children {
		if c.full() {
			return
		}
		c.all(ch)
	}
}

// snapshot returns every retained message.
func (r *retainStore) snapshot() []*message {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c := collector{limit: r.count}
	c.all(&r.root)
	return c.ms
}
