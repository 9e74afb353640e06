// Package nowait does the reads and writes of a plain TCP or Unix
// connection, or of a pipe, with system calls that never block a thread.
//
// A Writer writes without ever waiting: what the socket takes at once is
// written, and the caller keeps the rest for a goroutine that may wait.
// The broker's readers and the client's callers write so, and leave the
// rest to a writer. A Reader reads as the connection's own Read does,
// waiting in the runtime's network poller, but its read(2) is raw.
//
// A pipe (standard input or output) is read and written the same way,
// through a non-blocking description of the process's own (NewPipeReader,
// NewPipeWriter: Linux only), so that `petrel sub | …` and `… | petrel
// pub -l` do not block a thread on each read or write.
//
// A Listener (Linux, amd64 and arm64) accepts TCP connections as Conns,
// whose descriptors the package's one poller watches rather than the
// runtime's: a Conn reads and writes like a net.Conn, and can park (Park)
// instead of keeping a goroutine waiting, so that a server's idle clients
// hold neither a goroutine nor a runtime poll descriptor, both of which
// the runtime keeps allocated for good after a burst of them. The
// Listener parks too (Listener.Park, TryAccept), so that connections are
// accepted where they are read. The poller's goroutine calls the parked
// functions itself, between its waits, and a function that would wait or
// last hands the poller's role to a new goroutine (Yield).
//
// On Linux both make their system calls raw (syscall.RawSyscall), unseen by
// the scheduler: a non-blocking call cannot block, so there is no P to
// hand to another thread while it runs, and no sleeping sysmon to wake.
// Under the race detector they are syscall.Read and syscall.Write, whose
// annotations order what goroutines do around I/O (make norace tests the
// raw path).
package nowait
