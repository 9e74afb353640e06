package store

import (
	"fmt"
	"maps"
	"slices"

	"github.com/petrel-mqtt/petrel/internal/wal"
)

// maxPacket is the largest MQTT packet: a fixed header of 5 bytes and
// the largest Remaining Length, 268,435,455 (section 2.2.3).
const maxPacket = 5 + 268_435_455

// entry is an outgoing message in the state.
type entry struct {
	id       uint16
	qos      byte
	released bool
	packet   []byte // the store's own copy; nil once released
}

// state is what both stores keep: the outgoing flows by seq, the inbound
// QoS 2 identifiers, the highest seq ever put, and how many bytes a
// snapshot of it takes in a log (for compaction). It does no locking.
type state struct {
	out     map[uint64]entry
	inbound map[uint16]struct{}
	lastSeq uint64
	live    int64
}

func newState() state {
	return state{out: map[uint64]entry{}, inbound: map[uint16]struct{}{}, live: wal.RecordSize(resetSize)}
}

// checkPut returns why o cannot be put, or nil.
func (s *state) checkPut(o Outgoing) error {
	reason := ""
	switch {
	case o.Seq == 0:
		reason = "Seq 0: sequence numbers start at 1"
	case o.QoS != 1 && o.QoS != 2:
		reason = fmt.Sprintf("QoS %d is not 1 or 2", o.QoS)
	case o.PacketID == 0:
		reason = "packet identifier 0 [MQTT-2.3.1-1]"
	case o.Released && o.QoS != 2:
		reason = "Released with QoS 1: only a QoS 2 message is released"
	case !o.Released && len(o.Packet) == 0:
		reason = "no Packet"
	case len(o.Packet) > maxPacket:
		reason = fmt.Sprintf("Packet of %d bytes, above MQTT's largest packet (%d bytes)", len(o.Packet), maxPacket)
	case s.has(o.Seq):
		reason = "a message with this Seq is in the store already"
	default:
		return nil
	}
	return &OpError{Op: "PutOutgoing", Seq: o.Seq, Reason: reason, Err: ErrInvalid}
}

// put adds o, whose Packet is the store's own copy.
func (s *state) put(o Outgoing) {
	e := entry{id: o.PacketID, qos: o.QoS, released: o.Released, packet: o.Packet}
	if e.released {
		e.packet = nil
	}
	s.out[o.Seq] = e
	s.lastSeq = max(s.lastSeq, o.Seq)
	s.live += wal.RecordSize(putSize + len(e.packet))
}

// has reports whether a message has seq.
func (s *state) has(seq uint64) bool {
	_, ok := s.out[seq]
	return ok
}

// checkRelease returns why seq cannot be released, or nil.
func (s *state) checkRelease(seq uint64) error {
	switch e, ok := s.out[seq]; {
	case !ok:
		return &OpError{Op: "Release", Seq: seq, Reason: "no outgoing message has this Seq", Err: ErrNotFound}
	case e.qos != 2:
		return &OpError{Op: "Release", Seq: seq, Reason: "a QoS 1 message has no PUBREC", Err: ErrInvalid}
	}
	return nil
}

// release marks the message with seq released and drops its packet. It
// reports whether that changed anything.
func (s *state) release(seq uint64) bool {
	e, ok := s.out[seq]
	if !ok || e.released {
		return false
	}
	s.live -= int64(len(e.packet))
	e.released, e.packet = true, nil
	s.out[seq] = e
	return true
}

// remove forgets the message with seq, reporting whether there was one.
func (s *state) remove(seq uint64) bool {
	e, ok := s.out[seq]
	if !ok {
		return false
	}
	s.live -= wal.RecordSize(putSize + len(e.packet))
	delete(s.out, seq)
	return true
}

func checkInbound(op string, id uint16) error {
	if id == 0 {
		return &OpError{Op: op, Reason: "packet identifier 0 [MQTT-2.3.1-1]", Err: ErrInvalid}
	}
	return nil
}

// putInbound adds id, reporting whether it was new.
func (s *state) putInbound(id uint16) bool {
	if _, ok := s.inbound[id]; ok {
		return false
	}
	s.inbound[id] = struct{}{}
	s.live += wal.RecordSize(inboundSize)
	return true
}

// removeInbound forgets id, reporting whether it was there.
func (s *state) removeInbound(id uint16) bool {
	if _, ok := s.inbound[id]; !ok {
		return false
	}
	delete(s.inbound, id)
	s.live -= wal.RecordSize(inboundSize)
	return true
}

// reset forgets everything but lastSeq.
func (s *state) reset() {
	clear(s.out)
	clear(s.inbound)
	s.live = wal.RecordSize(resetSize)
}

// load returns a copy of the state: the outgoing messages by Seq, the
// inbound identifiers in ascending order, and lastSeq.
func (s *state) load() ([]Outgoing, []uint16, uint64) {
	var out []Outgoing
	for _, seq := range slices.Sorted(maps.Keys(s.out)) {
		e := s.out[seq]
		out = append(out, Outgoing{Seq: seq, PacketID: e.id, QoS: e.qos, Released: e.released, Packet: slices.Clone(e.packet)})
	}
	return out, slices.Sorted(maps.Keys(s.inbound)), s.lastSeq
}
