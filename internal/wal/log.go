package wal

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Log is an open log file. Its methods are safe for concurrent use.
type Log struct {
	path      string
	opts      Options // with defaults filled
	lock      *os.File
	recovered []*CorruptError // set by Open, then read-only

	// mu guards the fields below; cond (on mu) is broadcast when synced,
	// syncing or closed change. An fsync runs without mu, with syncing set,
	// so that writers are not held up by it; while syncing is set, f is not
	// replaced or closed.
	mu        sync.Mutex
	cond      sync.Cond
	f         *os.File
	size      int64       // of f
	buf       []byte      // the record being written
	written   uint64      // how many records this Log has written
	synced    uint64      // how many of them are on stable storage
	syncing   bool        // a goroutine is in fsync
	syncs     uint64      // fsyncs run by syncTo, for tests
	timer     *time.Timer // SyncBatch: the pending background sync
	timerSet  bool        // timer is armed
	err       error       // sticky: a failed fsync or write
	closed    bool
	compactAt int64 // the size at which Write considers compacting
	liveAfter int64 // the size just after the last compaction or Open
}

// LSN identifies a written record for Commit: records are numbered from 1
// in the order this Log wrote them.
type LSN uint64

// Path returns the log file's path.
func (l *Log) Path() string { return l.path }

// Recovered returns the damage Open found and recovered from; nil if the
// file was whole.
func (l *Log) Recovered() []*CorruptError { return l.recovered }

// Size returns the size of the log file in bytes.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// Append writes a record and commits it: Write then Commit.
func (l *Log) Append(typ byte, payload []byte) error {
	lsn, err := l.Write(typ, payload)
	if err != nil {
		return err
	}
	return l.Commit(lsn)
}

// Write appends a record to the file with one write(2), compacting the log
// first if it is due, and returns the record's LSN for Commit. When Write
// returns, the record survives the process's death, but not necessarily an
// operating-system crash: Commit waits for that. A failed write is undone,
// so that the records after it stay readable.
func (l *Log) Write(typ byte, payload []byte) (LSN, error) {
	if len(payload) > l.opts.MaxRecord {
		return 0, fmt.Errorf("%w: %s: payload of %d bytes, the limit is %d", ErrTooLarge, l.path, len(payload), l.opts.MaxRecord)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return 0, err
	}
	if l.opts.Snapshot != nil && l.opts.CompactAt > 0 && l.size >= l.compactAt {
		l.maybeCompact()
		// It may have waited for an fsync, releasing l.mu, and failed.
		if err := l.usable(); err != nil {
			return 0, err
		}
	}
	l.buf = appendRecord(l.buf[:0], typ, payload)
	if _, err := l.f.Write(l.buf); err != nil {
		err = fmt.Errorf("wal: %w", err)
		// Cut off a partial record: the records written after it would be
		// lost to the next Open.
		if terr := l.f.Truncate(l.size); terr != nil {
			l.err = fmt.Errorf("wal: %s: truncating a failed write: %w (the write: %w)", l.path, terr, err)
		}
		return 0, err
	}
	l.size += int64(len(l.buf))
	if cap(l.buf) > 1<<20 {
		l.buf = nil // do not keep a huge buffer
	}
	l.written++
	if l.opts.Sync == SyncBatch && !l.timerSet {
		l.timerSet = true
		if l.timer == nil {
			l.timer = time.AfterFunc(l.opts.BatchWindow, l.batchSync)
		} else {
			l.timer.Reset(l.opts.BatchWindow)
		}
	}
	return LSN(l.written), nil
}

// Commit waits until the record lsn, and every record before it, is on
// stable storage, if the policy is SyncAlways; with SyncBatch or SyncNone
// it returns at once. Concurrent calls share fsyncs.
func (l *Log) Commit(lsn LSN) error {
	if l.opts.Sync != SyncAlways {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.syncTo(uint64(lsn))
}

// Sync puts every record written so far on stable storage, whatever the
// policy.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	return l.syncTo(l.written)
}

// usable returns the error that stops the Log from being used, if any.
// l.mu must be held.
func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	return l.err
}

// syncTo returns once the first n records written are on stable storage.
// Unless another goroutine's fsync is under way, it runs one itself,
// covering everything written so far (group commit); otherwise it waits
// for that one and checks again. l.mu must be held; it is released during
// the fsync.
func (l *Log) syncTo(n uint64) error {
	for l.synced < n {
		if l.err != nil {
			return l.err
		}
		if l.syncing {
			l.cond.Wait()
			continue
		}
		if l.closed {
			return ErrClosed
		}
		l.syncing = true
		l.syncs++
		target, f := l.written, l.f
		l.mu.Unlock()
		err := datasync(f)
		l.mu.Lock()
		l.syncing = false
		if err != nil {
			// The kernel may have dropped the dirty pages: what the file
			// holds is no longer known.
			l.err = fmt.Errorf("wal: %w", err)
		} else if target > l.synced {
			l.synced = target
		}
		l.cond.Broadcast()
	}
	return nil
}

// batchSync is the SyncBatch timer's function.
func (l *Log) batchSync() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timerSet = false
	if l.closed || l.err != nil {
		return
	}
	if err := l.syncTo(l.written); err != nil {
		l.opts.Logger.Error("wal: background sync failed", "path", l.path, "error", err)
	}
}

// Close syncs what was written (unless the policy is SyncNone), closes the
// file and releases its lock. Commit calls waiting for an fsync return once
// it is done. Close returns ErrClosed if the Log was already closed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	if l.timer != nil {
		l.timer.Stop()
	}
	for l.syncing {
		l.cond.Wait()
	}
	var err error
	if l.err == nil && l.synced < l.written && l.opts.Sync != SyncNone {
		if err = datasync(l.f); err != nil {
			err = fmt.Errorf("wal: %w", err)
			l.err = err
		} else {
			l.synced = l.written
		}
	}
	l.cond.Broadcast()
	if cerr := l.f.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("wal: %w", cerr))
	}
	if cerr := l.lock.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("wal: %w", cerr))
	}
	return err
}
