package store_test

import "syscall"

// childAttr kills a child process if the test binary dies without
// cleaning up.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
