package store

import (
	"errors"
	"fmt"
)

// Outgoing is an outgoing QoS 1 or QoS 2 message and where its flow stands.
type Outgoing struct {
	Seq      uint64 // the order of Publish calls, monotonic for the store's whole life (across process restarts); replay goes by it
	PacketID uint16
	QoS      byte   // 1 or 2
	Released bool   // QoS 2 only: PUBREC received, PUBREL due; the PUBLISH is never sent again
	Packet   []byte // the encoded PUBLISH with DUP clear; nil when Released
}

// Store keeps a client's session state so that it outlives the connection and, for a disk store, the process.
// Its methods are safe for concurrent use.
type Store interface {
	// Load returns the outgoing messages in Seq order, the packet identifiers of inbound QoS 2 messages
	// awaiting PUBREL, and the highest Seq ever put (0 if none) — kept even after every message is deleted,
	// so that a restarted client continues the sequence.
	Load() (out []Outgoing, inbound []uint16, lastSeq uint64, err error)
	// PutOutgoing records a new message; the store copies o.Packet (the caller reuses its buffer).
	// For a disk store with SyncAlways it is on stable storage when PutOutgoing returns.
	PutOutgoing(o Outgoing) error
	// Release records PUBREC for the message with seq: it is durable (per the sync policy) before the client sends PUBREL.
	Release(seq uint64) error
	// DeleteOutgoing forgets the message with seq (its flow completed). Need not be synced before returning.
	DeleteOutgoing(seq uint64) error
	// PutInbound and DeleteInbound record an inbound QoS 2 identifier from PUBREC until PUBREL.
	PutInbound(id uint16) error
	DeleteInbound(id uint16) error
	// Reset forgets everything except lastSeq: the session was clean.
	Reset() error
	Close() error
}

var (
	_ Store = (*Memory)(nil)
	_ Store = (*File)(nil)
)

// Sentinel errors of the stores.
var (
	// ErrClosed: the File was closed.
	ErrClosed = errors.New("mqtt: store closed")
	// ErrLocked: another File, in this process or another, has the
	// directory open.
	ErrLocked = errors.New("mqtt: store in use by another process")
	// ErrInvalid matches every *OpError the store refuses as malformed.
	ErrInvalid = errors.New("mqtt: invalid store operation")
	// ErrNotFound matches the *OpError of a Release for a seq the store
	// does not hold.
	ErrNotFound = errors.New("mqtt: no such outgoing message in the store")
	// ErrCorrupt matches every *CorruptError.
	ErrCorrupt = errors.New("mqtt: store damaged")
	// ErrFormat: the store's file was written by a newer version of this
	// package, in a format this one does not read. Open leaves it alone.
	ErrFormat = errors.New("mqtt: store format not understood")
)

// OpError is a call the store refuses. It matches ErrInvalid, or
// ErrNotFound for a seq the store does not hold.
type OpError struct {
	Op     string // the method, e.g. "PutOutgoing"
	Seq    uint64 // the message's Seq, if the call names one
	Reason string // what is wrong, e.g. "QoS 3 is not 1 or 2"
	Err    error  // ErrInvalid or ErrNotFound
}

func (e *OpError) Error() string {
	s := "mqtt: store." + e.Op
	if e.Seq != 0 {
		s += fmt.Sprintf(" seq %d", e.Seq)
	}
	return s + ": " + e.Reason
}

// Unwrap returns ErrInvalid or ErrNotFound.
func (e *OpError) Unwrap() error { return e.Err }

// CorruptError reports damage that Open found in the store's file and
// recovered from.
type CorruptError struct {
	Path    string // the log file
	Offset  int64  // where the bad record starts
	Reason  string // what was wrong, e.g. "torn record (the file ends 3 bytes into the record header)"
	Dropped int64  // bytes cut off the file from Offset on; 0 if just this record was skipped
}

func (e *CorruptError) Error() string {
	s := fmt.Sprintf("mqtt: store %s: offset %d: %s", e.Path, e.Offset, e.Reason)
	if e.Dropped > 0 {
		s += fmt.Sprintf("; dropped %d bytes", e.Dropped)
	} else {
		s += "; record skipped"
	}
	return s
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
