package wal

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// kv is an owner of a log: a map kept by set (type 1, "key=value") and
// delete (type 2, "key") records.
type kv struct {
	mu   sync.Mutex // held across Write and applying its change
	m    map[string]string
	live int64
	log  *Log
	fail error // returned by Snapshot after one record, if set
}

func (s *kv) replay(r Record) error {
	switch r.Type {
	case 1:
		k, v, _ := strings.Cut(string(r.Payload), "=")
		s.set(k, v)
	case 2:
		s.del(string(r.Payload))
	default:
		return fmt.Errorf("unknown type %d", r.Type)
	}
	return nil
}

func (s *kv) set(k, v string) {
	s.del(k)
	s.m[k] = v
	s.live += RecordSize(len(k) + 1 + len(v))
}

func (s *kv) del(k string) {
	if v, ok := s.m[k]; ok {
		s.live -= RecordSize(len(k) + 1 + len(v))
		delete(s.m, k)
	}
}

func (s *kv) snapshot(emit func(byte, []byte) error) error {
	n := 0
	for k, v := range s.m {
		if s.fail != nil && n == 1 {
			return s.fail
		}
		if err := emit(1, []byte(k+"="+v)); err != nil {
			return err
		}
		n++
	}
	return nil
}

func openKV(t *testing.T, path string, opts Options) *kv {
	t.Helper()
	s := &kv{m: map[string]string{}}
	opts.Replay, opts.Snapshot, opts.LiveSize = s.replay, s.snapshot, func() int64 { return s.live }
	l, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s.log = l
	return s
}

func (s *kv) Set(k, v string) error {
	s.mu.Lock()
	lsn, err := s.log.Write(1, []byte(k+"="+v))
	if err == nil {
		s.set(k, v)
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.log.Commit(lsn)
}

func (s *kv) Delete(k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.log.Write(2, []byte(k)); err != nil {
		return err
	}
	s.del(k)
	return nil
}

// TestCompaction churns through keys from several goroutines with a small
// CompactAt: the file stays small, and a reopen replays exactly the live
// state.
func TestCompaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	const compactAt = 4096
	opts := Options{Sync: SyncNone, CompactAt: compactAt}
	s := openKV(t, path, opts)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				k := fmt.Sprintf("g%d-k%d", g, i)
				if err := s.Set(k, strings.Repeat("v", i%50)); err != nil {
					t.Error(err)
					return
				}
				if i >= 5 { // keep five keys per goroutine
					if err := s.Delete(fmt.Sprintf("g%d-k%d", g, i-5)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if size := s.log.Size(); size > 2*compactAt {
		t.Errorf("after churning, the file is %d bytes, with CompactAt %d", size, compactAt)
	}
	want := maps.Clone(s.m)
	if len(want) != 20 {
		t.Fatalf("%d live keys, want 20", len(want))
	}
	s.log.Close()
	s2 := openKV(t, path, opts)
	if !maps.Equal(s2.m, want) || len(s2.log.Recovered()) != 0 {
		t.Fatalf("reopened: %v, recovered %v; want %v", s2.m, s2.log.Recovered(), want)
	}
}

// TestCompactionIsAtomic fails a compaction half-way: the log is as it was,
// and no temporary file is left.
func TestCompactionIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var logged strings.Builder
	s := openKV(t, path, Options{CompactAt: 100, Logger: slogTo(&logged)})
	for i := range 10 {
		if err := s.Set(fmt.Sprint("k", i%3), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := readFile(t, path)
	s.fail = errors.New("snapshot failed")
	if err := s.log.Compact(); !errors.Is(err, s.fail) {
		t.Fatalf("Compact = %v, want the snapshot's error", err)
	}
	if b := readFile(t, path); string(b) != string(before) {
		t.Fatal("a failed compaction changed the log")
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Fatalf("the temporary file is left: %v", err)
	}
	// A failed automatic compaction is logged, and the log goes on.
	for i := range 50 {
		if err := s.Set("k0", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(logged.String(), "compaction failed") {
		t.Errorf("the failed compaction was not logged: %q", logged.String())
	}
	s.fail = nil
	if err := s.log.Compact(); err != nil {
		t.Fatal(err)
	}
	want := maps.Clone(s.m)
	s.log.Close()

	// A leftover temporary file, from a crash before the rename, is removed.
	if err := os.WriteFile(path+".compact", []byte("half a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = openKV(t, path, Options{})
	if !maps.Equal(s.m, want) || s.log.Recovered() != nil {
		t.Fatalf("reopened: %v, recovered %v; want %v", s.m, s.log.Recovered(), want)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Fatalf("Open left the temporary file: %v", err)
	}
}

func TestCompactWithoutSnapshot(t *testing.T) {
	l, _ := open(t, filepath.Join(t.TempDir(), "log"), Options{})
	if err := l.Compact(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("Compact = %v, want ErrNoSnapshot", err)
	}
}

// TestCompactionSyncs checks that a compaction counts as a sync of what was
// written before it.
func TestCompactionSyncs(t *testing.T) {
	s := openKV(t, filepath.Join(t.TempDir(), "log"), Options{Sync: SyncBatch, BatchWindow: 1 << 40})
	for i := range 3 {
		if err := s.Set(fmt.Sprint(i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.log.Compact(); err != nil {
		t.Fatal(err)
	}
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	if s.log.synced != 3 {
		t.Fatalf("after Compact, %d of 3 records synced", s.log.synced)
	}
}
