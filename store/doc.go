// Package store keeps an MQTT client's session state — its outgoing QoS 1
// and QoS 2 messages, and the identifiers of inbound QoS 2 messages awaiting
// PUBREL — so that it outlives the connection and, on disk, the process
// (MQTT 3.1.1 section 4.1, http://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html#_Toc398718105).
//
// The session package calls a Store as a flow moves on: PutOutgoing before a
// PUBLISH is sent, Release on PUBREC before PUBREL is sent, DeleteOutgoing on
// PUBACK or PUBCOMP, PutInbound before PUBREC is sent and DeleteInbound
// before PUBCOMP is sent, Reset when a session starts clean, and Load when a
// Client starts. Two stores implement it: Memory, and File on disk.
//
// # Concurrency
//
// The methods of both stores are safe for concurrent use. File holds its
// lock only to write a change to its log and apply it; the wait for the
// fsync happens without it, so concurrent callers share one fsync (group
// commit) — as long as they do not hold a lock of their own across the
// call. Seqs need not arrive in order: PutOutgoing refuses only 0 and a Seq
// still in the store, and Load sorts.
//
// # Crash safety
//
// A File is a directory holding an append-only log (LogName), in which every
// change is one record with a CRC-32C, written with one write(2) before the
// method returns, under every policy. So once a method has returned, its
// change survives the death of the process, SIGKILL included. What survives
// an operating-system crash or a power loss depends on Options.Sync:
//
//   - SyncAlways (the default): PutOutgoing, Release, PutInbound,
//     DeleteInbound and Reset return only once their record is on stable
//     storage (fdatasync). DeleteOutgoing does not wait: if a crash loses the
//     deletion, the message is sent once more, with DUP set, which QoS 1 and
//     2 allow; the next fsync, or Close, makes it durable.
//   - SyncBatch: no method waits for an fsync; the log is synced
//     Options.BatchWindow (10ms by default) after the first change since
//     the last sync, so at most once per BatchWindow, and every change is
//     on stable storage at most BatchWindow, plus the time one fsync takes,
//     after its method returned. A crash of the operating system or a power
//     loss may lose the changes made in that span before it, and no older
//     ones: a QoS 1 or 2 message published in it may be lost,
//     a PUBREC in it may be answered again with PUBREL (harmless), an
//     inbound QoS 2 message in it may be delivered twice, and one whose
//     PUBREL came in it may make a later message with the same identifier
//     be taken for a duplicate.
//   - SyncNone: the log is synced only by Sync and Close. For tests.
//
// Open replays the log. A record cut short by a crash, a checksum mismatch,
// an empty log file (a crash while it was created), garbage: Open truncates the log at the first bad record (the framing after
// it cannot be trusted) and keeps every record before it; a record whose
// checksum is right but whose contents make no sense is skipped. Each is
// reported as a *CorruptError by Recovered and logged through
// Options.Logger. Damage never makes Open fail; a record of a type this
// version does not know (a newer version wrote it) does, with ErrFormat,
// and the log is left as it is.
//
// When the log outgrows Options.CompactAt and the live state takes at most a
// quarter of it, it is rewritten with just the live state: to a temporary
// file, fsynced, renamed over the log, and the directory fsynced; a crash at
// any point leaves either the old or the new log whole.
//
// A File locks its directory (flock on LogName + ".lock"), so that two
// processes, or two Files in one process, never share it.
package store
