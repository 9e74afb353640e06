//go:build linux

package nowait

import (
	"fmt"
	"os"
	"syscall"
)

// A pipe such as standard input or output is a blocking descriptor that
// others may share (the shell, the next command of a pipeline), so it is
// not made non-blocking in place: the pipe is opened again through
// /proc/self/fd, for a description of the process's own, non-blocking and
// known to the runtime's poller. Its reads and writes are then raw (see
// rawRead) and wait in the poller, where a blocking read(2) or write(2)
// would tell the scheduler of a system call and wake a sleeping sysmon at
// every burst: for `petrel sub` that was a fifth of its CPU.

// reopen opens the pipe f again, non-blocking, for reading or writing, and
// returns the new file and its descriptor access: nil, nil if f is not a
// pipe or cannot be opened so.
func reopen(f *os.File, flag int) (*os.File, syscall.RawConn) {
	if f == nil {
		return nil, nil
	}
	// The descriptor through Control, not Fd: Fd would make f blocking,
	// and with it the description that others share.
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, nil
	}
	fd := -1
	cerr := sc.Control(func(ffd uintptr) {
		var st syscall.Stat_t
		if syscall.Fstat(int(ffd), &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
			return
		}
		fd, err = syscall.Open(fmt.Sprintf("/proc/self/fd/%d", ffd), flag|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	})
	if cerr != nil || err != nil || fd < 0 {
		return nil, nil
	}
	pf := os.NewFile(uintptr(fd), f.Name()) // non-blocking: NewFile registers it with the poller
	rc, err := pf.SyscallConn()
	if err != nil {
		pf.Close()
		return nil, nil
	}
	return pf, rc
}

// NewPipeReader returns a Reader of the pipe f (standard input, say)
// through a description of its own, or nil if f is not a pipe. Close
// closes that description, not f.
func NewPipeReader(f *os.File) *Reader {
	pf, rc := reopen(f, syscall.O_RDONLY)
	if pf == nil {
		return nil
	}
	r := &Reader{rc: rc, file: pf}
	r.fn = r.read
	return r
}

// PipeWriter writes to a pipe as a blocking write does, whole, waiting in
// the poller while the pipe is full, but with each write(2) raw.
type PipeWriter struct {
	file  *os.File // the process's own description of the pipe
	rc    syscall.RawConn
	fn    func(fd uintptr) bool // w.write, bound once: a call allocates nothing
	p     []byte
	n     int
	errno syscall.Errno
}

// NewPipeWriter returns a PipeWriter of the pipe f (standard output, say)
// through a description of its own, or nil if f is not a pipe. Close
// closes that description, not f.
func NewPipeWriter(f *os.File) *PipeWriter {
	pf, rc := reopen(f, syscall.O_WRONLY)
	if pf == nil {
		return nil
	}
	w := &PipeWriter{file: pf, rc: rc}
	w.fn = w.write
	return w
}

// Write writes all of p, waiting while the pipe is full. It fails as
// write(2) does: with EPIPE (an *os.SyscallError) once the pipe has no
// reader. Calls must not overlap.
func (w *PipeWriter) Write(p []byte) (int, error) {
	w.p, w.n, w.errno = p, 0, 0
	err := w.rc.Write(w.fn)
	n, errno := w.n, w.errno
	w.p = nil
	if err == nil && errno != 0 {
		err = os.NewSyscallError("write", errno)
	}
	return n, err
}

// write is the function the descriptor runs; false waits for room.
func (w *PipeWriter) write(fd uintptr) bool {
	for w.n < len(w.p) {
		n, errno := rawWrite(fd, w.p[w.n:])
		switch errno {
		case 0:
			w.n += n
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			w.errno = errno
			return true
		}
	}
	return true
}

// Close closes the writer's description of the pipe.
func (w *PipeWriter) Close() error { return w.file.Close() }
