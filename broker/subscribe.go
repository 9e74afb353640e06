package broker

import (
	"context"
	"log/slog"
	"strings"

	"github.com/petrel-mqtt/petrel/packet"
)

// maxGrantedQoS is the highest QoS the broker grants: all of them.
const maxGrantedQoS = packet.QoS2

// handleSubscribe handles a SUBSCRIBE (section 3.8.4) as a run of single
// subscriptions answered by one SUBACK [MQTT-3.8.4-4], with one return code
// per filter in order [MQTT-3.8.4-5] [MQTT-3.9.3-1]: the QoS granted, or
// 0x80 for a filter the Authorizer refuses or that would take the session
// beyond Config.MaxSubscriptions or MaxSubscriptionBytes. An identical filter replaces
// the subscription before it [MQTT-3.8.4-3]; within one packet, a filter
// given more than once is subscribed once, at the QoS of its last copy,
// so that a packet of many copies of "#" costs one subscription and one
// replay. The retained messages that a filter matches follow, with
// RETAIN=1 [MQTT-3.3.1-6] [MQTT-3.3.1-8], through the session's queue and
// within its room (Config.MaxQueued): a replay that does not fit is cut
// short, counted in Stats.RetainedTruncated and logged.
//
// A filter $share/NAME/FILTER is a shared subscription, as Mosquitto
// serves it to MQTT 3.1.1 clients too: each message FILTER matches goes
// to one session of the group NAME, in turn; the retained messages
// FILTER matches are replayed to the new member, as Mosquitto 2.0 does.
// The Authorizer is asked about FILTER. Any other filter that
// starts with $share/ (no NAME, no FILTER, a wildcard in NAME) gets 0x80.
func (c *conn) handleSubscribe(p *packet.Subscribe) {
	srv, sess := c.srv, c.sess
	codes := make([]packet.SubackCode, len(p.Filters))
	var (
		granted []packet.Subscription
		seen    map[string]int // filter → its index in granted, -1 if refused
		refused int            // by the Authorizer

		// Within Config.MaxSubscriptions and MaxSubscriptionBytes: the new
		// subscriptions granted so far and their bytes, and the filters
		// refused beyond.
		adding, overLimit int
		addingBytes       int64
		firstOver         string
	)
	if len(p.Filters) > 1 {
		seen = make(map[string]int)
	}
	for i, f := range p.Filters {
		q := min(f.QoS, maxGrantedQoS)
		if j, ok := seen[string(f.Filter)]; ok {
			if j < 0 {
				codes[i] = c.refusedSubscription(q)
				continue
			}
			codes[i] = packet.SubackCode(q)
			granted[j].QoS = q
			continue
		}
		filter := string(f.Filter)
		checked := filter // what the Authorizer is asked
		if strings.HasPrefix(filter, sharePrefix) {
			_, inner, ok := sharedFilter(filter)
			if !ok {
				codes[i] = c.refusedSubscription(q)
				if seen != nil {
					seen[filter] = -1
				}
				srv.log.Warn("subscription refused: not a shared subscription of the form $share/NAME/FILTER", "client", c.ident.ClientID, "filter", filter)
				continue
			}
			checked = inner
		}
		if !srv.cfg.Authorizer.CanSubscribe(c.ident, checked) {
			codes[i] = c.refusedSubscription(q)
			if seen != nil {
				seen[filter] = -1
			}
			if refused++; refused == 1 {
				srv.log.Warn("subscription not authorized", "client", c.ident.ClientID,
					"user", c.ident.Username, "filter", filter)
			}
			continue
		}
		sess.mu.Lock()
		room, renewed := sess.roomForLocked(filter, adding, addingBytes)
		sess.mu.Unlock()
		if !room {
			codes[i] = c.refusedSubscription(q)
			if seen != nil {
				seen[filter] = -1
			}
			if overLimit++; overLimit == 1 {
				firstOver = filter
			}
			continue
		}
		if !renewed {
			adding++
			addingBytes += subscriptionCost(filter)
		}
		codes[i] = packet.SubackCode(q)
		if seen != nil {
			seen[filter] = len(granted)
		}
		granted = append(granted, packet.Subscription{Filter: f.Filter, QoS: q})
	}
	if refused > 1 {
		srv.log.Warn("subscriptions not authorized", "client", c.ident.ClientID,
			"user", c.ident.Username, "refused", refused)
	}
	if overLimit > 0 {
		srv.stats.subscriptionsOverLimit.Add(uint64(overLimit))
		sess.mu.Lock()
		n, bytes := len(sess.subs), sess.subBytes
		sess.mu.Unlock()
		// At Warn once a connection, then at Debug: a client that goes
		// on subscribing past the bound floods no log.
		level := slog.LevelWarn
		if c.overLimit {
			level = slog.LevelDebug
		}
		c.overLimit = true
		srv.log.Log(context.Background(), level, "subscriptions refused: the session is at Config.MaxSubscriptions or Config.MaxSubscriptionBytes",
			"client", c.ident.ClientID, "refused", overLimit, "filter", firstOver,
			"subscriptions", n+adding, "max", srv.cfg.MaxSubscriptions,
			"bytes", bytes+addingBytes, "max_bytes", srv.cfg.MaxSubscriptionBytes)
	}
	for _, g := range granted {
		filter := string(g.Filter)
		sess.mu.Lock()
		sess.subscribeLocked(filter, g.QoS)
		if st := sess.store(); st != nil {
			st.subscribed(sess.id, filter, g.QoS, false)
		}
		sess.mu.Unlock()
		srv.subs.add(filter, sess, g.QoS)
		srv.log.Debug("subscribed", "client", c.ident.ClientID, "filter", filter, "qos", int(g.QoS))
	}
	// SUBACK goes first to the outbox; the writer sends the outbox before
	// the session's queue, where the retained messages go.
	if !c.send(outPacket{t: packet.TypeSuback, id: p.PacketID, codes: codes}) { // [MQTT-3.8.4-1]
		return
	}
	for _, g := range granted {
		filter := string(g.Filter)
		if _, inner, shared := sharedFilter(filter); shared {
			filter = inner // replayed to the new member, as Mosquitto 2.0 does
		}
		ms, more := srv.retained.match(filter, sess.room())
		for _, m := range ms {
			if sess.mayRead(m.topic) {
				sess.enqueue(delivery{m: m, qos: min(m.qos, g.QoS), retain: true}, c)
			}
		}
		if more {
			srv.stats.retainedTruncated.Add(1)
			srv.log.Warn("retained messages cut short: the session's queue is full", "client", c.ident.ClientID,
				"filter", string(g.Filter), "sent", len(ms), "limit", srv.cfg.MaxQueued)
		}
	}
}

// handleUnsubscribe handles an UNSUBSCRIBE (section 3.10.4): each filter
// that equals one of the client's, character for character, is removed
// [MQTT-3.10.4-1]; the UNSUBACK is sent whether or not any was
// [MQTT-3.10.4-4] [MQTT-3.10.4-5]. Messages already queued for the filter
// are still delivered [MQTT-3.10.4-3].
func (c *conn) handleUnsubscribe(p *packet.Unsubscribe) {
	for _, f := range p.Filters {
		filter := string(f)
		c.sess.mu.Lock()
		c.sess.unsubscribeLocked(filter)
		if st := c.sess.store(); st != nil {
			st.subscribed(c.sess.id, filter, 0, true)
		}
		c.sess.mu.Unlock()
		c.srv.subs.remove(filter, c.sess)
		c.srv.log.Debug("unsubscribed", "client", c.ident.ClientID, "filter", filter)
	}
	c.send(outPacket{t: packet.TypeUnsuback, id: p.PacketID})
}
