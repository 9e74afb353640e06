package rabbitmqtest

import (
	"os"
	"path/filepath"
	"syscall"
)

// sysProcAttr kills the node, or epmd, if the test binary dies without
// cleaning up. (A node also halts when its standard input, held by the test
// binary, closes.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// lockBoot waits for and takes a lock that the test binaries of this
// machine share (an flock on a file in the temporary directory), and
// returns the function that releases it. If the file cannot be opened,
// there is no lock.
func lockBoot() (unlock func()) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "petrel-rabbitmqtest.lock"), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return func() {}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return func() {}
	}
	return func() { f.Close() } // closing the file releases the lock
}
