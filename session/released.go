package session

import (
	"hash/maphash"

	"github.com/petrel-mqtt/petrel/packet"
)

// releasedSet remembers the QoS 2 messages received and released (PUBREL
// came, PUBCOMP was handed over) until the server has read the PUBCOMP,
// so that a server that sends such a message again is answered without
// handing it over twice.
//
// A server must not send a PUBLISH again once it has sent PUBREL
// [MQTT-4.3.3-1], yet Mosquitto 2.0 does, through a link cut often: a
// reconnection turns a message awaiting PUBCOMP into one that owes PUBREL,
// and a second reconnection before that PUBREL was written turns it into
// one that owes the PUBLISH, with DUP set. The client has forgotten the
// identifier at PUBREL [MQTT-4.3.3-2], so it would take the PUBLISH for a
// new message. A new message can reuse the identifier only once the
// server has read the PUBCOMP; until then, a PUBLISH with DUP set, the
// same identifier and the same topic and payload is the released message
// again.
//
// The server reads a connection's packets in order, so the PUBREL that
// answers a PUBREC says that it has read every PUBCOMP handed to that
// connection before the PUBREC. PUBCOMPs are numbered in the order they
// are handed over (n), each PUBREC notes the number reached (received.mark),
// and a PUBREL confirms the PUBCOMPs numbered below it: those leave the
// set. A record whose connection ended before its confirmation stays
// until the identifier is seen again. Only with PersistentSession: a
// server without the session sends nothing again. Not kept in the Store.
//
// Guarded by Client.mu.
type releasedSet struct {
	m     map[uint16]released
	queue []releasedRef // records on their way to confirmation, by number
	n     uint64        // PUBCOMPs numbered so far
}

// released is a message released, its PUBCOMP the k-th handed over, to
// the connection numbered conn (conn.id: a number, so that the set keeps
// no ended connection alive).
type released struct {
	sig  uint64
	conn uint64
	k    uint64
}

type releasedRef struct {
	id uint16
	k  uint64
}

// maxReleasedQueue bounds the records awaiting confirmation; beyond it the
// oldest are no longer confirmed, and stay until their identifier is seen
// again.
const maxReleasedQueue = 1 << 14

var sigSeed = maphash.MakeSeed()

// messageSig hashes a message's topic and payload.
func messageSig(topic, payload []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(sigSeed)
	h.Write(topic)
	h.WriteByte(0)
	h.Write(payload)
	return h.Sum64()
}

// add records the release of id, received as in, whose PUBCOMP is about
// to be handed to cn. A PUBREL for an identifier already released (its
// PUBCOMP lost with a connection) renews the record.
func (s *releasedSet) add(cn *conn, id uint16, in received) {
	r, ok := s.m[id]
	switch {
	case in.st == inboundHandled:
		r = released{sig: in.sig}
	case !ok:
		s.n++
		return
	}
	if s.m == nil {
		s.m = make(map[uint16]released)
	}
	r.conn, r.k = cn.id, s.n
	s.m[id] = r
	if len(s.queue) == maxReleasedQueue {
		s.queue = s.queue[1:]
	}
	s.queue = append(s.queue, releasedRef{id, s.n})
	s.n++
}

// confirm forgets the records whose PUBCOMP, numbered below mark, was
// handed to cn: the server has read it.
func (s *releasedSet) confirm(cn *conn, mark uint64) {
	i := 0
	for ; i < len(s.queue) && s.queue[i].k < mark; i++ {
		ref := s.queue[i]
		if r, ok := s.m[ref.id]; ok && r.k == ref.k && r.conn == cn.id {
			delete(s.m, ref.id)
		}
	}
	if i > 0 {
		n := copy(s.queue, s.queue[i:])
		s.queue = s.queue[:n]
	}
}

// again reports whether p, a QoS 2 PUBLISH whose identifier the client
// does not hold, whose topic and payload hash to sig, is a message already
// released, sent again. Any other PUBLISH with that identifier ends the
// record: the server has moved on to a new message.
func (s *releasedSet) again(p *packet.Publish, sig uint64) bool {
	r, ok := s.m[p.PacketID]
	if !ok {
		return false
	}
	delete(s.m, p.PacketID)
	return p.Dup && r.sig == sig
}
