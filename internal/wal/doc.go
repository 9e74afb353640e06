// Package wal is an append-only log of checksummed records in one file,
// for state that must survive the process: the client's session store, and
// later the broker's persistence.
//
// # Format
//
// A log file starts with an 8-byte header, "PTRLWAL" and a format version
// (1). Records follow, each framed as
//
//	length  uint32, big-endian: the payload's length
//	crc     uint32, big-endian: CRC-32C (Castagnoli) of type and payload
//	type    byte, the owner's record type
//	payload length bytes
//
// The log knows nothing of what records mean: its owner replays them at
// Open to rebuild its state, and supplies the live records when the log is
// compacted.
//
// # Recovery
//
// Open reads every record and checks its framing and checksum. At the
// first bad record it stops, and truncates the file there:
//
//   - a torn tail (a record cut short by a crash during its write) is the
//     expected damage, and truncating drops only that record;
//   - a checksum mismatch or an impossible length in the middle means the
//     framing after it cannot be trusted either, so everything from the bad
//     record on is dropped too;
//   - a file whose header is not a log header is garbage, and is emptied.
//
// Each is reported as a *CorruptError (matching ErrCorrupt) saying where,
// what was wrong and how many bytes were dropped: Log.Recovered returns
// them, and Options.Logger logs them at level Warn. Damage never makes Open
// fail; only I/O errors, a lock held by another Log, an unknown format
// version, or an error from Options.Replay do. No file content can make
// Open panic or allocate more than the file holds.
//
// # Durability
//
// Log.Write writes a record with one write(2), at once, under every policy:
// once it returns, the record survives the process being killed (SIGKILL),
// though not yet an operating-system crash or a power loss. What it takes
// to survive those too depends on Options.Sync:
//
//   - SyncAlways (the default): Log.Commit, and so Log.Append, returns only
//     once the record is on stable storage (fdatasync on Linux, fsync
//     elsewhere). Concurrent committers share one fsync (group commit): the
//     first to arrive syncs everything written so far while the others
//     wait, and the next round takes all those that arrived meanwhile.
//   - SyncBatch: Commit returns at once, and a background timer syncs
//     everything written so far Options.BatchWindow after the first record
//     written since the last sync; so it syncs at most once per
//     BatchWindow, and a record is on stable storage at most BatchWindow,
//     plus the time one fsync takes, after Write returned. An
//     operating-system crash or a power loss may lose the records written in
//     that span before it, and no older ones.
//   - SyncNone: the log never syncs except in Sync and Close; for tests.
//
// A failed fsync or a write that cannot be undone poisons the Log: every
// later call returns that error, as the state of the file is no longer
// known. Close it and open it again.
//
// # Compaction
//
// When Options.Snapshot is set and the file has grown past
// Options.CompactAt while the live records (Options.LiveSize) take at most
// a quarter of it, the next Write first rewrites the log: the header and the
// records that Snapshot emits go to a temporary file (path + ".compact"),
// which is fsynced and renamed over the log, and the directory is fsynced.
// A crash at any point leaves either the old or the new file whole; Open
// removes a leftover temporary file.
//
// # Concurrency
//
// A Log's methods are safe for concurrent use. Records are appended in the
// order the Write calls take the Log's lock. Snapshot and LiveSize are
// called from within Write or Compact with the Log's lock held, so they
// must not call the Log. The owner keeps its state and the log in step by
// holding its own lock across applying a change and writing its record,
// and applying the change only after Write succeeds: Snapshot then sees
// exactly the state the records written so far describe.
//
// Open takes an exclusive flock(2) on path + ".lock" (a separate file, as
// compaction replaces the log's inode), so that two Logs, in one process or
// two, never share a file. The lock is released by Close, or by the kernel
// when the process dies. On systems without flock there is no lock.
package wal
