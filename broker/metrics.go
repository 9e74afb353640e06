package broker

import (
	"io"
	"net/http"
	"strconv"

	"github.com/petrel-mqtt/petrel/internal/prom"
	"github.com/petrel-mqtt/petrel/internal/version"
)

// metricsPrefix starts the names of the broker's own metrics.
const metricsPrefix = "petrel_broker_"

// WriteMetrics writes the broker's counters (Stats) and the Go runtime's
// basics (goroutines, heap, GC) in Prometheus's text exposition format,
// version 0.0.4. The names start with "petrel_broker_" and "go_"; counters
// end in "_total". Per-QoS and per-reason figures are labels of one
// family: messages by qos ("0", "1", "2"), undelivered messages by reason,
// refused connections by code (the CONNACK return code, "1" to "5").
//
// Every family is written at every call, zeros included, so that rates
// can be taken from the start.
func (s *Server) WriteMetrics(w io.Writer) error {
	st := s.Stats()
	p := prom.NewWriter(w)
	n := func(name string) string { return metricsPrefix + name }
	g := func(name, help string, v int) { p.Gauge(n(name), help, float64(v)) }
	c := func(name, help string, v uint64) { p.Counter(n(name), help, v) }

	p.Family(n("info"), "gauge", "The broker's version, as petrel version prints it; the value is 1.")
	p.Sample(n("info"), 1, "version", version.Get().String())
	p.Gauge(n("uptime_seconds"), "Seconds since the broker started.", st.Uptime.Seconds())

	g("connections_open", "Network connections open, MQTT or not yet.", st.Connections)
	c("connections_accepted_total", "Network connections accepted.", st.ConnectionsTotal)
	g("connections_pending", "Connections whose CONNECT is not accepted yet.", st.Pending)
	c("connections_pending_closed_total", "Connections closed before their CONNECT was handled, to make room (MaxPending) or refused by MaxPendingPerIP.", st.PendingClosed)
	g("clients_connected", "Clients connected (CONNECT accepted).", st.Clients)
	g("sessions", "Sessions held, connected or not.", st.Sessions)
	g("subscriptions", "Subscriptions of all sessions.", st.Subscriptions)
	g("retained_messages", "Retained messages held.", st.Retained)
	p.Gauge(n("queued_bytes"), "Bytes of all sessions' queued and in-flight messages, against MaxTotalQueuedBytes.", float64(st.QueuedBytes))

	p.Family(n("messages_received_total"), "counter", "PUBLISH packets received, by QoS.")
	for q, v := range st.ReceivedByQoS {
		p.Sample(n("messages_received_total"), float64(v), "qos", strconv.Itoa(q))
	}
	p.Family(n("messages_sent_total"), "counter", "PUBLISH packets sent, by QoS (the lower of the message's and the subscription's).")
	for q, v := range st.SentByQoS {
		p.Sample(n("messages_sent_total"), float64(v), "qos", strconv.Itoa(q))
	}
	c("received_bytes_total", "Bytes received from clients.", st.BytesReceived)
	c("sent_bytes_total", "Bytes sent to clients.", st.BytesSent)

	p.Family(n("messages_undelivered_total"), "counter",
		"Messages not delivered to a session, by reason: queue_full (MaxQueued), session_bytes (MaxQueuedBytes), "+
			"broker_bytes (MaxTotalQueuedBytes), offline_qos0 (QoS 0 for an offline session), "+
			"not_authorized (the subscriber may no longer read the topic).")
	for _, r := range []struct {
		reason string
		v      uint64
	}{
		{"queue_full", st.DroppedQueueFull},
		{"session_bytes", st.DroppedSessionBytes},
		{"broker_bytes", st.DroppedBrokerBytes},
		{"offline_qos0", st.OfflineQoS0},
		{"not_authorized", st.DeniedDeliveries},
	} {
		p.Sample(n("messages_undelivered_total"), float64(r.v), "reason", r.reason)
	}
	c("publishes_denied_total", "PUBLISH packets the Authorizer refused: acknowledged and dropped.", st.Denied)
	c("clients_stalled_total", "Clients disconnected for making no progress for StallTimeout while publishers waited for them.", st.Stalled)
	c("retained_replays_truncated_total", "Subscriptions whose retained messages did not all fit in the session's queue.", st.RetainedTruncated)
	c("sessions_evicted_total", "Persistent sessions ended, the longest offline first, to make room for new ones (MaxSessions).", st.SessionsEvicted)
	c("subscriptions_over_limit_total", "Subscriptions refused (SUBACK 0x80): their session was at MaxSubscriptions or MaxSubscriptionBytes.", st.SubscriptionsOverLimit)
	c("retained_dropped_total", "Retained messages delivered but not retained: Config.MaxRetainedBytes was reached.", st.RetainedDropped)

	p.Family(n("connections_refused_total"), "counter",
		"Connections refused with a CONNACK return code: 1 protocol version, 2 identifier rejected, "+
			"3 server unavailable, 4 bad user name or password, 5 not authorized.")
	for code := 1; code < len(st.RefusedByCode); code++ {
		p.Sample(n("connections_refused_total"), float64(st.RefusedByCode[code]), "code", strconv.Itoa(code))
	}
	c("auth_failures_total", "Logins the Authenticator refused, failed on, or the password guard held back.", st.AuthFailures)

	p.Runtime()
	return p.Flush()
}

// MetricsHandler returns an http.Handler that serves WriteMetrics, for a
// Prometheus server to scrape: mount it at /metrics on any listener.
// petrel broker -metrics-listen does so.
func (s *Server) MetricsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", prom.ContentType)
		if r.Method == http.MethodHead {
			return
		}
		s.WriteMetrics(w)
	})
}
