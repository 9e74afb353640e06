package store_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/wal"
	"github.com/petrel-mqtt/petrel/store"
)

// history runs steps on a new File with SyncNone and returns the log's
// bytes, and after each step (0: before any) the state and the log's size.
func history(t *testing.T, steps []step) (data []byte, states []loaded, sizes []int64) {
	t.Helper()
	dir := t.TempDir()
	s := openFile(t, dir, store.Options{Sync: store.SyncNone})
	path := filepath.Join(dir, store.LogName)
	snap := func() {
		states = append(states, load(t, s))
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, fi.Size())
	}
	snap()
	for i, st := range steps {
		if err := st.call(s); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		snap()
	}
	s.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data, states, sizes
}

// TestDamage damages a File's log in the ways a crash or a bad disk can,
// and checks that Open reports it and loads the state the intact records
// describe.
func TestDamage(t *testing.T) {
	leaktest.Check(t)
	steps := []step{putStep(put(1, 1)), putStep(put(2, 2)), releaseStep(2), inStep(5), deleteStep(1), putStep(put(3, 1))}
	data, states, sizes := history(t, steps)
	n := len(steps)
	flip := func(i int64) []byte {
		b := []byte(string(data))
		b[i] ^= 0x40
		return b
	}
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 1000)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	for _, c := range []struct {
		name   string
		data   []byte
		state  int    // the step whose state must load
		offset int64  // where the damage is reported; -1: none
		reason string // its Reason's start
	}{
		{"truncated last record", data[:len(data)-1], n - 1, sizes[n-1], "torn record"},
		{"truncated in the last record's header", data[:sizes[n-1]+4], n - 1, sizes[n-1], "torn record"},
		{"flipped byte in the middle record", flip(sizes[2] + 10), 2, sizes[2], "checksum mismatch"},
		{"flipped byte in the last record", flip(sizes[n] - 2), n - 1, sizes[n-1], "checksum mismatch"},
		{"empty file", nil, 0, 0, "torn record (an empty file"},
		{"random garbage", garbage, 0, 0, "bad file header"},
		{"garbage after the records", append([]byte(string(data)), garbage...), n, sizes[n], ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, store.LogName)
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			var logged strings.Builder
			s, err := store.Open(dir, store.Options{Logger: slogTo(&logged)})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			r := s.Recovered()
			if c.offset < 0 {
				if r != nil {
					t.Fatalf("Recovered() = %v, want nil", r)
				}
			} else {
				if len(r) != 1 {
					t.Fatalf("Recovered() = %v, want one error", r)
				}
				e := r[0]
				if e.Path != path || e.Offset != c.offset || e.Dropped != int64(len(c.data))-c.offset || !strings.HasPrefix(e.Reason, c.reason) {
					t.Errorf("Recovered()[0] = %+v, want path %s, offset %d, dropped %d, reason %q…",
						*e, path, c.offset, int64(len(c.data))-c.offset, c.reason)
				}
				if !errors.Is(e, store.ErrCorrupt) {
					t.Errorf("%v does not match ErrCorrupt", e)
				}
				if !strings.Contains(logged.String(), "recovered a damaged log") {
					t.Errorf("the damage was not logged: %q", logged.String())
				}
			}
			if diff := cmp.Diff(states[c.state], load(t, s)); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
			// It goes on from there, and opens clean.
			if err := s.PutOutgoing(put(100, 1)); err != nil {
				t.Fatal(err)
			}
			want := load(t, s)
			s.Close()
			if diff := cmp.Diff(want, load(t, openFile(t, dir, store.Options{}))); diff != "" {
				t.Errorf("Load after reopening (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBadRecords writes records whose checksums are right but whose
// contents are not: those of a known type are skipped and reported, one of
// an unknown type makes Open fail with ErrFormat.
func TestBadRecords(t *testing.T) {
	dir := t.TempDir()
	s := openFile(t, dir, store.Options{})
	s.PutOutgoing(put(1, 2))
	s.Close()
	path := filepath.Join(dir, store.LogName)
	l, err := wal.Open(path, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(1, []byte{1, 2, 3})                // a put too short
	l.Append(2, []byte{0, 0, 0, 0, 0, 0, 0, 9}) // a release of an unknown seq
	l.Append(4, []byte{0, 77})                  // PutInbound(77)
	l.Close()
	s, err = store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Recovered()
	if len(r) != 2 || r[0].Dropped != 0 || r[1].Dropped != 0 || !strings.Contains(r[1].Reason, "release of seq 9") {
		t.Errorf("Recovered() = %v, want two skipped records", r)
	}
	want := loaded{Out: []store.Outgoing{put(1, 2)}, Inbound: []uint16{77}, LastSeq: 1}
	if diff := cmp.Diff(want, load(t, s)); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	s.Close()

	l, err = wal.Open(path, wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(99, nil)
	l.Close()
	before, _ := os.ReadFile(path)
	if _, err := store.Open(dir, store.Options{}); !errors.Is(err, store.ErrFormat) || !strings.Contains(err.Error(), "type 99") {
		t.Fatalf("Open with a record of type 99 = %v, want ErrFormat", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("Open changed a log it does not understand")
	}
	// A log of a newer format version.
	os.WriteFile(path, []byte("PTRLWAL\x02"), 0o600)
	if _, err := store.Open(dir, store.Options{}); !errors.Is(err, store.ErrFormat) {
		t.Fatalf("Open of format version 2 = %v, want ErrFormat", err)
	}
}

// TestCompaction churns through messages with a small CompactAt: the log
// stays small, and compaction keeps exactly the live state and lastSeq.
func TestCompaction(t *testing.T) {
	leaktest.Check(t)
	dir := t.TempDir()
	path := filepath.Join(dir, store.LogName)
	opts := store.Options{Sync: store.SyncNone, CompactAt: 4096}
	s := openFile(t, dir, opts)
	m := store.NewMemory() // the model
	var largest int64
	for seq := uint64(1); seq <= 2000; seq++ {
		o := put(seq, byte(1+seq%2))
		for _, st := range []store.Store{s, m} {
			st.PutOutgoing(o)
			if o.QoS == 2 {
				st.Release(seq)
			}
			if seq > 8 {
				st.DeleteOutgoing(seq - 8)
			}
			st.PutInbound(uint16(seq))
			if seq > 3 {
				st.DeleteInbound(uint16(seq - 3))
			}
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		largest = max(largest, fi.Size())
	}
	if largest > 3*4096 {
		t.Errorf("the log grew to %d bytes, with CompactAt 4096", largest)
	}
	want := load(t, m)
	if diff := cmp.Diff(want, load(t, s)); diff != "" {
		t.Fatalf("Load (-want +got):\n%s", diff)
	}
	s.Close()
	s = openFile(t, dir, opts)
	if diff := cmp.Diff(want, load(t, s)); diff != "" {
		t.Fatalf("Load after reopening (-want +got):\n%s", diff)
	}

	// With nothing live, a compacted log holds lastSeq alone.
	for _, o := range want.Out {
		s.DeleteOutgoing(o.Seq)
	}
	for _, id := range want.Inbound {
		s.DeleteInbound(id)
	}
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Size() != 8+wal.RecordSize(8) {
		t.Errorf("an empty compacted log is %d bytes, want %d", fi.Size(), 8+wal.RecordSize(8))
	}
	s.Close()
	if diff := cmp.Diff(loaded{LastSeq: 2000}, load(t, openFile(t, dir, opts))); diff != "" {
		t.Fatalf("Load after compacting to nothing (-want +got):\n%s", diff)
	}
}

func TestLocked(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock")
	}
	dir := t.TempDir()
	s := openFile(t, dir, store.Options{})
	if _, err := store.Open(dir, store.Options{}); !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open = %v, want ErrLocked naming the directory", err)
	}
	s.Close()
	openFile(t, dir, store.Options{})
}

func TestClosed(t *testing.T) {
	s := openFile(t, t.TempDir(), store.Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, _, loadErr := s.Load()
	for name, err := range map[string]error{
		"Load":           loadErr,
		"PutOutgoing":    s.PutOutgoing(put(1, 1)),
		"Release":        s.Release(1),
		"DeleteOutgoing": s.DeleteOutgoing(1),
		"PutInbound":     s.PutInbound(1),
		"DeleteInbound":  s.DeleteInbound(1),
		"Reset":          s.Reset(),
		"Sync":           s.Sync(),
		"Compact":        s.Compact(),
	} {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
}

func TestOpenOptions(t *testing.T) {
	for _, o := range []store.Options{{Sync: 9}, {BatchWindow: -1}} {
		if _, err := store.Open(t.TempDir(), o); err == nil {
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	openFile(t, dir, store.Options{})
	if fi, err := os.Stat(dir); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700) {
		t.Errorf("the store's directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
}
