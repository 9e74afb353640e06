//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package wal

import (
	"fmt"
	"os"
)

// lockFile opens (creating it) the lock file at path. This system has no
// flock(2), so nothing stops a second Log on the same file: the caller
// must see to it.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	return f, nil
}
