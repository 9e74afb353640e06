//go:build !linux

package wal

import (
	"os"
	"runtime"
)

// datasync flushes f to stable storage (fsync; F_FULLFSYNC on macOS).
func datasync(f *os.File) error { return f.Sync() }

// syncDir makes the directory entries in dir durable: a file created or
// renamed there survives a crash. Windows cannot sync a directory, and
// makes renames durable on its own.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
