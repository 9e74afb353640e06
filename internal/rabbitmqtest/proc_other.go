//go:build !linux

package rabbitmqtest

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }

func lockBoot() (unlock func()) { return func() {} }
