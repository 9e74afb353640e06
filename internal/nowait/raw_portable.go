//go:build unix && (!linux || race)

package nowait

import (
	"errors"
	"syscall"
)

// rawRead and rawWrite are syscall.Read and syscall.Write here: other
// systems make their calls through libc, not raw; and under the race
// detector, syscall's calls tell it that what one goroutine wrote before
// a write to a connection happens before what another does after reading
// it, which raw calls would not.
func rawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	return n, errno(err)
}

func rawWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	return n, errno(err)
}

func errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return syscall.EIO
}
