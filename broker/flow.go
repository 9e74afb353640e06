package broker

import (
	"errors"
	"time"
)

// Flow control (see the package doc, "Flow control").
//
// A session's queue has a high-water mark, half its limits (MaxQueued
// messages, MaxQueuedBytes bytes). When a message routed from a client's
// PUBLISH leaves a connected session above it, the publisher's reader
// waits, before reading its next packet, until that session falls below
// its low-water mark (a quarter of the limits), so that TCP backpressure
// reaches the publisher instead of messages being dropped. The message
// that crossed the mark is queued and acknowledged as usual.
//
// A waiting reader does not wait for its own session, nor for a session
// whose connection's reader is itself waiting: two clients publishing to
// each other would otherwise wait for each other's acknowledgements
// forever. Both sides set their flag before looking at the other's, so
// at least one of them sees the other and goes on.
//
// A consumer that makes no progress (takes no message from its queue and
// acknowledges none) for StallTimeout while a publisher waits for it is
// disconnected, counted in Stats.Stalled and logged: one stuck client
// holds the others back for at most that long. A clean session ends with
// it; a persistent one keeps its queue, within its limits, for when its
// client returns.

// errStalled is why a stalled consumer is disconnected.
var errStalled = errors.New("no progress for Config.StallTimeout while publishers waited for its queue to drain")

// dropReason says why a message was not queued for a session.
type dropReason uint8

const (
	dropNone         dropReason = iota
	dropQueueFull               // MaxQueued messages queued
	dropSessionBytes            // MaxQueuedBytes held for the session
	dropGlobalBytes             // MaxTotalQueuedBytes held for all sessions
)

func (r dropReason) String() string {
	switch r {
	case dropQueueFull:
		return "session queue full (Config.MaxQueued messages)"
	case dropSessionBytes:
		return "session byte budget spent (Config.MaxQueuedBytes)"
	case dropGlobalBytes:
		return "broker byte budget spent (Config.MaxTotalQueuedBytes)"
	}
	return "none"
}

// messageOverhead is what the broker counts for a message held for a
// session beyond its topic and payload: the delivery, the queue slot and
// the flight.
const messageOverhead = 96

// cost is what d counts against the byte budgets.
func (d delivery) cost() int64 {
	return int64(len(d.m.tbytes)+len(d.m.payload)) + messageOverhead
}

// reserve takes n bytes of the broker's byte budget, if it has them.
func (s *Server) reserve(n int64) bool {
	if s.queuedBytes.Add(n) > s.cfg.MaxTotalQueuedBytes {
		s.queuedBytes.Add(-n)
		return false
	}
	return true
}

// release gives n bytes back to the broker's byte budget.
func (s *Server) release(n int64) {
	if n != 0 {
		s.queuedBytes.Add(-n)
	}
}

// highWater reports whether the session is above its high-water mark.
// The caller holds s.mu.
func (s *session) highWater() bool {
	cfg := &s.srv.cfg
	return s.queue.len() > cfg.MaxQueued/2 || s.bytes > cfg.MaxQueuedBytes/2
}

// lowWater reports whether the session is below its low-water mark. The
// caller holds s.mu.
func (s *session) lowWater() bool {
	cfg := &s.srv.cfg
	return s.queue.len() <= cfg.MaxQueued/4 && s.bytes <= cfg.MaxQueuedBytes/4
}

// progressed records that the session's client made progress (took a
// message from the queue, or acknowledged one) and wakes the publishers
// waiting for it if it fell below its low-water mark. The caller holds
// s.mu.
func (s *session) progressedLocked() {
	s.progress++
	if s.drained != nil && s.lowWater() {
		close(s.drained)
		s.drained = nil
	}
}

// wakeLocked wakes the publishers waiting for the session: it went
// offline or ended. The caller holds s.mu.
func (s *session) wakeLocked() {
	if s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
}

// congestion returns what a publisher waits on for the session: a channel
// closed when it falls below its low-water mark, the progress count to
// tell a stall, and its connection; a nil channel if there is nothing to
// wait for.
func (s *session) congestion() (drained <-chan struct{}, progress uint64, c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || s.discarded || !s.highWater() {
		return nil, 0, nil
	}
	if s.drained == nil {
		s.drained = make(chan struct{})
	}
	return s.drained, s.progress, s.conn
}

// progressSince reports whether the session made progress since the
// count p.
func (s *session) progressSince(p uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.progress != p
}

// awaitDrain makes the reader wait for the sessions its last PUBLISH left
// above their high-water marks, as described at the top of this file.
func (c *conn) awaitDrain() {
	c.waiting.Store(true)
	defer c.waiting.Store(false)
	for i, s := range c.congested {
		c.congested[i] = nil
		c.awaitSession(s)
	}
	c.congested = c.congested[:0]
}

func (c *conn) awaitSession(s *session) {
	if s == c.sess {
		return
	}
	for {
		drained, progress, target := s.congestion()
		if drained == nil || target == c || target.waiting.Load() {
			return
		}
		timer := time.NewTimer(c.srv.cfg.StallTimeout)
		select {
		case <-drained:
			timer.Stop()
			return
		case <-c.done:
			timer.Stop()
			return
		case <-timer.C:
		}
		if s.progressSince(progress) {
			continue
		}
		c.srv.stats.stalled.Add(1)
		c.srv.log.Warn("disconnecting a stalled client: it took no message for StallTimeout while publishers waited for it",
			"client", s.id, "remote", target.remote, "timeout", c.srv.cfg.StallTimeout, "publisher", c.ident.ClientID)
		target.close(errStalled)
		return
	}
}
