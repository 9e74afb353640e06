//go:build linux

package main

import (
	"os"
	"syscall"
)

// isTerminal reports whether f is a terminal: whether it has terminal
// settings (the TCGETS ioctl, through the standard library's syscall).
// A character device that is no terminal, such as /dev/null, is not one.
func isTerminal(f *os.File) bool {
	var t syscall.Termios
	return termios(f.Fd(), syscall.TCGETS, &t) == nil
}
