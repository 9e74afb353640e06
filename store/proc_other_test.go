//go:build !linux

package store_test

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
