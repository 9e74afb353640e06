package wal

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// rec is a record as the tests see it.
type rec struct {
	Type    byte
	Payload string
}

func (r rec) String() string { return fmt.Sprintf("{%d %q}", r.Type, r.Payload) }

// file returns the bytes of a log holding recs.
func file(recs ...rec) []byte {
	b := appendHeader(nil)
	for _, r := range recs {
		b = appendRecord(b, r.Type, []byte(r.Payload))
	}
	return b
}

// threeRecs is a log of three records, and the offsets where each starts.
var threeRecs = []rec{{1, "first record"}, {2, "the second, in the middle"}, {3, "third and last"}}

func offsets(recs []rec) []int64 {
	off := []int64{headerSize}
	for _, r := range recs {
		off = append(off, off[len(off)-1]+RecordSize(len(r.Payload)))
	}
	return off
}

// open opens the log at path, collecting what it replays; it fails t on an
// error and closes the log when t ends.
func open(t testing.TB, path string, opts Options) (*Log, []rec) {
	t.Helper()
	var got []rec
	opts.Replay = func(r Record) error {
		got = append(got, rec{r.Type, string(r.Payload)})
		return nil
	}
	l, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l, got
}

// reopen closes l and opens its file again, expecting no damage.
func reopen(t testing.TB, l *Log, opts Options) (*Log, []rec) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	l, got := open(t, l.Path(), opts)
	if r := l.Recovered(); r != nil {
		t.Fatalf("reopening a recovered log, Recovered = %v, want nil", r)
	}
	return l, got
}

func writeFile(t testing.TB, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.wal")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func equalRecs(a, b []rec) bool { return slices.Equal(a, b) }

func mustAppend(t testing.TB, l *Log, recs ...rec) {
	t.Helper()
	for _, r := range recs {
		if err := l.Append(r.Type, []byte(r.Payload)); err != nil {
			t.Fatalf("Append(%v): %v", r, err)
		}
	}
}

// slogTo returns a logger writing text to w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
