package wal

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
)

// Compact rewrites the log now with the records Options.Snapshot emits,
// whatever the file's size. Like Write, it must be called while the owner's
// state matches the records written so far.
func (l *Log) Compact() error {
	if l.opts.Snapshot == nil {
		return ErrNoSnapshot
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	return l.compact()
}

// maybeCompact compacts the log if the live records take at most a quarter
// of it. A failure is logged and the next attempt waits for the file to
// double. l.mu must be held.
func (l *Log) maybeCompact() {
	live := l.liveAfter
	if l.opts.LiveSize != nil {
		live = l.opts.LiveSize()
	}
	if live > l.size/4 {
		// Not worth it yet: look again when it may be.
		l.compactAt = max(l.opts.CompactAt, 4*live)
		return
	}
	if err := l.compact(); err != nil {
		l.compactAt = max(l.opts.CompactAt, 2*l.size)
		l.opts.Logger.Error("wal: compaction failed; the log is whole and goes on growing", "path", l.path, "error", err)
	}
}

// compact writes the snapshot to path + ".compact", syncs it, renames it
// over the log and syncs the directory. Until the rename the old file is
// the log, untouched; from it the new file is, complete and synced. l.mu
// must be held.
func (l *Log) compact() error {
	for l.syncing { // that fsync is on l.f, which is about to be replaced
		l.cond.Wait()
	}
	if err := l.usable(); err != nil {
		return err
	}
	tmp := l.path + ".compact"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("wal: compacting: %w", err)
	}
	size, err := l.writeSnapshot(f)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, l.path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("wal: compacting %s: %w", l.path, err)
	}
	old := l.f
	l.f, l.size, l.liveAfter = f, size, size
	old.Close() // nothing in it is needed any more
	if err := syncDir(filepath.Dir(l.path)); err != nil {
		// The rename, and the records written after it, might not survive
		// a crash.
		l.err = fmt.Errorf("wal: compacting %s: syncing the directory: %w", l.path, err)
		return l.err
	}
	// The snapshot holds the effect of every record written so far.
	l.synced = l.written
	l.cond.Broadcast()
	l.compactAt = max(l.opts.CompactAt, 2*size)
	return nil
}

// writeSnapshot writes the header and the snapshot's records to f and
// returns their size.
func (l *Log) writeSnapshot(f *os.File) (int64, error) {
	w := bufio.NewWriterSize(f, 64<<10)
	w.Write(appendHeader(nil))
	size := int64(headerSize)
	var rec []byte
	err := l.opts.Snapshot(func(typ byte, payload []byte) error {
		if len(payload) > l.opts.MaxRecord {
			return fmt.Errorf("%w: snapshot record of %d bytes, the limit is %d", ErrTooLarge, len(payload), l.opts.MaxRecord)
		}
		rec = appendRecord(rec[:0], typ, payload)
		size += int64(len(rec))
		_, err := w.Write(rec)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	return size, err
}
