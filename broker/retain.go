package broker

import (
	"sync"

	"github.com/petrel-mqtt/petrel/internal/topictree"
)

// retainStore holds the retained message of each topic (section 3.3.1.3)
// in a topictree.Tree of topic names, the tree of the subscription index,
// so that a new subscription finds the messages its filter matches
// (Tree.Scan) without scanning them all. It is safe for concurrent use.
type retainStore struct {
	mu    sync.RWMutex // guards tree, count and bytes
	tree  topictree.Tree[*message]
	count int
	bytes int64 // the messages' cost, as retainedCost counts it
	// max bounds bytes (Config.MaxRetainedBytes); zero means no bound.
	max int64
	// onSet, if set before use, is called with each message set (stored,
	// or deleting with an empty payload), with mu held: the broker's
	// store records it.
	onSet func(*message)
}

// retainedCost is what a retained message counts against
// Config.MaxRetainedBytes beside the nodes of its topic's levels in the
// tree (topictree.Tree.Bytes): its topic, its payload and
// messageOverhead.
func retainedCost(m *message) int64 {
	return int64(len(m.topic)+len(m.payload)) + messageOverhead
}

// set stores m as the retained message of its topic, replacing the one
// before [MQTT-3.3.1-5]; a message with an empty payload deletes it instead
// and is never kept [MQTT-3.3.1-10] [MQTT-3.3.1-11]. It reports false,
// storing nothing and leaving the message before in place, if m would
// take the store above its bound (Config.MaxRetainedBytes): the messages'
// cost and the tree's nodes, of which a topic of many levels new to the
// tree makes many.
func (r *retainStore) set(m *message) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	var old int64
	p := r.tree.Find(m.topic)
	if p != nil && *p != nil {
		old = retainedCost(*p)
	}
	if len(m.payload) > 0 && r.max > 0 && retainedCost(m) > old {
		made := p == nil
		if made {
			p = r.tree.Leaf(m.topic) // its nodes count
		}
		if r.bytes-old+retainedCost(m)+r.tree.Bytes() > r.max {
			if made {
				r.tree.Prune(m.topic, isNilMessage)
			}
			return false
		}
	}
	if r.onSet != nil {
		r.onSet(m)
	}
	if len(m.payload) == 0 {
		if p != nil && *p != nil {
			*p = nil
			r.tree.Prune(m.topic, isNilMessage)
			r.count--
			r.bytes -= old
		}
		return true
	}
	if p == nil {
		p = r.tree.Leaf(m.topic)
	}
	if *p == nil {
		r.count++
	}
	*p = m
	r.bytes += retainedCost(m) - old
	return true
}

func isNilMessage(m *message) bool { return m == nil }

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
	r.tree.Scan(filter, func(m *message) bool {
		if m != nil {
			ms = append(ms, m)
		}
		return len(ms) <= limit
	})
	if len(ms) > limit {
		return ms[:limit], true
	}
	return ms, false
}

// snapshot returns every retained message.
func (r *retainStore) snapshot() []*message {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ms := make([]*message, 0, r.count)
	r.tree.Walk(func(m *message) {
		if m != nil {
			ms = append(ms, m)
		}
	})
	return ms
}
