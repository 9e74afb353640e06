//go:build !linux

package mosquittotest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
