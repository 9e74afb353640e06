// Package nowait writes to a plain TCP or Unix connection without ever
// waiting: what the socket takes at once is written, and the caller keeps
// the rest for a goroutine that may wait. The broker's readers and the
// client's callers write so, and leave the rest to a writer.
package nowait
