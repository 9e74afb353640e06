package wal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen opens arbitrary file contents: Open must not panic nor fail
// (but for a header of another version), the file it leaves must reopen
// with no damage and the same records, and an Append must follow them.
func FuzzOpen(f *testing.F) {
	whole := file(threeRecs...)
	off := offsets(threeRecs)
	f.Add([]byte{})
	f.Add(file())
	f.Add(whole)
	f.Add(whole[:len(whole)-1])
	f.Add(whole[:off[2]+3])
	f.Add(whole[:3])
	flipped := []byte(string(whole))
	flipped[off[1]+10] ^= 1
	f.Add(flipped)
	huge := []byte(string(whole))
	huge[off[1]] = 0xff
	f.Add(huge)
	f.Add(append(file(threeRecs...), make([]byte, 100)...))
	f.Add([]byte("not a log at all, just some text"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "log")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var got []rec
		l, err := Open(path, Options{Sync: SyncNone, Replay: func(r Record) error {
			got = append(got, rec{r.Type, string(r.Payload)})
			return nil
		}})
		if errors.Is(err, ErrVersion) {
			return
		}
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer l.Close()
		for _, e := range l.Recovered() {
			if e.Offset+e.Dropped != int64(len(data)) {
				t.Errorf("%v: offset %d + dropped %d != file size %d", e, e.Offset, e.Dropped, len(data))
			}
		}
		if len(l.Recovered()) == 0 && len(data) > 0 && l.Size() != int64(len(data)) {
			t.Errorf("no damage reported, but the file went from %d to %d bytes", len(data), l.Size())
		}
		if err := l.Append(42, []byte("appended")); err != nil {
			t.Fatal(err)
		}
		l, again := reopen(t, l, Options{Sync: SyncNone})
		defer l.Close()
		if want := append(got, rec{42, "appended"}); !equalRecs(again, want) {
			t.Fatalf("reopened: %v, want %v", again, want)
		}
	})
}
