package broker

import (
	"encoding/binary"
	"errors"
	"strings"

	"github.com/petrel-mqtt/petrel/packet"
)

// Record types of the persistence log. A snapshot is a run of records:
// each session record is followed by the records of its subscriptions
// and messages; retained messages stand alone.
const (
	recSession  byte = 'S' // persistent session: id, next packet id, inbound QoS 2 ids
	recSub      byte = 'B' // subscription of the last session: filter, QoS
	recInflight byte = 'F' // in-flight message of the last session
	recQueued   byte = 'Q' // queued message of the last session
	recRetained byte = 'R' // retained message
)

// Encodings (all integers unsigned varints, strings a varint length and
// the bytes):
//
//	S: id, nextID, count, count × inbound id[, owner, user]
//
// (a session record written before sessions had owners ends after the
// inbound ids; its session is adopted by the next client that connects)
//	B: filter, qos
//	F: packet id, released (0/1), qos, retain (0/1), topic, payload
//	Q: qos, retain (0/1), topic, payload
//	R: qos, topic, payload

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendStr[T string | []byte](b []byte, s T) []byte {
	return append(appendUvarint(b, uint64(len(s))), s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func encodeSession(b []byte, s *session) []byte {
	b = appendStr(b, s.id)
	b = appendUvarint(b, uint64(s.nextID))
	b = appendUvarint(b, uint64(len(s.inbound)))
	for id := range s.inbound {
		b = appendUvarint(b, uint64(id))
	}
	b = appendStr(b, s.owner)
	return appendStr(b, s.identity().Username)
}

func encodeSub(b []byte, filter string, q packet.QoS) []byte {
	return appendUvarint(appendStr(b, filter), uint64(q))
}

func encodeFlight(b []byte, f *flight) []byte {
	b = appendUvarint(b, uint64(f.id))
	b = appendBool(b, f.released)
	return encodeDelivery(b, f.d)
}

func encodeDelivery(b []byte, d delivery) []byte {
	b = appendUvarint(b, uint64(d.qos))
	b = appendBool(b, d.retain)
	b = appendStr(b, d.m.topic)
	return appendStr(b, d.m.payload)
}

func encodeRetained(b []byte, m *message) []byte {
	b = appendUvarint(b, uint64(m.qos))
	b = appendStr(b, m.topic)
	return appendStr(b, m.payload)
}

var errRecord = errors.New("malformed persistence record")

// decoder reads the fields of one record; the first fault sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint(max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > max {
		d.err = errRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() []byte {
	n := d.uvarint(uint64(len(d.b)))
	if d.err != nil {
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) bool() bool { return d.uvarint(1) == 1 }

func (d *decoder) qos() packet.QoS { return packet.QoS(d.uvarint(uint64(packet.QoS2))) }

// topic reads a topic name and checks it as the codec would.
func (d *decoder) topic() string {
	t := string(d.str())
	if d.err == nil && packet.ValidateTopicName(t) != nil {
		d.err = errRecord
	}
	return t
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = errRecord
	}
	return d.err
}

func (d *decoder) delivery() delivery {
	q := d.qos()
	retain := d.bool()
	topic := d.topic()
	payload := d.str()
	return delivery{m: newMessage(topic, payload, q, false), qos: q, retain: retain}
}

// loader rebuilds the broker's state from the records of a snapshot.
type loader struct {
	s    *Server
	cur  *session
	seen map[uint16]bool
}

func (l *loader) record(typ byte, payload []byte) error {
	d := &decoder{b: payload}
	switch typ {
	case recSession:
		id := string(d.str())
		s := newSession(l.s, id, false)
		s.nextID = uint16(d.uvarint(65535))
		n := d.uvarint(65535)
		for range n {
			s.inbound[uint16(d.uvarint(65535))] = struct{}{}
		}
		if len(d.b) > 0 {
			s.owner = string(d.str())
			s.setUser(string(d.str()))
		}
		if err := d.done(); err != nil {
			return err
		}
		if _, dup := l.s.sessions[id]; dup || id == "" {
			return errRecord
		}
		l.s.sessions[id] = s
		l.cur, l.seen = s, make(map[uint16]bool)
	case recSub:
		filter := string(d.str())
		q := d.qos()
		if err := d.done(); err != nil {
			return err
		}
		if l.cur == nil || packet.ValidateTopicFilter(filter) != nil {
			return errRecord
		}
		l.cur.subs[filter] = q
		l.s.subs.add(filter, l.cur, q)
	case recInflight:
		id := uint16(d.uvarint(65535))
		released := d.bool()
		dl := d.delivery()
		if err := d.done(); err != nil {
			return err
		}
		if l.cur == nil || id == 0 || l.seen[id] || dl.qos == packet.QoS0 || released && dl.qos != packet.QoS2 {
			return errRecord
		}
		l.seen[id] = true
		f := &flight{id: id, d: dl, released: released}
		f.sent.Store(true) // as far as anyone knows
		l.cur.inflight = append(l.cur.inflight, f)
		l.cur.byID[id] = f
	case recQueued:
		dl := d.delivery()
		if err := d.done(); err != nil {
			return err
		}
		if l.cur == nil {
			return errRecord
		}
		l.cur.queue.push(dl)
	case recRetained:
		q := d.qos()
		topic := d.topic()
		payload := d.str()
		if err := d.done(); err != nil {
			return err
		}
		if len(payload) > 0 && !strings.HasPrefix(topic, "$SYS/") {
			l.s.retained.set(newMessage(topic, payload, q, true))
		}
	default:
		return errRecord
	}
	return nil
}
