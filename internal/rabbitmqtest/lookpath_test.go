package rabbitmqtest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLookPath skips Debian's wrapper, which would run the server as the
// rabbitmq user, and finds the script it wraps.
func TestLookPath(t *testing.T) {
	sbin, lib := t.TempDir(), t.TempDir()
	wrapper := filepath.Join(lib, "rabbitmq-script-wrapper")
	script := filepath.Join(lib, "rabbitmq-server")
	for _, f := range []string{wrapper, script} {
		if err := os.WriteFile(f, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(wrapper, filepath.Join(sbin, "rabbitmq-server")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", sbin)
	if got := lookPath("rabbitmq-server", nil, nil); got != "" {
		t.Errorf("lookPath found %q, the wrapper", got)
	}
	if got := lookPath("rabbitmq-server", nil, []string{lib}); got != script {
		t.Errorf("lookPath = %q, want %q", got, script)
	}
	if got := lookPath("rabbitmq-server", []string{t.TempDir()}, nil); got != "" {
		t.Errorf("lookPath in an empty directory = %q", got)
	}
}
