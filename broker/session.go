package broker

import (
	"container/list"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/petrel-mqtt/petrel/internal/topictree"
	"github.com/petrel-mqtt/petrel/packet"
)

// message is an application message the broker has taken ownership of. It
// is immutable once made, and shared by every session it goes to.
type message struct {
	topic   string
	tbytes  []byte // topic again, for encoding without a copy
	payload []byte
	qos     packet.QoS // the QoS it was published with
	retain  bool       // it was published with RETAIN=1
}

// newMessage copies topic and payload, which may alias a reader's buffer,
// into a new message.
func newMessage[T string | []byte](topic T, payload []byte, qos packet.QoS, retain bool) *message {
	buf := make([]byte, len(topic)+len(payload))
	n := copy(buf, topic)
	copy(buf[n:], payload)
	return &message{
		topic: string(topic), tbytes: buf[:n:n], payload: buf[n:],
		qos: qos, retain: retain,
	}
}

// delivery is a message on its way to one session, at the QoS that session
// gets it with; retain is the RETAIN flag of the PUBLISH that carries it.
type delivery struct {
	m      *message
	qos    packet.QoS
	retain bool
	seq    uint64 // its number in a persistent session's queue (store.go); 0 otherwise
}

// flight is an outgoing QoS 1 or 2 message awaiting acknowledgement.
type flight struct {
	id       uint16
	d        delivery
	released bool // QoS 2: PUBREC received and PUBREL sent; awaiting PUBCOMP
	// sent is set once its PUBLISH has been written to a connection: sent
	// again, it has DUP set [MQTT-3.3.1-1]; never sent, it has not.
	sent atomic.Bool
}

// session is the state the broker keeps for a ClientId (section 4.1):
// subscriptions, messages queued and in flight to the client, and the
// identifiers of QoS 2 messages received from it and not yet released.
//
// A clean session lives as long as its connection; a persistent one
// (CleanSession=0) outlives it [MQTT-3.1.2-4].
type session struct {
	id    string
	clean bool // fixed at creation
	srv   *Server
	// offline is the session's place in Server.offline while it is a
	// persistent session without a client; guarded by Server.mu.
	offline *list.Element

	// user is the user name of the session's latest client, for the
	// Authorizer's check of each delivery; nil means none.
	user atomic.Pointer[string]
	// peerBridge is set while the session's latest client is a bridge
	// (packet.Connect.Bridge): it is sent none of the messages it
	// published, and the RETAIN flag of those it is sent, as Mosquitto
	// does for bridges.
	peerBridge atomic.Bool

	mu        sync.Mutex // guards the fields below; taken after Server.mu
	conn      *conn      // the connected client, nil while offline
	owner     string     // the identity it belongs to (conn.owner); "" if not known yet
	discarded bool       // the session has ended; deliveries are ignored
	subs      map[string]packet.QoS
	subBytes  int64 // what subs costs (subscriptionCost), against Config.MaxSubscriptionBytes
	queue     fifo
	inflight  []*flight          // in the order first sent [MQTT-4.6.0-1]
	byID      map[uint16]*flight // the same flights by packet identifier
	nextID    uint16
	seq       uint64              // the last sequence number given to a queued message (store.go)
	inbound   map[uint16]struct{} // QoS 2 identifiers awaiting PUBREL [MQTT-4.3.3-2]
	dropping  uint64              // messages dropped since the queue last took one
	bytes     int64               // what the queue and the flights cost (delivery.cost), in the budgets
	progress  uint64              // messages taken from the queue and acknowledged (flow.go)
	drained   chan struct{}       // closed when the queue falls below low water; nil if no one waits
}

func newSession(srv *Server, id string, clean bool) *session {
	return &session{id: id, clean: clean, srv: srv} // maps made on first use
}

// subscribeLocked records a subscription. The caller holds s.mu.
func (s *session) subscribeLocked(filter string, q packet.QoS) {
	if s.subs == nil {
		s.subs = make(map[string]packet.QoS)
	}
	if _, ok := s.subs[filter]; !ok {
		s.subBytes += subscriptionCost(filter)
	}
	s.subs[filter] = q
}

// subscriptionCost is what a subscription to filter counts against
// Config.MaxSubscriptionBytes: the filter, and a node of the index for
// each of its levels, which other filters may share or not.
func subscriptionCost(filter string) int64 {
	return int64(len(filter)) + int64(strings.Count(filter, "/")+1)*topictree.NodeBytes[subscribers]()
}

// unsubscribeLocked removes a subscription, if s has it. The caller holds
// s.mu.
func (s *session) unsubscribeLocked(filter string) {
	if _, ok := s.subs[filter]; ok {
		delete(s.subs, filter)
		s.subBytes -= subscriptionCost(filter)
	}
}

// roomForLocked reports whether s may take a new subscription of filter
// within Config.MaxSubscriptions and Config.MaxSubscriptionBytes, with
// adding more subscriptions and bytes on their way to it. A filter s
// has already is always room: it replaces the one before. The caller
// holds s.mu.
func (s *session) roomForLocked(filter string, adding int, addingBytes int64) (ok, renewed bool) {
	if _, ok := s.subs[filter]; ok {
		return true, true
	}
	cfg := &s.srv.cfg
	return len(s.subs)+adding < cfg.MaxSubscriptions &&
		s.subBytes+addingBytes+subscriptionCost(filter) <= cfg.MaxSubscriptionBytes, false
}

// setUser records the user name of the session's client.
func (s *session) setUser(u string) {
	if p := s.user.Load(); p == nil && u == "" || p != nil && *p == u {
		return
	}
	s.user.Store(&u)
}

// identity returns the session's client as the Authorizer sees it.
func (s *session) identity() Identity {
	id := Identity{ClientID: s.id}
	if p := s.user.Load(); p != nil {
		id.Username = *p
	}
	return id
}

// mayRead asks the Authorizer, if one is configured, whether the
// session's client may still read topic: each delivery is checked, so
// that a subscription never outlives the right that granted it (after an
// ACL change, a restart, or for a session made before the ACL). A refusal
// is counted in Stats.DeniedDeliveries.
func (s *session) mayRead(topic string) bool {
	if !s.srv.checkReads || s.srv.cfg.Authorizer.CanSubscribe(s.identity(), topic) {
		return true
	}
	s.srv.stats.deniedDeliveries.Add(1)
	s.srv.log.Debug("delivery not authorized: dropped for this client", "client", s.id, "topic", topic)
	return false
}

// enqueue queues d for the client and reports whether that left the
// session above its high-water mark while connected: the publisher then
// waits for it to drain (flow.go). A persistent session keeps QoS 1 and 2
// messages while offline [MQTT-3.1.2-5]; QoS 0 ones for an offline client
// are not queued, and counted in Stats.OfflineQoS0. A message beyond the
// session's limits (MaxQueued messages, MaxQueuedBytes) or the broker's
// (MaxTotalQueuedBytes) is dropped for this session, counted in
// Stats.Dropped and by reason, and logged: the first drop of a run, then
// the 10th, the 100th and so on, and the run's total once the queue takes
// messages again.
//
// from is the connection whose reader routes d, which writes it to the
// client once it has handled what it read; nil if none (write.go).
func (s *session) enqueue(d delivery, from *conn) (congested bool) {
	cfg := &s.srv.cfg
	s.mu.Lock()
	if s.discarded {
		s.mu.Unlock()
		return false
	}
	if s.conn == nil && d.qos == packet.QoS0 {
		s.mu.Unlock()
		s.srv.stats.offlineQoS0.Add(1)
		return false
	}
	cost := d.cost()
	reason := dropNone
	switch {
	case s.queue.len() >= cfg.MaxQueued:
		reason = dropQueueFull
	case s.bytes+cost > cfg.MaxQueuedBytes:
		reason = dropSessionBytes
	case !s.srv.reserve(cost):
		reason = dropGlobalBytes
	}
	if reason != dropNone {
		s.dropping++
		n := s.dropping
		s.mu.Unlock()
		s.srv.countDrop(reason)
		if isPowerOf10(n) {
			s.srv.log.Warn("message dropped for a session", "client", s.id, "reason", reason.String(),
				"topic", d.m.topic, "qos", int(d.qos), "dropped", n)
		}
		return false
	}
	if st := s.store(); st != nil && d.qos > packet.QoS0 {
		s.seq++
		d.seq = s.seq
		st.queued(s.id, d) // before the publisher's PUBACK or PUBREC
	}
	s.queue.push(d)
	s.bytes += cost
	c, dropped := s.conn, s.dropping
	s.dropping = 0
	congested = c != nil && s.highWater()
	s.mu.Unlock()
	if dropped > 0 {
		s.srv.log.Warn("session queue takes messages again", "client", s.id, "dropped", dropped)
	}
	if c != nil {
		c.later(from)
	}
	return congested
}

// room returns how many more messages the queue takes (Config.MaxQueued).
func (s *session) room() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv.cfg.MaxQueued - s.queue.len()
}

// take moves up to n queued messages to out for c to send, giving QoS 1
// and 2 messages a packet identifier and a place in the in-flight window
// as long as there is room [MQTT-2.3.1-4]. It returns nothing if c is no
// longer the session's connection.
func (s *session) take(c *conn, n int, out []outPacket) []outPacket {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != c {
		return out
	}
	if s.queue.len() == 0 {
		return out
	}
	st := s.store()
	var freed int64
	before := len(out)
	for ; n > 0 && s.queue.len() > 0; n-- {
		d := s.queue.front()
		p := outPacket{t: packet.TypePublish, d: d}
		if d.qos > packet.QoS0 {
			if len(s.inflight) >= s.srv.cfg.MaxInflight {
				break
			}
			f := &flight{id: s.freeID(), d: d}
			s.inflight = append(s.inflight, f)
			if s.byID == nil {
				s.byID = make(map[uint16]*flight)
			}
			s.byID[f.id] = f
			p.id, p.f = f.id, f
			if st != nil {
				st.sent(s.id, d.seq, f.id)
			}
		} else {
			freed += d.cost() // a QoS 0 message leaves the session here
		}
		s.queue.pop()
		out = append(out, p)
	}
	s.bytes -= freed
	s.srv.release(freed)
	if len(out) > before {
		s.progressedLocked() // a take that found the window full is no progress
	}
	return out
}

func isPowerOf10(n uint64) bool {
	for n >= 10 && n%10 == 0 {
		n /= 10
	}
	return n == 1
}

// freeID returns a packet identifier no flight holds. The caller ensures
// that fewer than 65,535 are in flight.
func (s *session) freeID() uint16 {
	for {
		s.nextID++
		if s.nextID == 0 {
			s.nextID = 1
		}
		if _, used := s.byID[s.nextID]; !used {
			return s.nextID
		}
	}
}

// resend returns what must be sent again when a client resumes the
// session: every unacknowledged PUBLISH, with DUP set, and every PUBREL,
// in their original order and with their original identifiers
// [MQTT-4.4.0-1]. The caller holds s.mu.
func (s *session) resendLocked(out []outPacket) []outPacket {
	for _, f := range s.inflight {
		if f.released {
			out = append(out, outPacket{t: packet.TypePubrel, id: f.id})
		} else {
			out = append(out, outPacket{t: packet.TypePublish, id: f.id, d: f.d, dup: f.sent.Load(), f: f})
		}
	}
	return out
}

// ack applies a PUBACK, PUBREC or PUBCOMP from the client. It reports
// whether a PUBREL must be sent (for PUBREC) and whether the window
// opened, or errWrongAck if the acknowledgement does not fit the QoS flow
// of the message it names [MQTT-4.3.2-1] [MQTT-4.3.3-1]: the connection is
// then closed [MQTT-4.8.0-1]. Acknowledgements of unknown identifiers are
// ignored, as are repeated PUBRECs.
func (s *session) ack(t packet.Type, id uint16) (pubrel, opened bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.byID[id]
	if f == nil {
		return false, false, nil
	}
	switch {
	case t == packet.TypePuback && f.d.qos == packet.QoS1,
		t == packet.TypePubcomp && f.d.qos == packet.QoS2 && f.released:
		delete(s.byID, id)
		if i := slices.Index(s.inflight, f); i >= 0 {
			s.inflight = slices.Delete(s.inflight, i, i+1)
		}
		cost := f.d.cost()
		s.bytes -= cost
		s.srv.release(cost)
		s.progressedLocked()
		if st := s.store(); st != nil {
			st.done(s.id, f.d.seq)
		}
		return false, true, nil
	case t == packet.TypePubrec && f.d.qos == packet.QoS2:
		// From here on the PUBLISH is never sent again [MQTT-4.3.3-1].
		if !f.released {
			f.released = true
			s.progress++
			if st := s.store(); st != nil {
				st.released(s.id, f.d.seq)
			}
		}
		return true, false, nil
	}
	return false, false, &wrongAckError{got: t, id: id, qos: f.d.qos, released: f.released}
}

// receiveQoS2 records the identifier of an incoming QoS 2 PUBLISH and
// reports whether it is new; a repeat before PUBREL is not delivered again
// [MQTT-4.3.3-2].
func (s *session) receiveQoS2(id uint16) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.inbound[id]; seen {
		return false
	}
	if s.inbound == nil {
		s.inbound = make(map[uint16]struct{})
	}
	s.inbound[id] = struct{}{}
	if st := s.store(); st != nil {
		st.inbound(s.id, id, false) // before PUBREC
	}
	return true
}

// release forgets an incoming QoS 2 identifier on PUBREL.
func (s *session) release(id uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inbound, id)
	if st := s.store(); st != nil {
		st.inbound(s.id, id, true)
	}
}

// store returns the broker's store if the session is persistent and the
// broker persists, nil otherwise.
func (s *session) store() *store {
	if s.clean {
		return nil
	}
	return s.srv.store
}

// fifo is a queue of deliveries in a ring buffer that grows as needed.
type fifo struct {
	buf        []delivery
	head, size int
}

func (q *fifo) len() int { return q.size }

func (q *fifo) push(d delivery) {
	if q.size == len(q.buf) {
		nb := make([]delivery, max(16, 2*len(q.buf)))
		n := copy(nb, q.buf[q.head:])
		copy(nb[n:], q.buf[:q.head])
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = d
	q.size++
}

func (q *fifo) front() delivery { return q.buf[q.head] }

func (q *fifo) pop() {
	q.buf[q.head] = delivery{}
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	if q.size == 0 && len(q.buf) > 1024 {
		*q = fifo{} // give back the memory of a burst
	}
}

// all returns the queued deliveries in order.
func (q *fifo) all() []delivery {
	out := make([]delivery, 0, q.size)
	for i := range q.size {
		out = append(out, q.buf[(q.head+i)%len(q.buf)])
	}
	return out
}
