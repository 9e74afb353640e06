package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/petrel-mqtt/petrel/internal/wal"
)

// SyncPolicy says when a File's changes reach stable storage; see the
// package documentation for what each may lose.
type SyncPolicy uint8

// The sync policies.
const (
	// SyncAlways: PutOutgoing, Release, PutInbound, DeleteInbound and Reset
	// return once their change is on stable storage. Concurrent calls share
	// one fsync (group commit).
	SyncAlways SyncPolicy = iota
	// SyncBatch: changes are written to the file at once and synced at most
	// once every Options.BatchWindow.
	SyncBatch
	// SyncNone: changes are written to the file at once and synced only by
	// Sync and Close. For tests.
	SyncNone
)

func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "SyncAlways"
	case SyncBatch:
		return "SyncBatch"
	case SyncNone:
		return "SyncNone"
	}
	return fmt.Sprintf("SyncPolicy(%d)", uint8(p))
}

// Options configures a File. The zero value gives SyncAlways, compaction
// past 4 MiB, and no logging.
type Options struct {
	// Sync is the sync policy; the zero value is SyncAlways.
	Sync SyncPolicy
	// BatchWindow is, with SyncBatch, the longest time a change waits to be
	// synced, and so what an operating-system crash may lose; zero means
	// 10ms.
	BatchWindow time.Duration
	// CompactAt is the size of the log file past which it is rewritten with
	// just the live state, once that takes at most a quarter of it; zero
	// means 4 MiB, negative means never (but for Compact).
	CompactAt int64
	// Logger receives the damage Open recovers from and the failures of
	// background syncs and compactions; nil discards them.
	Logger *slog.Logger
}

// LogName is the name of the log file in a File's directory. The lock file
// is LogName + ".lock", and a compaction writes LogName + ".compact" before
// renaming it over the log.
const LogName = "session.wal"

// File is a Store on disk: an append-only log in a directory, replayed by
// Open. Its methods are safe for concurrent use.
type File struct {
	dir       string
	log       *wal.Log
	recovered []*CorruptError // set by Open

	// mu guards st, buf and closed, and is held across writing a change's
	// record and applying it to st, so that the log's records come in the
	// order of the changes (see internal/wal). It is not held while waiting
	// for an fsync.
	mu     sync.Mutex
	st     state
	buf    []byte // the record being encoded, but for a put
	closed bool
}

// Open opens the store in dir, creating the directory (mode 0700) and the
// log if need be, and loads its state. It recovers from a damaged log
// rather than failing: Recovered reports what it found, and Options.Logger
// logs it. Open fails on an I/O error, when another File (in this process or
// another) has dir open (ErrLocked), and when the log was written by a
// newer version (ErrFormat).
func Open(dir string, opts Options) (*File, error) {
	if opts.Sync > SyncNone {
		return nil, fmt.Errorf("mqtt: store.Options.Sync: unknown policy %v", opts.Sync)
	}
	if opts.BatchWindow < 0 {
		return nil, fmt.Errorf("mqtt: store.Options.BatchWindow: negative (%v)", opts.BatchWindow)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mqtt: store.Open: %w", err)
	}
	f := &File{dir: dir, st: newState()}
	path := filepath.Join(dir, LogName)
	l, err := wal.Open(path, wal.Options{
		Sync:        wal.SyncPolicy(opts.Sync), // the same values
		BatchWindow: opts.BatchWindow,
		MaxRecord:   maxRecord,
		CompactAt:   opts.CompactAt,
		Logger:      logger,
		Replay: func(r wal.Record) error {
			reason, err := f.st.apply(r.Type, r.Payload)
			if reason != "" {
				e := &CorruptError{Path: path, Offset: r.Offset, Reason: reason}
				f.recovered = append(f.recovered, e)
				logger.Warn("mqtt: store: skipped a bad record", "path", path, "offset", r.Offset, "reason", reason)
			}
			return err
		},
		// Called from within f.log.Write, with f.mu held.
		Snapshot: func(emit func(byte, []byte) error) error { return f.st.snapshot(emit) },
		LiveSize: func() int64 { return f.st.live },
	})
	switch {
	case errors.Is(err, wal.ErrLocked):
		return nil, fmt.Errorf("%w: %s is locked", ErrLocked, path+".lock")
	case errors.Is(err, wal.ErrVersion), errors.Is(err, ErrFormat):
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	case err != nil:
		return nil, fmt.Errorf("mqtt: store.Open: %w", err)
	}
	f.log = l
	for _, e := range l.Recovered() {
		// The log's damage comes first: everything after it was dropped.
		f.recovered = append([]*CorruptError{{Path: e.Path, Offset: e.Offset, Dropped: e.Dropped,
			Reason: e.Kind.String() + " (" + e.Detail + ")"}}, f.recovered...)
	}
	return f, nil
}

// Dir returns the store's directory.
func (f *File) Dir() string { return f.dir }

// Recovered returns the damage Open found and recovered from, in the order
// of the file; nil if the file was whole. A *CorruptError with Dropped 0
// is a record that was skipped; one with Dropped above 0 cut the file.
func (f *File) Recovered() []*CorruptError { return f.recovered }

// Load implements Store. It reads the state kept in memory, not the disk.
// The packets returned are copies.
func (f *File) Load() (out []Outgoing, inbound []uint16, lastSeq uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, nil, 0, ErrClosed
	}
	out, inbound, lastSeq = f.st.load()
	return out, inbound, lastSeq, nil
}

// PutOutgoing implements Store, with the checks of Memory.PutOutgoing.
func (f *File) PutOutgoing(o Outgoing) error {
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return err
	}
	if err := f.st.checkPut(o); err != nil {
		f.mu.Unlock()
		return err
	}
	if o.Released {
		o.Packet = nil
	}
	// The record's buffer is the state's copy of the packet too.
	b := appendPut(make([]byte, 0, putSize+len(o.Packet)), o.Seq, o.PacketID, o.QoS, o.Released, o.Packet)
	lsn, err := f.log.Write(recPut, b)
	if err == nil {
		o.Packet = b[putSize:]
		f.st.put(o)
	}
	return f.commit("PutOutgoing", lsn, err)
}

// Release implements Store, with the checks of Memory.Release.
func (f *File) Release(seq uint64) error {
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return err
	}
	if err := f.st.checkRelease(seq); err != nil || f.st.out[seq].released {
		f.mu.Unlock()
		return err
	}
	lsn, err := f.writeSeq(recRelease, seq)
	if err == nil {
		f.st.release(seq)
	}
	return f.commit("Release", lsn, err)
}

// DeleteOutgoing implements Store. It does not wait for an fsync: if the
// deletion is lost in a crash, the message is sent again (DUP set) by the
// next session, which QoS 1 and 2 allow.
func (f *File) DeleteOutgoing(seq uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil || !f.st.has(seq) {
		return err
	}
	if _, err := f.writeSeq(recDelete, seq); err != nil {
		return fmt.Errorf("mqtt: store.DeleteOutgoing: %w", err)
	}
	f.st.remove(seq)
	return nil
}

// PutInbound implements Store. It refuses the identifier 0.
func (f *File) PutInbound(id uint16) error {
	if err := checkInbound("PutInbound", id); err != nil {
		return err
	}
	return f.inbound("PutInbound", recInbound, id)
}

// DeleteInbound implements Store. Under SyncAlways it waits for an fsync:
// were the deletion lost, the next session would take a new message with
// the same identifier for a duplicate, and drop it.
func (f *File) DeleteInbound(id uint16) error {
	return f.inbound("DeleteInbound", recInboundDelete, id)
}

func (f *File) inbound(op string, typ byte, id uint16) error {
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return err
	}
	if _, ok := f.st.inbound[id]; ok == (typ == recInbound) {
		f.mu.Unlock()
		return nil // nothing to change
	}
	f.buf = binary.BigEndian.AppendUint16(f.buf[:0], id)
	lsn, err := f.log.Write(typ, f.buf)
	if err == nil {
		if typ == recInbound {
			f.st.putInbound(id)
		} else {
			f.st.removeInbound(id)
		}
	}
	return f.commit(op, lsn, err)
}

// Reset implements Store.
func (f *File) Reset() error {
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return err
	}
	lsn, err := f.writeSeq(recReset, f.st.lastSeq)
	if err == nil {
		f.st.reset()
	}
	return f.commit("Reset", lsn, err)
}

// Sync puts every change made so far on stable storage, whatever the
// policy.
func (f *File) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return err
	}
	if err := f.log.Sync(); err != nil {
		return fmt.Errorf("mqtt: store.Sync: %w", err)
	}
	return nil
}

// Compact rewrites the log now with just the live state. Open's
// Options.CompactAt makes this happen on its own.
func (f *File) Compact() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usable(); err != nil {
		return err
	}
	if err := f.log.Compact(); err != nil {
		return fmt.Errorf("mqtt: store.Compact: %w", err)
	}
	return nil
}

// Close syncs the changes not yet synced (unless the policy is SyncNone),
// closes the log and releases the directory's lock. Calling it again
// does nothing.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	if err := f.log.Close(); err != nil {
		return fmt.Errorf("mqtt: store.Close: %w", err)
	}
	return nil
}

// usable returns ErrClosed once f is closed. f.mu must be held.
func (f *File) usable() error {
	if f.closed {
		return ErrClosed
	}
	return nil
}

// writeSeq writes a record whose payload is a seq (or lastSeq). f.mu must
// be held.
func (f *File) writeSeq(typ byte, seq uint64) (wal.LSN, error) {
	f.buf = binary.BigEndian.AppendUint64(f.buf[:0], seq)
	return f.log.Write(typ, f.buf)
}

// commit releases f.mu, which the caller holds, and then, if the write
// succeeded, waits for the record to be durable as the policy has it.
func (f *File) commit(op string, lsn wal.LSN, err error) error {
	f.mu.Unlock()
	if err == nil {
		err = f.log.Commit(lsn)
	}
	if err != nil {
		return fmt.Errorf("mqtt: store.%s: %w", op, err)
	}
	return nil
}
