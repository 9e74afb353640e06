package broker

import (
	"sync/atomic"
	"time"
)

// Stats is a snapshot of the broker's counters, from Server.Stats. The
// counts of messages and bytes are totals since New.
type Stats struct {
	Uptime        time.Duration
	Connections   int // network connections open, MQTT or not yet
	Pending       int // connections whose CONNECT is not accepted yet
	Clients       int // clients connected (CONNECT accepted)
	Sessions      int // sessions held, connected or not
	Subscriptions int // subscriptions of all sessions
	Retained      int // retained messages

	MessagesReceived uint64 // PUBLISH packets received
	MessagesSent     uint64 // PUBLISH packets sent
	BytesReceived    uint64
	BytesSent        uint64
	// Dropped counts messages dropped for a session because its queue was
	// full (Config.MaxQueued).
	Dropped uint64
	// Denied counts PUBLISH packets the Authorizer refused: acknowledged
	// and dropped.
	Denied uint64
	// DeniedDeliveries counts messages not delivered to a subscriber
	// because the Authorizer no longer lets it read their topic
	// (CanSubscribe asked with the topic name at each delivery).
	DeniedDeliveries uint64
	// Refused counts connections refused with a CONNACK return code.
	Refused uint64
	// PendingClosed counts connections closed before their CONNECT was
	// handled to make room for new ones (Config.MaxPending), or refused
	// by Config.MaxPendingPerIP.
	PendingClosed uint64
	// RetainedTruncated counts subscriptions whose retained messages did
	// not all fit in the session's queue (Config.MaxQueued): the replay
	// was cut short.
	RetainedTruncated uint64
}

// counters are the broker's live counters.
type counters struct {
	connections       atomic.Int64
	clients           atomic.Int64
	messagesReceived  atomic.Uint64
	messagesSent      atomic.Uint64
	bytesReceived     atomic.Uint64
	bytesSent         atomic.Uint64
	dropped           atomic.Uint64
	denied            atomic.Uint64
	refused           atomic.Uint64
	deniedDeliveries  atomic.Uint64
	pendingClosed     atomic.Uint64
	retainedTruncated atomic.Uint64
}

// Stats returns the broker's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	sessions, pending := len(s.sessions), s.pending.Len()
	s.mu.Unlock()
	return Stats{
		Uptime:            time.Since(s.start),
		Connections:       int(s.stats.connections.Load()),
		Pending:           pending,
		Clients:           int(s.stats.clients.Load()),
		Sessions:          sessions,
		Subscriptions:     s.subs.len(),
		Retained:          s.retained.len(),
		MessagesReceived:  s.stats.messagesReceived.Load(),
		MessagesSent:      s.stats.messagesSent.Load(),
		BytesReceived:     s.stats.bytesReceived.Load(),
		BytesSent:         s.stats.bytesSent.Load(),
		Dropped:           s.stats.dropped.Load(),
		Denied:            s.stats.denied.Load(),
		Refused:           s.stats.refused.Load(),
		DeniedDeliveries:  s.stats.deniedDeliveries.Load(),
		PendingClosed:     s.stats.pendingClosed.Load(),
		RetainedTruncated: s.stats.retainedTruncated.Load(),
	}
}
