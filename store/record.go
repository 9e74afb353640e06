package store

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
)

// The record types of a File's log, and their payloads (big-endian).
const (
	// recPut: seq uint64, packet identifier uint16, QoS byte, flags byte
	// (bit 0: released), then the packet (none when released).
	recPut byte = 1
	// recRelease: seq uint64.
	recRelease byte = 2
	// recDelete: seq uint64.
	recDelete byte = 3
	// recInbound: packet identifier uint16.
	recInbound byte = 4
	// recInboundDelete: packet identifier uint16.
	recInboundDelete byte = 5
	// recReset: lastSeq uint64. Forgets the state but lastSeq, which
	// becomes at least this; a compacted log starts with one.
	recReset byte = 6
)

// The sizes of the payloads (of recPut, without the packet).
const (
	putSize     = 12
	seqSize     = 8
	inboundSize = 2
	resetSize   = 8
)

const flagReleased = 1

func appendPut(b []byte, seq uint64, id uint16, qos byte, released bool, packet []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, seq)
	b = binary.BigEndian.AppendUint16(b, id)
	flags := byte(0)
	if released {
		flags = flagReleased
	}
	return append(append(b, qos, flags), packet...)
}

// apply replays a record onto s. A record that does not fit its type, or
// the state, is skipped and described by reason; a record of a type this
// package does not know is an error.
func (s *state) apply(typ byte, p []byte) (reason string, err error) {
	want := payloadSize(typ)
	switch {
	case want == 0:
		return "", fmt.Errorf("%w: record type %d (written by a newer version?)", ErrFormat, typ)
	case len(p) < want || (typ != recPut && len(p) != want):
		return fmt.Sprintf("record type %d with a payload of %d bytes, want %d", typ, len(p), want), nil
	}
	switch typ {
	case recPut:
		o := Outgoing{
			Seq:      binary.BigEndian.Uint64(p),
			PacketID: binary.BigEndian.Uint16(p[8:]),
			QoS:      p[10],
			Released: p[11]&flagReleased != 0,
			Packet:   slices.Clone(p[12:]),
		}
		if p[11]&^flagReleased != 0 {
			return fmt.Sprintf("put of seq %d with unknown flags %#x", o.Seq, p[11]), nil
		}
		if o.Released && len(o.Packet) != 0 {
			return fmt.Sprintf("put of seq %d, released, with a packet", o.Seq), nil
		}
		if err := s.checkPut(o); err != nil {
			return err.(*OpError).Reason, nil
		}
		s.put(o)
	case recRelease:
		seq := binary.BigEndian.Uint64(p)
		if err := s.checkRelease(seq); err != nil {
			return err.(*OpError).Reason + fmt.Sprintf(" (release of seq %d)", seq), nil
		}
		s.release(seq)
	case recDelete:
		s.remove(binary.BigEndian.Uint64(p))
	case recInbound, recInboundDelete:
		id := binary.BigEndian.Uint16(p)
		if id == 0 {
			return fmt.Sprintf("record type %d with packet identifier 0", typ), nil
		}
		if typ == recInbound {
			s.putInbound(id)
		} else {
			s.removeInbound(id)
		}
	case recReset:
		s.reset()
		s.lastSeq = max(s.lastSeq, binary.BigEndian.Uint64(p))
	}
	return "", nil
}

// snapshot emits the records that rebuild s: a reset carrying lastSeq, the
// outgoing messages by seq, the inbound identifiers.
func (s *state) snapshot(emit func(byte, []byte) error) error {
	b := binary.BigEndian.AppendUint64(nil, s.lastSeq)
	if err := emit(recReset, b); err != nil {
		return err
	}
	for _, seq := range slices.Sorted(maps.Keys(s.out)) {
		e := s.out[seq]
		b = appendPut(b[:0], seq, e.id, e.qos, e.released, e.packet)
		if err := emit(recPut, b); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.inbound)) {
		if err := emit(recInbound, binary.BigEndian.AppendUint16(b[:0], id)); err != nil {
			return err
		}
	}
	return nil
}

// maxRecord is the largest payload of a record: a put of the largest packet.
const maxRecord = putSize + maxPacket

// payloadSize returns the size of typ's payload (the least, for recPut),
// or 0 for an unknown type.
func payloadSize(typ byte) int {
	switch typ {
	case recPut:
		return putSize
	case recRelease, recDelete:
		return seqSize
	case recInbound, recInboundDelete:
		return inboundSize
	case recReset:
		return resetSize
	}
	return 0
}
