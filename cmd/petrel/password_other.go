//go:build !linux

package main

import (
	"context"
	"errors"
	"io"
	"os"
)

// readPassword would read a password without echo. Go's standard library
// can turn echo off only on Linux (see password_linux.go), so elsewhere an
// encrypted key's password must come from --key-password or
// PETREL_KEY_PASSWORD.
func readPassword(ctx context.Context, f *os.File, w io.Writer, prompt string) ([]byte, error) {
	return nil, errors.New("petrel cannot turn echo off on this system")
}
