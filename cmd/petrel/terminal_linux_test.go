//go:build linux

package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestIsTerminal: a pty (openPTY, of the password tests) is a terminal; a
// pipe, a file and /dev/null (a character device) are not.
func TestIsTerminal(t *testing.T) {
	_, slave := openPTY(t)
	if !isTerminal(slave) {
		t.Errorf("%s: not a terminal", slave.Name())
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, f := range []*os.File{w, file, null} {
		if isTerminal(f) {
			t.Errorf("%s: taken for a terminal", f.Name())
		}
	}
}
