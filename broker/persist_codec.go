package broker

import (
	"encoding/binary"
	"errors"
	"strings"

	"github.com/petrel-mqtt/petrel/packet"
)

// Record types of the persistence log (persist.go). Each record of a
// session starts with the session's ClientId.
const (
	recNewSession  byte = 'n' // a persistent session made anew: id, owner, user
	recOwner       byte = 'o' // a session's owner and user changed: id, owner, user
	recEnded       byte = 'x' // a session ended: id
	recSub         byte = 's' // a subscription: id, filter, qos
	recUnsub       byte = 'u' // a subscription ended: id, filter, 0
	recQueued      byte = 'q' // a QoS 1 or 2 message queued: id, seq, qos, retain, topic, payload
	recSent        byte = 'f' // a queued message in flight: id, seq, packet id
	recReleased    byte = 'p' // PUBREC received for a QoS 2 message: id, seq
	recDone        byte = 'a' // a message acknowledged: id, seq
	recInbound     byte = 'i' // an incoming QoS 2 identifier awaiting PUBREL: id, packet id
	recInboundDone byte = 'j' // that identifier released: id, packet id
	recRetained    byte = 'r' // a retained message, or its deletion (empty payload): qos, topic, payload
)

// The record types of the snapshots of earlier versions, read once and
// converted: each session record is followed by the records of its
// subscriptions and messages.
const (
	legacySession  byte = 'S' // id, next packet id, count, count × inbound id[, owner, user]
	legacySub      byte = 'B' // filter, qos
	legacyInflight byte = 'F' // packet id, released (0/1), qos, retain (0/1), topic, payload
	legacyQueued   byte = 'Q' // qos, retain (0/1), topic, payload
	legacyRetained byte = 'R' // qos, topic, payload
)

// All integers are unsigned varints, strings a varint length and the
// bytes.

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

func encodeOwner(b []byte, id, owner, user string) []byte {
	return appendStr(appendStr(appendStr(b, id), owner), user)
}

func encodeSub(b []byte, filter string, q packet.QoS) []byte {
	return appendUvarint(appendStr(b, filter), uint64(q))
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

// replay applies one record of the log to the image. A record that names
// a session or a message the image does not hold is ignored; a malformed
// one fails the open, naming the record.
func (st *store) replay(typ byte, payload []byte) error {
	d := &decoder{b: payload}
	session := func() (string, *dstore) {
		id := string(d.str())
		return id, st.sessions[id]
	}
	switch typ {
	case recNewSession, recOwner:
		id, ds := session()
		owner, user := string(d.str()), string(d.str())
		if err := d.done(); err != nil {
			return err
		}
		if id == "" {
			return errRecord
		}
		if typ == recNewSession || ds == nil {
			if ds != nil {
				st.live -= st.sessionLive(ds)
			}
			ds = newDstore()
			st.sessions[id] = ds
			st.live += recordOverhead + int64(len(id))
		}
		ds.owner, ds.user = owner, user
	case recEnded:
		id, ds := session()
		if err := d.done(); err != nil {
			return err
		}
		if ds != nil {
			st.live -= st.sessionLive(ds)
			delete(st.sessions, id)
		}
	case recSub, recUnsub:
		_, ds := session()
		filter := string(d.str())
		q := d.qos()
		if err := d.done(); err != nil {
			return err
		}
		if packet.ValidateTopicFilter(filter) != nil {
			return errRecord
		}
		if ds == nil {
			return nil
		}
		_, had := ds.subs[filter]
		if typ == recUnsub {
			if had {
				delete(ds.subs, filter)
				st.live -= recordOverhead + int64(len(filter))
			}
			return nil
		}
		if !had {
			st.live += recordOverhead + int64(len(filter))
		}
		ds.subs[filter] = q
	case recQueued:
		_, ds := session()
		seq := d.uvarint(1<<63 - 1)
		dl := d.delivery()
		if err := d.done(); err != nil {
			return err
		}
		if dl.qos == packet.QoS0 {
			return errRecord
		}
		if ds == nil {
			return nil
		}
		dl.seq = seq
		if old := ds.msgs[seq]; old != nil {
			st.live -= msgLive(old.d)
		}
		ds.msgs[seq] = &dmsg{d: dl}
		st.live += msgLive(dl)
	case recSent, recReleased, recDone:
		_, ds := session()
		seq := d.uvarint(1<<63 - 1)
		var pid uint16
		if typ == recSent {
			pid = uint16(d.uvarint(65535))
		}
		if err := d.done(); err != nil {
			return err
		}
		if typ == recSent && pid == 0 {
			return errRecord
		}
		if ds == nil || ds.msgs[seq] == nil {
			return nil
		}
		m := ds.msgs[seq]
		switch typ {
		case recSent:
			m.pid = pid
		case recReleased:
			if m.d.qos != packet.QoS2 {
				return errRecord
			}
			m.released = true
		case recDone:
			delete(ds.msgs, seq)
			st.live -= msgLive(m.d)
		}
	case recInbound, recInboundDone:
		_, ds := session()
		pid := uint16(d.uvarint(65535))
		if err := d.done(); err != nil {
			return err
		}
		if pid == 0 {
			return errRecord
		}
		if ds == nil {
			return nil
		}
		_, had := ds.inbound[pid]
		switch {
		case typ == recInbound && !had:
			ds.inbound[pid] = struct{}{}
			st.live += recordOverhead
		case typ == recInboundDone && had:
			delete(ds.inbound, pid)
			st.live -= recordOverhead
		}
	case recRetained, legacyRetained:
		q := d.qos()
		topic := d.topic()
		payload := d.str()
		if err := d.done(); err != nil {
			return err
		}
		if strings.HasPrefix(topic, "$SYS/") {
			return nil
		}
		if old := st.retained[topic]; old != nil {
			st.live -= int64(len(old.tbytes)+len(old.payload)) + recordOverhead
			delete(st.retained, topic)
		}
		if len(payload) > 0 {
			m := newMessage(topic, payload, q, true)
			st.retained[topic] = m
			st.live += int64(len(m.tbytes)+len(m.payload)) + recordOverhead
		}
	case legacySession, legacySub, legacyInflight, legacyQueued:
		st.legacy = true
		return st.replayLegacy(typ, d)
	default:
		return errRecord
	}
	return nil
}

// replayLegacy applies a record of an earlier version's snapshot, whose
// records of a session follow its session record.
func (st *store) replayLegacy(typ byte, d *decoder) error {
	switch typ {
	case legacySession:
		id := string(d.str())
		d.uvarint(65535) // the next packet identifier: no longer kept
		n := d.uvarint(65535)
		inbound := make(map[uint16]struct{}, min(n, 1024))
		for range n {
			inbound[uint16(d.uvarint(65535))] = struct{}{}
		}
		var owner, user string
		if len(d.b) > 0 {
			owner, user = string(d.str()), string(d.str())
		}
		if err := d.done(); err != nil {
			return err
		}
		if _, dup := st.sessions[id]; dup || id == "" {
			return errRecord
		}
		ds := newDstore()
		ds.owner, ds.user, ds.inbound = owner, user, inbound
		st.sessions[id], st.cur = ds, ds
	case legacySub:
		filter := string(d.str())
		q := d.qos()
		if err := d.done(); err != nil {
			return err
		}
		if st.cur == nil || packet.ValidateTopicFilter(filter) != nil {
			return errRecord
		}
		st.cur.subs[filter] = q
	case legacyInflight, legacyQueued:
		var pid uint16
		var released bool
		if typ == legacyInflight {
			pid = uint16(d.uvarint(65535))
			released = d.bool()
		}
		dl := d.delivery()
		if err := d.done(); err != nil {
			return err
		}
		if st.cur == nil || dl.qos == packet.QoS0 || typ == legacyInflight && pid == 0 || released && dl.qos != packet.QoS2 {
			return errRecord
		}
		dl.seq = uint64(len(st.cur.msgs) + 1)
		st.cur.msgs[dl.seq] = &dmsg{d: dl, pid: pid, released: released}
	}
	return nil
}
