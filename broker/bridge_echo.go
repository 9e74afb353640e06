package broker

import (
	"hash/maphash"
	"sync"
	"time"
)

// echoFilter recognises the bridge's own messages that a remote broker
// sends back. MQTT 3.1.1 has no "no local" subscription option: a remote
// broker that does not know bridges (try_private, Mosquitto's mark) sends
// the bridge every message of a "both" topic it subscribed to, its own
// included. The filter remembers what went out on such topics (a hash of
// topic and payload) for echoTTL, at most echoMax of them, and the first
// message to come in with the same hash is taken for the echo and dropped,
// once per message sent.
type echoFilter struct {
	seed maphash.Seed
	mu   sync.Mutex
	sent map[uint64]int // hash → messages sent with it, not yet back
	fifo []echoEntry    // the same, oldest first
}

type echoEntry struct {
	h  uint64
	at time.Time
}

const (
	echoTTL = time.Minute
	echoMax = 1 << 16
)

func newEchoFilter() *echoFilter {
	return &echoFilter{seed: maphash.MakeSeed(), sent: make(map[uint64]int)}
}

func (e *echoFilter) hash(topic string, payload []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(e.seed)
	h.WriteString(topic)
	h.WriteByte(0)
	h.Write(payload)
	return h.Sum64()
}

// add notes a message sent out.
func (e *echoFilter) add(topic string, payload []byte) {
	h := e.hash(topic, payload)
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expire(now)
	if len(e.fifo) >= echoMax {
		e.drop()
	}
	e.sent[h]++
	e.fifo = append(e.fifo, echoEntry{h, now})
}

// take reports whether a message that came in is the echo of one sent,
// and forgets that one.
func (e *echoFilter) take(topic string, payload []byte) bool {
	h := e.hash(topic, payload)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expire(time.Now())
	if e.sent[h] == 0 {
		return false
	}
	if e.sent[h]--; e.sent[h] == 0 {
		delete(e.sent, h)
	}
	// Its entry in fifo stays until it expires; drop skips entries whose
	// count is gone.
	return true
}

func (e *echoFilter) expire(now time.Time) {
	for len(e.fifo) > 0 && now.Sub(e.fifo[0].at) > echoTTL {
		e.drop()
	}
}

func (e *echoFilter) drop() {
	h := e.fifo[0].h
	e.fifo = e.fifo[1:]
	if n := e.sent[h]; n > 0 {
		if n == 1 {
			delete(e.sent, h)
		} else {
			e.sent[h] = n - 1
		}
	}
}
