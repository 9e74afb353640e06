package broker

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/petrel-mqtt/petrel/internal/wal"
)

// Persistence keeps the broker's durable state in one file,
// <PersistenceDir>/broker.wal, a log of internal/wal (CRC-checked records,
// torn tails recovered at open, an exclusive lock so that two brokers
// never share a directory).
//
// The log is incremental: each change of the durable state appends one
// record as it happens (a session made, its owner, a subscription, a QoS 1
// or 2 message queued for it, sent with its packet identifier, released by
// PUBREC, acknowledged; an incoming QoS 2 identifier; a retained message),
// so what is written is proportional to what changed. The store (store.go)
// keeps an image of the durable state beside the broker's live one; when
// the log has grown to four times what that image takes, the log's
// compaction rewrites it from the image (a temporary file, fsynced,
// renamed over the log, and the directory fsynced).
//
// Durability: a record is written with one write(2) before the broker acts
// on the change it records — before the PUBACK or PUBREC of a message
// queued for a persistent session, say — so a SIGKILL of the broker loses
// no acknowledged QoS 1 or 2 message. The log is fsynced at most
// Config.PersistInterval after a write (default 1 s), so an operating-system
// crash or a power loss may lose the changes of that last interval.
//
// The log holds the persistent sessions (owner, subscriptions, queued and
// in-flight QoS 1 and 2 messages, incoming QoS 2 identifiers awaiting
// PUBREL) and the retained messages other than $SYS ones. Clean sessions,
// QoS 0 messages and wills of connected clients are not kept.

// persistFile is the name of the log in PersistenceDir.
const persistFile = "broker.wal"

// openPersistence opens the log in PersistenceDir, creating the directory
// if need be, and loads its state.
func (s *Server) openPersistence() error {
	dir := s.cfg.PersistenceDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("mqtt: broker persistence: %w", err)
	}
	st := newStore(s.log)
	log, err := wal.Open(filepath.Join(dir, persistFile), wal.Options{
		Sync:        wal.SyncBatch,
		BatchWindow: s.cfg.PersistInterval,
		MaxRecord:   max(wal.DefaultMaxRecord, 2*s.cfg.MaxPacketSize+1024),
		Replay:      func(r wal.Record) error { return st.replay(r.Type, r.Payload) },
		Snapshot:    st.snapshot,
		LiveSize:    st.liveSize,
		CompactAt:   64 << 20,
		Logger:      s.log,
	})
	if err != nil {
		return fmt.Errorf("mqtt: broker persistence: %s: %w", dir, err)
	}
	st.log = log
	st.live = st.measure()
	if st.legacy {
		// A snapshot written by an earlier Petrel: rewrite it in this
		// format before anything is appended.
		if err := log.Compact(); err != nil {
			log.Close()
			return fmt.Errorf("mqtt: broker persistence: %s: converting the state file: %w", dir, err)
		}
	}
	s.materialize(st)
	s.store = st
	s.retained.onSet = st.retainedSet
	s.log.Info("persistence loaded", "dir", dir, "sessions", len(s.sessions), "retained", s.retained.len(),
		"bytes", log.Size(), "recovered", len(log.Recovered()))
	return nil
}

// closePersistence syncs and closes the log; Shutdown calls it once every
// connection has ended.
func (s *Server) closePersistence() error {
	if err := s.store.close(); err != nil {
		return fmt.Errorf("mqtt: broker persistence: %w", err)
	}
	return nil
}

// materialize builds the broker's sessions, subscriptions and retained
// messages from the image the log was replayed into.
func (s *Server) materialize(st *store) {
	for id, ds := range st.sessions {
		sess := newSession(s, id, false)
		sess.owner = ds.owner
		sess.setUser(ds.user)
		for f, q := range ds.subs {
			sess.subscribeLocked(f, q)
			s.subs.add(f, sess, q)
		}
		if len(ds.inbound) > 0 {
			sess.inbound = make(map[uint16]struct{}, len(ds.inbound))
			for pid := range ds.inbound {
				sess.inbound[pid] = struct{}{}
			}
		}
		for _, m := range ds.ordered() {
			cost := m.d.cost()
			sess.bytes += cost
			s.queuedBytes.Add(cost)
			sess.seq = max(sess.seq, m.d.seq)
			if m.pid == 0 {
				sess.queue.push(m.d)
				continue
			}
			f := &flight{id: m.pid, d: m.d, released: m.released}
			f.sent.Store(true) // as far as anyone knows
			sess.inflight = append(sess.inflight, f)
			if sess.byID == nil {
				sess.byID = make(map[uint16]*flight)
			}
			sess.byID[m.pid] = f
		}
		s.sessions[id] = sess
		s.sessionsPeak.grew(len(s.sessions))
		s.persistent++ // kept across a restart: CleanSession 0
		sess.offline = s.offline.PushBack(sess)
	}
	dropped := 0
	for _, m := range st.retained {
		if !s.retained.set(m) {
			dropped++
		}
	}
	if dropped > 0 {
		s.stats.retainedDropped.Add(uint64(dropped))
		s.log.Warn("retained messages of the persistence directory not loaded: Config.MaxRetainedBytes is lower than what they hold",
			"dropped", dropped, "kept", s.retained.len(), "max", s.cfg.MaxRetainedBytes)
	}
}
