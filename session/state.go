package session

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"slices"
	"sync"

	"github.com/petrel-mqtt/petrel/packet"
)

// flow is an outgoing QoS 1 or QoS 2 message awaiting its acknowledgement.
type flow struct {
	seq      uint64 // the order of Publish calls, for re-sending [MQTT-4.4.0-1]
	id       uint16
	qos      packet.QoS
	buf      []byte // the encoded PUBLISH, DUP clear; nil once PUBREC came
	released bool   // PUBREC received and PUBREL sent; awaiting PUBCOMP
	ack      *Ack   // receives the outcome; nil once told
	sent     bool   // written on some connection: sent again, it has DUP set
	slot     bool   // holds a place in the in-flight window (Client.inflight)
	queued   int    // bytes counted in the offline queue until sent, or 0
	storing  bool   // being put in the Store: not to be sent until it is
	sentOn   *conn  // the connection its PUBLISH was last handed to
	inMark   uint64 // sentOn's packetsIn then: none read since means none came after it
}

// finish reports err to the flow's waiter, if it still has one.
func (f *flow) finish(err error) {
	if f.ack != nil {
		f.ack.finish(err)
		f.ack = nil
	}
}

// request is a SUBSCRIBE or UNSUBSCRIBE awaiting its acknowledgement.
type request struct {
	kind    packet.Type
	filters int                      // how many filters it carries
	done    chan []packet.SubackCode // 1-buffered; the SUBACK's codes, or nil for UNSUBACK
	err     error                    // set, with done closed, when the connection ends first
}

// inboundState is where a received QoS 2 message stands, from PUBLISH until
// PUBREL [MQTT-4.3.3-2].
type inboundState uint8

// received is a QoS 2 message received, from PUBLISH until PUBREL.
type received struct {
	st  inboundState
	sig uint64 // its topic and payload hashed, with PersistentSession (see releasedSet)
	// conn numbers the connection its PUBREC was last handed to (conn.id),
	// if it was.
	conn uint64
	// mark is Client.released.n when that PUBREC was handed over: the
	// PUBREL answering it says that the server has read every PUBCOMP
	// numbered below mark that was handed to cn.
	mark uint64
}

const (
	inboundPending inboundState = iota + 1 // with the handlers; PUBREC not yet sent
	inboundHandled                         // handled and PUBREC sent; awaiting PUBREL
)

// idSet is the set of packet identifiers in use: from 1 to 65535, never 0
// [MQTT-2.3.1-1], never one still in use [MQTT-2.3.1-2].
type idSet struct {
	used [1024]uint64
	next uint16
	n    int
}

func (s *idSet) take() (uint16, bool) {
	if s.n == 65535 {
		return 0, false
	}
	for {
		s.next++
		if s.next == 0 {
			s.next = 1
		}
		w, bit := s.next/64, uint64(1)<<(s.next%64)
		if s.used[w]&bit == 0 {
			s.used[w] |= bit
			s.n++
			return s.next, true
		}
	}
}

// mark takes id, if free.
func (s *idSet) mark(id uint16) {
	w, bit := id/64, uint64(1)<<(id%64)
	if id != 0 && s.used[w]&bit == 0 {
		s.used[w] |= bit
		s.n++
	}
}

func (s *idSet) free(id uint16) {
	w, bit := id/64, uint64(1)<<(id%64)
	if s.used[w]&bit != 0 {
		s.used[w] &^= bit
		s.n--
	}
}

// freeID releases id and wakes those waiting for one. c.mu must be held.
func (c *Client) freeID(id uint16) {
	c.ids.free(id)
	c.wakeFreed()
}

// freed returns a channel closed when an identifier is next freed. It is
// made only when someone waits, so that an acknowledgement nobody waits
// for costs no allocation. c.mu must be held.
func (c *Client) freed() <-chan struct{} {
	if c.idFreed == nil {
		c.idFreed = make(chan struct{})
	}
	return c.idFreed
}

// wakeFreed wakes those waiting on freed. c.mu must be held.
func (c *Client) wakeFreed() {
	if c.idFreed != nil {
		close(c.idFreed)
		c.idFreed = nil
	}
}

// bufPool recycles the buffers of encoded packets.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func getBuf() []byte { return (*bufPool.Get().(*[]byte))[:0] }

func putBuf(b []byte) {
	if cap(b) <= 64<<10 {
		bufPool.Put(&b)
	}
}

// start makes cn the live connection: it re-sends the session's
// unacknowledged flows and sends the messages queued while reconnecting,
// in their original order, then starts the goroutines.
func (c *Client) start(nc net.Conn, r *packet.Reader, src *firstBytes, sessionPresent bool) *conn {
	cn := c.newConn(nc, r)
	src.cn = cn
	if !c.cfg.PersistentSession || !sessionPresent {
		// The server holds no QoS 2 message of ours awaiting PUBREL.
		c.forgetInbound()
	}
	c.mu.Lock()
	flows := make([]*flow, 0, len(c.flows))
	for _, f := range c.flows {
		if !f.storing { // else storeFlow sends it
			flows = append(flows, f)
		}
	}
	slices.SortFunc(flows, func(a, b *flow) int { return cmp.Compare(a.seq, b.seq) })
	resent := 0
	for _, f := range flows {
		switch {
		case f.released:
			cn.enqueue(ackOut(packet.TypePubrel, f.id))
			resent++
		case f.sent:
			b := slices.Clone(f.buf)
			b[0] |= 0b1000 // DUP: a re-delivery [MQTT-3.3.1-1]
			cn.enqueue(outgoing{b: b})
			f.sentOn, f.inMark = cn, 0
			resent++
		default:
			c.sendFlow(cn, f)
		}
	}
	cn.wake() // for the flows sendFlow queued
	c.conn, c.last = cn, cn
	c.wakeFreed() // QoS 0 messages waiting for a connection
	c.mu.Unlock()
	c.stats.connections.Add(1)
	c.stats.resent.Add(uint64(resent))
	if resent > 0 || len(flows) > resent {
		c.log.Info("mqtt: sending the session's messages", "resent", resent, "queued", len(flows)-resent)
	}
	cn.run()
	return cn
}

// connLost updates the session when cn ends: waiters learn that the outcome
// is unknown; without PersistentSession the flows sent on cn end with it. While the
// client reconnects, with PersistentSession, the waiters of flows go on
// waiting: their messages will be sent again.
func (c *Client) connLost(cn *conn, cause error) {
	err := cn.lostErr()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == cn {
		c.conn = nil
	}
	reconnecting := c.sup != nil && !errors.Is(cause, ErrDisconnected)
	if f, err := c.refusal(cn, cause); err != nil {
		// Not sent again: the server would close the connection again. The
		// writer may still hold its buffer: that is left to the collector.
		f.buf = nil
		c.endFlow(f, err)
	}
	for id, f := range c.flows {
		// Without PersistentSession the server forgets the flows sent on
		// cn. A QoS 1 message is sent again on the next connection, in its
		// place, so that the order holds (at least once allows it); a QoS 2
		// message cannot be, without risking a second delivery, and fails.
		if !c.cfg.PersistentSession && (!reconnecting || f.sent && f.qos == packet.QoS2) {
			c.storeDelete(f.seq) // before the waiter learns of it
			f.finish(err)
			delete(c.flows, id)
			c.ids.free(id)
			if f.slot {
				<-c.inflight
			}
			c.unqueue(&f.queued)
			continue
		}
		if !reconnecting {
			f.finish(err)
		}
	}
	for id, r := range c.requests {
		r.err = err
		close(r.done)
		delete(c.requests, id)
		c.ids.free(id)
	}
	c.wakeFreed()
	if cause != ErrDisconnected {
		c.log.Warn("mqtt: connection lost", "client_id", c.cfg.ClientID, "error", cause)
	}
}

// handle applies a packet from the server to the session. An error ends the
// connection.
func (c *Client) handle(cn *conn, p packet.Packet) error {
	switch p := p.(type) {
	case *packet.Publish:
		return c.receive(cn, p)
	case *packet.Puback:
		return c.complete(p.PacketID, packet.TypePuback)
	case *packet.Pubrec:
		return c.pubrec(cn, p.PacketID)
	case *packet.Pubcomp:
		return c.complete(p.PacketID, packet.TypePubcomp)
	case *packet.Pubrel:
		c.pubrel(cn, p.PacketID)
	case *packet.Suback:
		return c.ack(p.PacketID, packet.TypeSubscribe, p.ReturnCodes)
	case *packet.Unsuback:
		return c.ack(p.PacketID, packet.TypeUnsubscribe, nil)
	case *packet.Pingresp:
		cn.pingSent.Store(0)
		cn.pinged()
	case *packet.Connack:
		return fmt.Errorf("mqtt: the server sent a second CONNACK [MQTT-3.2.0-1]: %w", ErrProtocolViolation)
	default: // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT
		return fmt.Errorf("mqtt: the server sent %v, which only a client may send: %w", p.Type(), ErrProtocolViolation)
	}
	return nil
}

// complete ends the flow that PUBACK (QoS 1) or PUBCOMP (QoS 2)
// acknowledges. An acknowledgement of the other QoS, or PUBCOMP before
// PUBREC, fails the flow and ends the connection (see wrongAck).
func (c *Client) complete(id uint16, t packet.Type) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.flows[id]
	if f == nil {
		c.log.Warn("mqtt: ignoring an unsolicited acknowledgement", "type", t, "packet_id", id)
		return nil
	}
	if t == packet.TypePuback && f.qos != packet.QoS1 || t == packet.TypePubcomp && !f.released {
		return c.wrongAck(f, t)
	}
	c.refused = refusals{}
	if f.buf != nil {
		c.maxAcked = max(c.maxAcked, len(f.buf))
	}
	c.endFlow(f, nil)
	return nil
}

// endFlow takes f out of the session, giving back its packet identifier,
// its place in the window and its buffer, forgets it in the store, and
// then tells its waiter err: a program that exits once Publish has
// returned leaves nothing in the store to send again. c.mu must be held.
func (c *Client) endFlow(f *flow, err error) {
	delete(c.flows, f.id)
	c.freeID(f.id)
	if f.slot {
		f.slot = false
		<-c.inflight
	}
	if f.buf != nil {
		// Acknowledged, so written: the writer is done with it.
		putBuf(f.buf)
		f.buf = nil
	}
	c.storeDelete(f.seq)
	f.finish(err)
}

// wrongAck fails f, which the server answered with t, an acknowledgement
// of the other QoS or out of turn: a protocol violation, which ends the
// connection [MQTT-4.8.0-1]. The message is not sent again, as a server
// that answers so would answer so again: a broker without QoS 2 (RabbitMQ
// 3.10 answers QoS 2 with PUBACK, having downgraded it to QoS 1) would
// otherwise make Publish wait forever. c.mu must be held.
func (c *Client) wrongAck(f *flow, t packet.Type) error {
	var err error
	switch {
	case f.qos == packet.QoS2 && t == packet.TypePuback:
		err = fmt.Errorf("mqtt: the server answered the QoS 2 PUBLISH (packet id %d) with PUBACK, where QoS 2 wants PUBREC [MQTT-4.3.3-2]: "+
			"the broker may not support QoS 2 (RabbitMQ 3.10 answers QoS 2 with PUBACK, delivering at QoS 1); publish at QoS 1, or use a broker that supports QoS 2: %w",
			f.id, ErrProtocolViolation)
	case f.qos == packet.QoS1:
		err = fmt.Errorf("mqtt: the server answered the QoS 1 PUBLISH (packet id %d) with %v, where QoS 1 wants PUBACK [MQTT-4.3.2-2]: "+
			"the broker does not follow the QoS 1 exchange; publish at QoS 0 or QoS 2, or use a broker that follows MQTT 3.1.1: %w",
			f.id, t, ErrProtocolViolation)
	default: // PUBCOMP before PUBREC
		err = fmt.Errorf("mqtt: the server answered the QoS 2 PUBLISH (packet id %d) with PUBCOMP before PUBREC [MQTT-4.3.3-2]: "+
			"the broker does not follow the QoS 2 exchange, so exactly once is not assured; publish at QoS 1, or use a broker that supports QoS 2: %w",
			f.id, ErrProtocolViolation)
	}
	c.endFlow(f, err)
	return err
}

// pubrec moves a QoS 2 flow to its second half: the PUBLISH is never sent
// again, PUBREL is. PUBREC for a QoS 1 flow fails it (see wrongAck).
func (c *Client) pubrec(cn *conn, id uint16) error {
	c.mu.Lock()
	f := c.flows[id]
	if f == nil {
		c.mu.Unlock()
		c.log.Warn("mqtt: ignoring an unsolicited acknowledgement", "type", packet.TypePubrec, "packet_id", id)
		return nil
	}
	if f.qos != packet.QoS2 {
		defer c.mu.Unlock()
		return c.wrongAck(f, packet.TypePubrec)
	}
	first := !f.released
	if first {
		// PUBREC acknowledges the PUBLISH, as PUBACK does at QoS 1: the
		// server took a message this large (see refusal).
		c.refused = refusals{}
		c.maxAcked = max(c.maxAcked, len(f.buf))
		f.released = true
		putBuf(f.buf)
		f.buf = nil
	}
	if first && c.cfg.Store != nil {
		// PUBREC is on disk before PUBREL is sent, so that a restarted
		// client never sends the PUBLISH again.
		c.mu.Unlock()
		if err := c.cfg.Store.Release(f.seq); err != nil {
			c.log.Error("mqtt: store: recording PUBREC", "seq", f.seq, "error", err)
		}
		c.mu.Lock()
	}
	cn.enqueue(ackOut(packet.TypePubrel, id))
	c.mu.Unlock()
	return nil
}

// pubrel releases a received QoS 2 message: its identifier may now be
// reused by the server. A PUBREL for an unknown identifier is answered all
// the same, as the server may re-send it after a reconnect.
func (c *Client) pubrel(cn *conn, id uint16) {
	c.mu.Lock()
	in := c.inbound[id]
	if in.st != inboundPending {
		delete(c.inbound, id)
	}
	if in.st == inboundHandled && c.cfg.Store != nil {
		c.mu.Unlock()
		if err := c.cfg.Store.DeleteInbound(id); err != nil {
			c.log.Error("mqtt: store: forgetting an inbound QoS 2 identifier", "packet_id", id, "error", err)
		}
		c.mu.Lock()
	}
	if c.cfg.PersistentSession {
		if in.st == inboundHandled && in.conn == cn.id {
			c.released.confirm(cn, in.mark)
		}
		c.released.add(cn, id, in)
	}
	// Under c.mu, so that PUBCOMPs are handed over in the order of their
	// numbers (see releasedSet).
	cn.enqueue(ackOut(packet.TypePubcomp, id))
	c.mu.Unlock()
}

// ack completes the SUBSCRIBE or UNSUBSCRIBE that a SUBACK or UNSUBACK
// answers. A SUBACK with a different number of return codes than the
// request had filters is a protocol violation.
func (c *Client) ack(id uint16, kind packet.Type, codes []packet.SubackCode) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.requests[id]
	if r == nil || r.kind != kind {
		t := packet.TypeSuback
		if kind == packet.TypeUnsubscribe {
			t = packet.TypeUnsuback
		}
		c.log.Warn("mqtt: ignoring an unsolicited acknowledgement", "type", t, "packet_id", id)
		return nil
	}
	if kind == packet.TypeSubscribe && len(codes) != r.filters {
		return fmt.Errorf("mqtt: SUBACK for packet id %d has %d return codes for %d filters [MQTT-3.8.4-5]: %w",
			id, len(codes), r.filters, ErrProtocolViolation)
	}
	delete(c.requests, id)
	c.freeID(id)
	r.done <- slices.Clone(codes)
	return nil
}

// minRefusalSize is the size up to which a PUBLISH is never taken for
// refused (see refusal): brokers' packet size limits are far above it,
// and on a link cut every few hundred milliseconds, before the first
// acknowledgement came back under load, the first small message of a run
// would otherwise be given up.
const minRefusalSize = 256

// refusalLimit is how many times in a row the server may close the
// connection right after the same message before the client gives the
// message up as refused (see Client.refusal).
const refusalLimit = 3

// refusals counts the connections in a row that the server closed right
// after the same message: the PUBLISH was the oldest awaiting its
// acknowledgement, and nothing came from the server after it was handed
// to the connection. Brokers close the connection so on a packet over
// their size limit (Mosquitto's max_packet_size, and message_size_limit
// for some versions), and the client would otherwise send it again on
// every reconnection, for ever. Any acknowledgement resets it, and only a
// message larger than any acknowledged (Client.maxAcked) counts: no
// smaller one can be over the limit.
type refusals struct {
	sig uint64 // the message's topic and payload, hashed; the same message sent again by a new Publish counts too
	n   int
}

var refusalSeed = maphash.MakeSeed()

// refusal notes whether cn, ending for cause, was closed right after one
// of the session's messages, and returns that flow with the error to fail
// it with once the server has done so refusalLimit times in a row; nil
// otherwise. c.mu must be held.
func (c *Client) refusal(cn *conn, cause error) (*flow, error) {
	if errors.Is(cause, ErrDisconnected) || errors.Is(cause, ErrPingTimeout) || errors.Is(cause, ErrProtocolViolation) {
		return nil, nil
	}
	var oldest *flow
	for _, f := range c.flows {
		if f.sentOn == cn && f.buf != nil && !f.released && (oldest == nil || f.seq < oldest.seq) {
			oldest = f
		}
	}
	// The server's size limit is the same on every connection: a message
	// no larger than one it acknowledged is not over it, and a connection
	// lost right after it is a cut like any other.
	if oldest == nil || cn.packetsIn.Load() != oldest.inMark || len(oldest.buf) <= max(c.maxAcked, minRefusalSize) {
		return nil, nil
	}
	topic, payload := publishParts(oldest.buf)
	var h maphash.Hash
	h.SetSeed(refusalSeed)
	h.Write(topic)
	h.Write(payload)
	sig := h.Sum64()
	if c.refused.sig != sig {
		c.refused = refusals{sig: sig}
	}
	c.refused.n++
	c.log.Warn("mqtt: the server closed the connection right after a message", "packet_id", oldest.id,
		"bytes", len(oldest.buf), "times", c.refused.n)
	if c.refused.n < refusalLimit {
		return nil, nil
	}
	c.refused = refusals{}
	return oldest, fmt.Errorf("mqtt: the server closed the connection right after this message (a PUBLISH of %d bytes to %q, larger than any it acknowledged), %d times in a row: "+
		"it is probably over the broker's size limit (Mosquitto: message_size_limit, max_packet_size); send a smaller message or raise the broker's limit, "+
		"and set Config.MaxPacketSize to that limit so that Publish refuses such a message at once: %w",
		len(oldest.buf), topic, refusalLimit, ErrTooLarge)
}

// publishParts returns the topic and payload of an encoded QoS 1 or 2
// PUBLISH.
func publishParts(b []byte) (topic, payload []byte) {
	i := 1
	for i < len(b) && b[i]&0x80 != 0 { // Remaining Length
		i++
	}
	i++
	if i+2 > len(b) {
		return nil, nil
	}
	n := int(b[i])<<8 | int(b[i+1])
	i += 2
	if i+n+2 > len(b) {
		return nil, nil
	}
	return b[i : i+n], b[i+n+2:]
}
