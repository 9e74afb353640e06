package wal

import (
	"errors"
	"fmt"
)

// Sentinel errors of the log.
var (
	// ErrClosed: the Log was closed.
	ErrClosed = errors.New("wal: log closed")
	// ErrLocked: another Log, in this process or another, has the file open.
	ErrLocked = errors.New("wal: log locked by another process")
	// ErrCorrupt matches every *CorruptError.
	ErrCorrupt = errors.New("wal: corrupt log")
	// ErrTooLarge: a record's payload exceeds Options.MaxRecord.
	ErrTooLarge = errors.New("wal: record too large")
	// ErrVersion: the file is a log of a format version this package does
	// not read (written by a newer version). Open leaves it untouched.
	ErrVersion = errors.New("wal: unknown log format version")
	// ErrNoSnapshot: Compact was called without Options.Snapshot.
	ErrNoSnapshot = errors.New("wal: compaction needs Options.Snapshot")
)

// Kind is what was wrong with a damaged part of a log.
type Kind uint8

// The kinds of damage Open recovers from.
const (
	// KindTorn: the file ends inside a record (or inside the header): a
	// write cut short by a crash.
	KindTorn Kind = iota + 1
	// KindChecksum: a record's CRC-32C does not match its type and payload.
	KindChecksum
	// KindLength: a record claims a length above Options.MaxRecord.
	KindLength
	// KindHeader: the file does not start with a log header.
	KindHeader
)

func (k Kind) String() string {
	switch k {
	case KindTorn:
		return "torn record"
	case KindChecksum:
		return "checksum mismatch"
	case KindLength:
		return "impossible length"
	case KindHeader:
		return "bad file header"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// CorruptError reports damage that Open found and recovered from by
// truncating the file at Offset.
type CorruptError struct {
	Path    string // the log file
	Offset  int64  // where the bad record (or the header) starts
	Kind    Kind   // what was wrong
	Detail  string // the specifics, e.g. "CRC-32C 0x1234abcd, record says 0x1234abce"
	Dropped int64  // the bytes truncated, from Offset to the end of the file
}

func (e *CorruptError) Error() string {
	s := fmt.Sprintf("wal: %s: offset %d: %v", e.Path, e.Offset, e.Kind)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s + fmt.Sprintf("; dropped %d bytes", e.Dropped)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
