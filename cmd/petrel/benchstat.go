package main

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The bench's payload starts with a header that lets any broker carry the
// measurement: which run, which publisher, which message, and when it was
// handed to the client. The rest of the payload is filler.
const (
	benchHeader = 24 // run id (4), publisher (4), sequence (8), send time in Unix nanoseconds (8)
)

// putHeader writes the header into b, at least benchHeader bytes long.
func putHeader(b []byte, run, pub uint32, seq uint64, sent time.Time) {
	binary.BigEndian.PutUint32(b[0:], run)
	binary.BigEndian.PutUint32(b[4:], pub)
	binary.BigEndian.PutUint64(b[8:], seq)
	binary.BigEndian.PutUint64(b[16:], uint64(sent.UnixNano()))
}

// header reads the header of b; ok is false if b is too short.
func header(b []byte) (run, pub uint32, seq uint64, sent int64, ok bool) {
	if len(b) < benchHeader {
		return 0, 0, 0, 0, false
	}
	return binary.BigEndian.Uint32(b[0:]), binary.BigEndian.Uint32(b[4:]),
		binary.BigEndian.Uint64(b[8:]), int64(binary.BigEndian.Uint64(b[16:])), true
}

// bitset is a growable set of sequence numbers.
type bitset []uint64

// set adds i and reports whether it was there already.
func (s *bitset) set(i uint64) bool {
	w := int(i / 64)
	if w >= len(*s) {
		*s = append(*s, make([]uint64, w+1-len(*s)+len(*s)/2)...)
	}
	m := uint64(1) << (i % 64)
	had := (*s)[w]&m != 0
	(*s)[w] |= m
	return had
}

func (s bitset) has(i uint64) bool {
	w := int(i / 64)
	return w < len(s) && s[w]&(1<<(i%64)) != 0
}

// histogram counts durations in log-linear buckets: exact below 256 ns,
// then 128 buckets per power of two, so a percentile is within 0.8%.
type histogram struct {
	counts [57 * 128]uint64
	n      uint64
	max    int64
}

func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	e := max(0, bits.Len64(uint64(v))-8)
	return e*128 + int(uint64(v)>>e)
}

// bucketMid is the middle of bucket i's range of values.
func bucketMid(i int) int64 {
	if i < 256 {
		return int64(i)
	}
	e := i/128 - 1
	lo := int64(i-e*128) << e
	return lo + (int64(1)<<e)/2
}

func (h *histogram) add(d int64) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the duration below which a fraction q of the values
// fall (the exact maximum for q = 1).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	if q >= 1 {
		return time.Duration(h.max)
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(bucketMid(i), h.max))
		}
	}
	return time.Duration(h.max)
}

// benchStream is what one subscriber received of one publisher's messages.
type benchStream struct {
	seen     bitset
	next     uint64 // one past the highest sequence received
	received uint64 // distinct messages
	dup      uint64 // messages received again
	ooo      uint64 // messages received after a later one of the stream
}

// benchSub is a subscriber's tally, written by its handler.
type benchSub struct {
	id      string
	filter  string
	run     uint32
	mu      sync.Mutex
	streams []benchStream // by publisher
	lat     histogram
	count   atomic.Uint64 // messages received, duplicates included, for progress
	last    atomic.Int64  // Unix nanoseconds of the latest message
	foreign uint64        // messages of another run or without a header
	err     error         // why its connection ended early, if it did
}

// receive counts a message with payload b, received at now.
func (s *benchSub) receive(b []byte, now time.Time) {
	run, pub, seq, sent, ok := header(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || run != s.run || int(pub) >= len(s.streams) {
		s.foreign++
		return
	}
	s.count.Add(1)
	s.last.Store(now.UnixNano())
	st := &s.streams[pub]
	if st.seen.set(seq) {
		st.dup++
		return
	}
	st.received++
	if seq+1 < st.next {
		st.ooo++
	}
	st.next = max(st.next, seq+1)
	s.lat.add(now.UnixNano() - sent)
}

// benchPub is a publisher's tally.
type benchPub struct {
	id    string
	topic string
	sent  atomic.Uint64 // messages handed to the client: sequences 0 to sent-1
	acked bitset        // sequences acknowledged (QoS 1 and 2), written by the publisher's goroutine
	nack  uint64        // messages acknowledged
	fail  uint64        // messages whose publish failed
	err   error         // the first failure
}

// matchTopic reports whether topic matches filter (section 4.7): '+' is one
// level, a trailing '#' any number, none of them the first level of a
// topic starting with '$'.
func matchTopic(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	f, t := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, l := range f {
		switch {
		case l == "#":
			return true
		case i >= len(t):
			return false
		case l != "+" && l != t[i]:
			return false
		}
	}
	return len(f) == len(t)
}
