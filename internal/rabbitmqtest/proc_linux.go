package rabbitmqtest

import "syscall"

// sysProcAttr kills the node, or epmd, if the test binary dies without
// cleaning up. (A node also halts when its standard input, held by the test
// binary, closes.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
