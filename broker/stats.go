package broker

import (
	"sync/atomic"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
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

	// ConnectionsTotal counts the network connections accepted.
	ConnectionsTotal uint64

	MessagesReceived uint64 // PUBLISH packets received
	MessagesSent     uint64 // PUBLISH packets sent
	// ReceivedByQoS and SentByQoS split MessagesReceived and
	// MessagesSent by QoS (the QoS of the PUBLISH packet: for a message
	// sent, the lower of its own and the subscription's).
	ReceivedByQoS [3]uint64
	SentByQoS     [3]uint64
	BytesReceived uint64
	BytesSent     uint64
	// Dropped counts messages dropped for a session because its limits
	// were reached: the sum of the three counts after it. With flow
	// control, this happens only for sessions that cannot hold their
	// publishers back: offline ones, stalled ones, or many publishers at
	// once.
	Dropped uint64
	// DroppedQueueFull counts drops at Config.MaxQueued messages.
	DroppedQueueFull uint64
	// DroppedSessionBytes counts drops at Config.MaxQueuedBytes.
	DroppedSessionBytes uint64
	// DroppedBrokerBytes counts drops at Config.MaxTotalQueuedBytes.
	DroppedBrokerBytes uint64
	// OfflineQoS0 counts QoS 0 messages not queued for a persistent
	// session whose client is offline (MQTT-3.1.2-5 leaves it to the
	// server; the broker does not keep them).
	OfflineQoS0 uint64
	// Stalled counts clients disconnected because they made no progress
	// for Config.StallTimeout while publishers waited for them.
	Stalled uint64
	// QueuedBytes is what all sessions' queued and in-flight messages
	// cost now, against Config.MaxTotalQueuedBytes.
	QueuedBytes int64
	// Denied counts PUBLISH packets the Authorizer refused: acknowledged
	// and dropped.
	Denied uint64
	// DeniedDeliveries counts messages not delivered to a subscriber
	// because the Authorizer no longer lets it read their topic
	// (CanSubscribe asked with the topic name at each delivery).
	DeniedDeliveries uint64
	// Refused counts connections refused with a CONNACK return code.
	Refused uint64
	// RefusedByCode splits Refused by return code (1 to 5; 0 stays 0).
	RefusedByCode [6]uint64
	// AuthFailures counts logins the Authenticator refused or failed on, or that the
	// password guard held back (ErrLoginDelayed); each is also counted in
	// Refused.
	AuthFailures uint64
	// PendingClosed counts connections closed before their CONNECT was
	// handled to make room for new ones (Config.MaxPending), or refused
	// by Config.MaxPendingPerIP.
	PendingClosed uint64
	// RetainedTruncated counts subscriptions whose retained messages did
	// not all fit in the session's queue (Config.MaxQueued): the replay
	// was cut short.
	RetainedTruncated uint64
	// RetainedDropped counts retained messages delivered but not
	// retained: keeping them would have exceeded Config.MaxRetainedBytes.
	RetainedDropped uint64
	// SessionsEvicted counts persistent sessions ended, the longest
	// offline first, to make room for new ones (Config.MaxSessions).
	SessionsEvicted uint64
	// SubscriptionsOverLimit counts filters refused (SUBACK 0x80) because
	// their session was at Config.MaxSubscriptions or
	// Config.MaxSubscriptionBytes.
	SubscriptionsOverLimit uint64
}

// counters are the broker's live counters.
type counters struct {
	connections            atomic.Int64
	connectionsTotal       atomic.Uint64
	clients                atomic.Int64
	messagesReceived       atomic.Uint64
	messagesSent           atomic.Uint64
	receivedByQoS          [3]atomic.Uint64
	sentByQoS              [3]atomic.Uint64
	refusedByCode          [6]atomic.Uint64
	authFailures           atomic.Uint64
	bytesReceived          atomic.Uint64
	bytesSent              atomic.Uint64
	dropped                atomic.Uint64
	denied                 atomic.Uint64
	refused                atomic.Uint64
	deniedDeliveries       atomic.Uint64
	pendingClosed          atomic.Uint64
	retainedTruncated      atomic.Uint64
	retainedDropped        atomic.Uint64
	sessionsEvicted        atomic.Uint64
	subscriptionsOverLimit atomic.Uint64
	droppedQueueFull       atomic.Uint64
	droppedSession         atomic.Uint64
	droppedBroker          atomic.Uint64
	offlineQoS0            atomic.Uint64
	stalled                atomic.Uint64
}

// countDrop counts a message dropped for a session, for reason.
func (s *Server) countDrop(r dropReason) {
	s.stats.dropped.Add(1)
	switch r {
	case dropQueueFull:
		s.stats.droppedQueueFull.Add(1)
	case dropSessionBytes:
		s.stats.droppedSession.Add(1)
	case dropGlobalBytes:
		s.stats.droppedBroker.Add(1)
	}
}

// countReceived counts a PUBLISH packet received at qos.
func (s *Server) countReceived(qos packet.QoS) {
	s.stats.messagesReceived.Add(1)
	s.stats.receivedByQoS[min(qos, packet.QoS2)].Add(1)
}

// countSent counts a PUBLISH packet sent at qos.
func (s *Server) countSent(qos packet.QoS) {
	s.stats.messagesSent.Add(1)
	s.stats.sentByQoS[min(qos, packet.QoS2)].Add(1)
}

// countRefused counts a connection refused with code.
func (s *Server) countRefused(code packet.ConnectReturnCode) {
	s.stats.refused.Add(1)
	if int(code) < len(s.stats.refusedByCode) {
		s.stats.refusedByCode[code].Add(1)
	}
}

// Stats returns the broker's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	sessions, pending := len(s.sessions), s.pending.Len()
	s.mu.Unlock()
	var byCode [6]uint64
	for i := range byCode {
		byCode[i] = s.stats.refusedByCode[i].Load()
	}
	var in, out [3]uint64
	for i := range in {
		in[i], out[i] = s.stats.receivedByQoS[i].Load(), s.stats.sentByQoS[i].Load()
	}
	return Stats{
		Uptime:                 time.Since(s.start),
		ConnectionsTotal:       s.stats.connectionsTotal.Load(),
		ReceivedByQoS:          in,
		SentByQoS:              out,
		RefusedByCode:          byCode,
		AuthFailures:           s.stats.authFailures.Load(),
		Connections:            int(s.stats.connections.Load()),
		Pending:                pending,
		Clients:                int(s.stats.clients.Load()),
		Sessions:               sessions,
		Subscriptions:          s.subs.len(),
		Retained:               s.retained.len(),
		MessagesReceived:       s.stats.messagesReceived.Load(),
		MessagesSent:           s.stats.messagesSent.Load(),
		BytesReceived:          s.stats.bytesReceived.Load(),
		BytesSent:              s.stats.bytesSent.Load(),
		Dropped:                s.stats.dropped.Load(),
		DroppedQueueFull:       s.stats.droppedQueueFull.Load(),
		DroppedSessionBytes:    s.stats.droppedSession.Load(),
		DroppedBrokerBytes:     s.stats.droppedBroker.Load(),
		OfflineQoS0:            s.stats.offlineQoS0.Load(),
		Stalled:                s.stats.stalled.Load(),
		QueuedBytes:            s.queuedBytes.Load(),
		Denied:                 s.stats.denied.Load(),
		Refused:                s.stats.refused.Load(),
		DeniedDeliveries:       s.stats.deniedDeliveries.Load(),
		PendingClosed:          s.stats.pendingClosed.Load(),
		RetainedTruncated:      s.stats.retainedTruncated.Load(),
		RetainedDropped:        s.stats.retainedDropped.Load(),
		SubscriptionsOverLimit: s.stats.subscriptionsOverLimit.Load(),
		SessionsEvicted:        s.stats.sessionsEvicted.Load(),
	}
}
