package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// SyncPolicy says when records reach stable storage; see the package
// documentation.
type SyncPolicy uint8

// The sync policies.
const (
	// SyncAlways: Commit returns once the record is on stable storage.
	SyncAlways SyncPolicy = iota
	// SyncBatch: records are synced at most once every BatchWindow.
	SyncBatch
	// SyncNone: records are synced only by Sync and Close. For tests.
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

// Defaults of Options.
const (
	DefaultBatchWindow = 10 * time.Millisecond
	DefaultCompactAt   = 4 << 20 // 4 MiB
)

// Record is a record replayed by Open.
type Record struct {
	Offset  int64  // where the record starts in the file
	Type    byte   // the owner's record type
	Payload []byte // valid only until Replay returns
}

// Options configures a Log. The zero value is valid: SyncAlways, no replay
// callback, no compaction.
type Options struct {
	// Sync is the sync policy; the zero value is SyncAlways.
	Sync SyncPolicy
	// BatchWindow is, with SyncBatch, the longest time a record waits to be
	// synced; zero means DefaultBatchWindow.
	BatchWindow time.Duration
	// MaxRecord is the largest payload, in bytes, that Write accepts and
	// Open believes; zero means DefaultMaxRecord. At most MaxRecordLimit.
	MaxRecord int
	// Replay, if set, is called by Open for each valid record, in order. An
	// error from it makes Open fail with that error.
	Replay func(Record) error
	// Snapshot, if set, enables compaction: it must call emit for each
	// record of the owner's live state, in the order a replay needs them,
	// and return the first error emit returns. It is called with the Log's
	// lock held (see the package documentation).
	Snapshot func(emit func(typ byte, payload []byte) error) error
	// LiveSize, if set, returns how many bytes Snapshot would write (the sum
	// of RecordSize over the live records); compaction waits until they
	// take at most a quarter of the file. If nil, the size of the file just
	// after the last compaction (or Open) stands in for it. It is called
	// with the Log's lock held.
	LiveSize func() int64
	// CompactAt is the file size below which the log is never compacted
	// automatically; zero means DefaultCompactAt, negative means never.
	CompactAt int64
	// Logger receives the damage Open recovers from and the failures of
	// background syncs and compactions; nil discards them.
	Logger *slog.Logger
}

// withDefaults returns o with its zero fields filled, or an error naming a
// field out of range.
func (o Options) withDefaults() (Options, error) {
	if o.Sync > SyncNone {
		return o, fmt.Errorf("wal: Options.Sync: unknown policy %v", o.Sync)
	}
	if o.BatchWindow < 0 {
		return o, fmt.Errorf("wal: Options.BatchWindow: negative (%v)", o.BatchWindow)
	}
	if o.BatchWindow == 0 {
		o.BatchWindow = DefaultBatchWindow
	}
	if o.MaxRecord < 0 || o.MaxRecord > MaxRecordLimit {
		return o, fmt.Errorf("wal: Options.MaxRecord: %d is not within 0 to %d", o.MaxRecord, MaxRecordLimit)
	}
	if o.MaxRecord == 0 {
		o.MaxRecord = DefaultMaxRecord
	}
	if o.CompactAt == 0 {
		o.CompactAt = DefaultCompactAt
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Open opens the log at path, creating it if it does not exist, and replays
// its records through opts.Replay. Damage is recovered from as the package
// documentation describes, and reported by Recovered; it never makes Open
// fail. The directory holding path must exist.
func Open(path string, opts Options) (_ *Log, err error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	// A compaction that did not reach its rename left this; the log itself
	// is whole.
	if err := os.Remove(path + ".compact"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("wal: removing a leftover compaction file: %w", err)
	}
	_, statErr := os.Stat(path)
	existed := statErr == nil
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	l := &Log{path: path, opts: o, lock: lock, f: f, compactAt: o.CompactAt}
	l.cond.L = &l.mu
	if err := l.recover(existed); err != nil {
		return nil, err
	}
	l.liveAfter = l.size
	return l, nil
}

// recover replays the file, truncates it at the first damage and makes what
// remains durable. existed tells whether the file was there before Open:
// Open writes a new log's header before it returns, so an empty file that
// was there is the trace of a crash while it was being created.
func (l *Log) recover(existed bool) error {
	fi, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	size := fi.Size()
	r := bufio.NewReaderSize(io.NewSectionReader(l.f, 0, size), 64<<10)
	var bad *CorruptError
	fresh := size == 0
	if fresh && existed {
		bad = &CorruptError{Kind: KindTorn, Detail: "an empty file, not even a header: a crash while the log was created"}
	}
	if !fresh {
		var hdr [headerSize]byte
		n, err := io.ReadFull(r, hdr[:])
		switch {
		case err == io.ErrUnexpectedEOF:
			fresh = true
			bad = &CorruptError{Kind: KindHeader, Detail: fmt.Sprintf("%d bytes, not a log header", n)}
			if string(hdr[:n]) == magic[:min(n, len(magic))] {
				// A crash while the file was being created.
				bad = &CorruptError{Kind: KindTorn, Detail: fmt.Sprintf("header of %d bytes", n)}
			}
		case err != nil:
			return fmt.Errorf("wal: reading %s: %w", l.path, err)
		case string(hdr[:len(magic)]) != magic:
			fresh = true
			bad = &CorruptError{Kind: KindHeader, Detail: fmt.Sprintf("starts with %q, want %q", hdr[:len(magic)], magic)}
		case hdr[len(magic)] != version:
			return fmt.Errorf("%w: %s: version %d, this build reads %d", ErrVersion, l.path, hdr[len(magic)], version)
		}
	}
	if fresh {
		l.size = 0
	} else {
		end, b, err := scan(r, headerSize, size, l.opts.MaxRecord, l.opts.Replay)
		if err != nil {
			return fmt.Errorf("wal: replaying %s: %w", l.path, err)
		}
		bad, l.size = b, end
	}
	if bad != nil {
		bad.Path, bad.Offset, bad.Dropped = l.path, l.size, size-l.size
		l.recovered = append(l.recovered, bad)
		l.opts.Logger.Warn("wal: recovered a damaged log", "path", l.path, "offset", bad.Offset,
			"kind", bad.Kind.String(), "detail", bad.Detail, "dropped", bad.Dropped)
		if err := l.f.Truncate(l.size); err != nil {
			return fmt.Errorf("wal: %w", err)
		}
	}
	if l.size == 0 {
		if _, err := l.f.Write(appendHeader(nil)); err != nil {
			return fmt.Errorf("wal: %w", err)
		}
		l.size = headerSize
	}
	// Make durable what was replayed (a killed process may have left it in
	// the page cache only), the truncation, or the new file's header.
	if bad != nil || fresh || l.opts.Sync != SyncNone {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("wal: %w", err)
		}
	}
	if fresh {
		if err := syncDir(filepath.Dir(l.path)); err != nil {
			return fmt.Errorf("wal: syncing the directory of %s: %w", l.path, err)
		}
	}
	return nil
}

// scan reads records from r, which is at offset off of a file of size
// bytes, and calls fn (if not nil) for each valid one. It returns the offset
// where the valid records end, and the damage found there (with Kind and
// Detail set), if any. The error is from reading or from fn.
func scan(r *bufio.Reader, off, size int64, max int, fn func(Record) error) (int64, *CorruptError, error) {
	var buf []byte
	for {
		var h [8]byte
		n, err := io.ReadFull(r, h[:])
		switch {
		case err == io.EOF:
			return off, nil, nil
		case err == io.ErrUnexpectedEOF:
			return off, &CorruptError{Kind: KindTorn, Detail: fmt.Sprintf("the file ends %d bytes into the record header", n)}, nil
		case err != nil:
			return off, nil, err
		}
		length := int64(binary.BigEndian.Uint32(h[:4]))
		if length > int64(max) {
			return off, &CorruptError{Kind: KindLength, Detail: fmt.Sprintf("record claims %d bytes, the limit is %d", length, max)}, nil
		}
		// Check against what the file holds before allocating.
		if rest := size - off - 8; length+1 > rest {
			return off, &CorruptError{Kind: KindTorn, Detail: fmt.Sprintf("record of %d bytes, the file ends %d bytes into it", RecordSize(int(length)), 8+rest)}, nil
		}
		if int64(cap(buf)) < length+1 {
			buf = make([]byte, length+1)
		}
		buf = buf[:length+1]
		if _, err := io.ReadFull(r, buf); err != nil {
			return off, nil, err
		}
		if got, want := checksum(buf), binary.BigEndian.Uint32(h[4:]); got != want {
			return off, &CorruptError{Kind: KindChecksum, Detail: fmt.Sprintf("CRC-32C %#08x, record says %#08x", got, want)}, nil
		}
		if fn != nil {
			if err := fn(Record{Offset: off, Type: buf[0], Payload: buf[1:]}); err != nil {
				return off, nil, fmt.Errorf("record at offset %d: %w", off, err)
			}
		}
		off += 8 + length + 1
	}
}
