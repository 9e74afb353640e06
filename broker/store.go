package broker

import (
	"cmp"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/petrel-mqtt/petrel/internal/wal"
	"github.com/petrel-mqtt/petrel/packet"
)

// store is the broker's incremental persistence (see persist.go): it
// appends a record for each change of the durable state and keeps an image
// of that state, from which the log is compacted.
//
// The broker calls its methods with the lock of the session concerned held
// (or the retained store's), so that records follow the changes in the
// order they are made; store.mu is taken after those, and the log's lock
// after store.mu. The image never takes a broker lock, so the log may
// compact itself from within any write. A failed write is logged once per
// run of failures; the broker goes on in memory.
type store struct {
	log    *wal.Log
	logger *slog.Logger
	legacy bool // the file held an earlier format's snapshot

	mu       sync.Mutex // guards the fields below and the writes
	sessions map[string]*dstore
	retained map[string]*message
	live     int64 // what a snapshot of the image would write, roughly
	buf      []byte
	failing  bool
	cur      *dstore // legacy replay: the session the records that follow belong to
}

// dstore is the image of one persistent session.
type dstore struct {
	owner, user string
	subs        map[string]packet.QoS
	msgs        map[uint64]*dmsg // by sequence number
	inbound     map[uint16]struct{}
}

// dmsg is a QoS 1 or 2 message held for a session: queued (pid 0) or in
// flight.
type dmsg struct {
	d        delivery
	pid      uint16
	released bool
}

func newStore(l *slog.Logger) *store {
	return &store{logger: l, sessions: make(map[string]*dstore), retained: make(map[string]*message)}
}

func newDstore() *dstore {
	return &dstore{subs: make(map[string]packet.QoS), msgs: make(map[uint64]*dmsg), inbound: make(map[uint16]struct{})}
}

// ordered returns the session's messages in the order they were queued,
// which is the order the in-flight ones were first sent [MQTT-4.6.0-1].
func (ds *dstore) ordered() []*dmsg {
	ms := make([]*dmsg, 0, len(ds.msgs))
	for _, m := range ds.msgs {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *dmsg) int { return cmp.Compare(a.d.seq, b.d.seq) })
	return ms
}

// Costs of records in the image, for liveSize.
const recordOverhead = wal.RecordHeaderSize + 16

func msgLive(d delivery) int64 { return int64(len(d.m.tbytes)+len(d.m.payload)) + 2*recordOverhead }

// write appends one record. The caller holds st.mu.
func (st *store) write(typ byte, payload []byte) {
	_, err := st.log.Write(typ, payload)
	switch {
	case err != nil && !st.failing:
		st.failing = true
		st.logger.Error("persistence: writing the state failed; the broker goes on in memory", "err", err)
	case err == nil && st.failing:
		st.failing = false
		st.logger.Info("persistence: writing the state works again")
	}
	if cap(st.buf) > 64<<10 {
		st.buf = nil
	}
}

// session records that a persistent session exists with this owner and
// user name: made anew (fresh), or resumed by a client.
func (st *store) session(id, owner, user string, fresh bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	ds := st.sessions[id]
	if !fresh && ds != nil && ds.owner == owner && ds.user == user {
		return
	}
	if fresh || ds == nil {
		if ds != nil {
			st.live -= st.sessionLive(ds)
		}
		ds = newDstore()
		st.sessions[id] = ds
		st.live += recordOverhead + int64(len(id))
		ds.owner, ds.user = owner, user
		st.write(recNewSession, encodeOwner(st.buf[:0], id, owner, user))
		return
	}
	ds.owner, ds.user = owner, user
	st.write(recOwner, encodeOwner(st.buf[:0], id, owner, user))
}

// sessionLive is what a session's records take in a snapshot.
func (st *store) sessionLive(ds *dstore) int64 {
	n := int64(recordOverhead)
	for f := range ds.subs {
		n += recordOverhead + int64(len(f))
	}
	for _, m := range ds.msgs {
		n += msgLive(m.d)
	}
	return n + int64(len(ds.inbound))*recordOverhead
}

// ended records that a persistent session ended.
func (st *store) ended(id string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	ds := st.sessions[id]
	if ds == nil {
		return
	}
	st.live -= st.sessionLive(ds)
	delete(st.sessions, id)
	st.write(recEnded, appendStr(st.buf[:0], id))
}

// subscribed records a subscription of a persistent session, or its end
// with remove.
func (st *store) subscribed(id, filter string, q packet.QoS, remove bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	ds := st.sessions[id]
	if ds == nil {
		return
	}
	if remove {
		if _, ok := ds.subs[filter]; !ok {
			return
		}
		delete(ds.subs, filter)
		st.live -= recordOverhead + int64(len(filter))
		st.write(recUnsub, encodeSub(appendStr(st.buf[:0], id), filter, 0))
		return
	}
	if _, ok := ds.subs[filter]; !ok {
		st.live += recordOverhead + int64(len(filter))
	}
	ds.subs[filter] = q
	st.write(recSub, encodeSub(appendStr(st.buf[:0], id), filter, q))
}

// queued records a QoS 1 or 2 message queued for a persistent session,
// with its sequence number d.seq.
func (st *store) queued(id string, d delivery) {
	st.mu.Lock()
	defer st.mu.Unlock()
	ds := st.sessions[id]
	if ds == nil {
		return
	}
	ds.msgs[d.seq] = &dmsg{d: d}
	st.live += msgLive(d)
	st.write(recQueued, encodeDelivery(appendUvarint(appendStr(st.buf[:0], id), d.seq), d))
}

// sent records that a queued message went in flight with packet
// identifier pid.
func (st *store) sent(id string, seq uint64, pid uint16) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if m := st.msg(id, seq); m != nil {
		m.pid = pid
		st.write(recSent, appendUvarint(appendUvarint(appendStr(st.buf[:0], id), seq), uint64(pid)))
	}
}

// released records the PUBREC of an outgoing QoS 2 message.
func (st *store) released(id string, seq uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if m := st.msg(id, seq); m != nil {
		m.released = true
		st.write(recReleased, appendUvarint(appendStr(st.buf[:0], id), seq))
	}
}

// done records that a message was acknowledged and is no longer held.
func (st *store) done(id string, seq uint64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if m := st.msg(id, seq); m != nil {
		delete(st.sessions[id].msgs, seq)
		st.live -= msgLive(m.d)
		st.write(recDone, appendUvarint(appendStr(st.buf[:0], id), seq))
	}
}

func (st *store) msg(id string, seq uint64) *dmsg {
	if ds := st.sessions[id]; ds != nil {
		return ds.msgs[seq]
	}
	return nil
}

// inbound records an incoming QoS 2 identifier awaiting PUBREL, or its
// release with remove.
func (st *store) inbound(id string, pid uint16, remove bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	ds := st.sessions[id]
	if ds == nil {
		return
	}
	_, had := ds.inbound[pid]
	typ := recInbound
	switch {
	case remove && had:
		delete(ds.inbound, pid)
		st.live -= recordOverhead
		typ = recInboundDone
	case !remove && !had:
		ds.inbound[pid] = struct{}{}
		st.live += recordOverhead
	default:
		return
	}
	st.write(typ, appendUvarint(appendStr(st.buf[:0], id), uint64(pid)))
}

// retainedSet records a retained message, or its deletion by one with an
// empty payload. The retained store calls it with its lock held.
func (st *store) retainedSet(m *message) {
	if strings.HasPrefix(m.topic, "$SYS/") {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if old := st.retained[m.topic]; old != nil {
		st.live -= int64(len(old.tbytes)+len(old.payload)) + recordOverhead
	}
	if len(m.payload) == 0 {
		if _, ok := st.retained[m.topic]; !ok {
			return
		}
		delete(st.retained, m.topic)
	} else {
		st.retained[m.topic] = m
		st.live += int64(len(m.tbytes)+len(m.payload)) + recordOverhead
	}
	st.write(recRetained, encodeRetained(st.buf[:0], m))
}

// measure returns what a snapshot of the image takes, as live counts it.
func (st *store) measure() int64 {
	var n int64
	for id, ds := range st.sessions {
		n += int64(len(id)) + st.sessionLive(ds)
	}
	for _, m := range st.retained {
		n += int64(len(m.tbytes)+len(m.payload)) + recordOverhead
	}
	return n
}

// liveSize tells the log how much a snapshot would write. The log calls
// it with its lock held, from within a write made with st.mu held.
func (st *store) liveSize() int64 { return st.live }

// snapshot emits the image as records, for the log's compaction: each
// session, then its subscriptions, incoming identifiers and messages in
// order, then the retained messages. The log calls it with its lock held,
// from within a write or Compact made with st.mu held, or from Open.
func (st *store) snapshot(emit func(typ byte, payload []byte) error) error {
	var b []byte
	ids := make([]string, 0, len(st.sessions))
	for id := range st.sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ds := st.sessions[id]
		if err := emit(recNewSession, encodeOwner(b[:0], id, ds.owner, ds.user)); err != nil {
			return err
		}
		for f, q := range ds.subs {
			b = encodeSub(appendStr(b[:0], id), f, q)
			if err := emit(recSub, b); err != nil {
				return err
			}
		}
		for pid := range ds.inbound {
			if err := emit(recInbound, appendUvarint(appendStr(b[:0], id), uint64(pid))); err != nil {
				return err
			}
		}
		for _, m := range ds.ordered() {
			b = encodeDelivery(appendUvarint(appendStr(b[:0], id), m.d.seq), m.d)
			if err := emit(recQueued, b); err != nil {
				return err
			}
			if m.pid != 0 {
				if err := emit(recSent, appendUvarint(appendUvarint(appendStr(b[:0], id), m.d.seq), uint64(m.pid))); err != nil {
					return err
				}
			}
			if m.released {
				if err := emit(recReleased, appendUvarint(appendStr(b[:0], id), m.d.seq)); err != nil {
					return err
				}
			}
		}
	}
	for _, m := range st.retained {
		if err := emit(recRetained, encodeRetained(b[:0], m)); err != nil {
			return err
		}
	}
	return nil
}

// close syncs and closes the log.
func (st *store) close() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return errors.Join(st.log.Sync(), st.log.Close())
}
