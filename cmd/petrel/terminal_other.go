//go:build !linux

package main

import "os"

// isTerminal reports whether f is a terminal, as far as its mode tells:
// a character device (/dev/null is one too).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
