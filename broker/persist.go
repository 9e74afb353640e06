package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/petrel-mqtt/petrel/internal/wal"
)

// Persistence keeps the broker's durable state in one file,
// <PersistenceDir>/broker.wal, a log of internal/wal (CRC-checked records,
// torn tails recovered at open, an exclusive lock so that two brokers
// never share a directory). The broker uses it as a snapshot store: every
// Config.PersistInterval, if anything changed, and at Shutdown, it
// rewrites the log with its whole durable state through the log's
// compaction (a temporary file, fsynced, renamed over the log, and the
// directory fsynced), so that a crash leaves either the previous snapshot
// or the new one. Writing a record for every change instead would put an
// fsync on the path of every QoS 1 and 2 message; the snapshot bounds the
// loss of a crash to the changes of the last interval (Mosquitto, by
// default, saves every 30 minutes).
//
// The snapshot holds the persistent sessions (subscriptions, in-flight and
// queued QoS 1 and 2 messages, incoming QoS 2 identifiers awaiting PUBREL,
// the next packet identifier) and the retained messages other than $SYS
// ones. Clean sessions and wills of connected clients are not kept.

// persistFile is the name of the log in PersistenceDir.
const persistFile = "broker.wal"

// persister owns the log.
type persister struct {
	log   *wal.Log
	saved uint64 // the change count of the last snapshot; used by one goroutine at a time
}

// changed records that the durable state changed.
func (s *Server) changed() {
	if s.persist != nil {
		s.changes.Add(1)
	}
}

// openPersistence opens the log in PersistenceDir, creating the directory
// if need be, loads its state and starts the goroutine that saves it.
func (s *Server) openPersistence() error {
	dir := s.cfg.PersistenceDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("mqtt: broker persistence: %w", err)
	}
	ld := &loader{s: s}
	log, err := wal.Open(filepath.Join(dir, persistFile), wal.Options{
		Sync:      wal.SyncAlways,
		MaxRecord: max(wal.DefaultMaxRecord, 2*s.cfg.MaxPacketSize+1024),
		CompactAt: -1, // compacted on our schedule only
		Snapshot:  s.snapshot,
		Replay:    func(r wal.Record) error { return ld.record(r.Type, r.Payload) },
		Logger:    s.log,
	})
	if err != nil {
		return fmt.Errorf("mqtt: broker persistence: %s: %w", dir, err)
	}
	s.persist = &persister{log: log}
	s.log.Info("persistence loaded", "dir", dir, "sessions", len(s.sessions), "retained", s.retained.len(),
		"recovered", len(log.Recovered()))
	s.wg.Go(s.persistLoop)
	return nil
}

// persistLoop saves the state every PersistInterval while it changes,
// until Shutdown.
func (s *Server) persistLoop() {
	t := time.NewTicker(s.cfg.PersistInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.save(); err != nil {
				s.log.Error("persistence: saving the state failed; will retry", "err", err)
			}
		case <-s.ctx.Done():
			return
		}
	}
}

// save writes a snapshot if the state changed since the last one. Only
// persistLoop, then Shutdown, call it, never at once.
func (s *Server) save() error {
	p := s.persist
	v := s.changes.Load()
	if v == p.saved {
		return nil
	}
	if err := p.log.Compact(); err != nil {
		return err
	}
	p.saved = v
	return nil
}

// closePersistence saves the final state and closes the log; Shutdown
// calls it once every connection has ended.
func (s *Server) closePersistence() error {
	err := s.save()
	if cerr := s.persist.log.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("mqtt: broker persistence: %w", err)
	}
	return nil
}

// snapshot emits the durable state as records. The log calls it with its
// lock held; it takes the broker's locks in their usual order.
func (s *Server) snapshot(emit func(typ byte, payload []byte) error) error {
	var b []byte
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		if !sess.clean {
			sessions = append(sessions, sess)
		}
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		if err := s.snapshotSession(sess, emit, &b); err != nil {
			return err
		}
	}
	for _, m := range s.retained.snapshot() {
		if strings.HasPrefix(m.topic, "$SYS/") {
			continue
		}
		b = encodeRetained(b[:0], m)
		if err := emit(recRetained, b); err != nil {
			return err
		}
	}
	return nil
}

// snapshotSession emits one session's records, taken under its lock.
func (s *Server) snapshotSession(sess *session, emit func(byte, []byte) error, b *[]byte) error {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.discarded {
		return nil
	}
	var err error
	put := func(typ byte, p []byte) {
		if err == nil {
			err = emit(typ, p)
		}
		*b = p[:0]
	}
	put(recSession, encodeSession((*b)[:0], sess))
	for f, q := range sess.subs {
		put(recSub, encodeSub((*b)[:0], f, q))
	}
	for _, f := range sess.inflight {
		put(recInflight, encodeFlight((*b)[:0], f))
	}
	for _, d := range sess.queue.all() {
		if d.qos > 0 { // QoS 0 messages are not kept for offline clients
			put(recQueued, encodeDelivery((*b)[:0], d))
		}
	}
	if errors.Is(err, wal.ErrTooLarge) {
		s.log.Error("persistence: a record is too large", "client", sess.id, "err", err)
	}
	return err
}
