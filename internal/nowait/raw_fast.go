//go:build linux && !race

package nowait

import (
	"syscall"
	"unsafe"
)

// rawRead and rawWrite make a system call on a non-blocking descriptor
// without telling the scheduler (syscall.RawSyscall), which is safe
// because the call cannot block: it returns EAGAIN instead. A call that
// the scheduler is told about (syscall.Read, syscall.Write) may have its P
// handed to another thread if it lasts past sysmon's 20 µs tick, and wakes
// a sleeping sysmon on entry when the process was idle: on loopback a
// write delivers to the peer within the call, and the broker spent 18% of
// its CPU in sysmon's sleeps and in futex wakes while clients connected
// in a stream.
func rawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), e
}

func rawWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	return int(n), e
}
