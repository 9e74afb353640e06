package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAppendReopen(t *testing.T) {
	for _, sync := range []SyncPolicy{SyncAlways, SyncBatch, SyncNone} {
		t.Run(sync.String(), func(t *testing.T) {
			opts := Options{Sync: sync, BatchWindow: time.Millisecond}
			path := filepath.Join(t.TempDir(), "log")
			l, got := open(t, path, opts)
			if len(got) != 0 || l.Recovered() != nil {
				t.Fatalf("new log: replayed %v, recovered %v", got, l.Recovered())
			}
			want := []rec{{1, "a"}, {0, ""}, {255, strings.Repeat("x", 100_000)}}
			mustAppend(t, l, want...)
			l, got = reopen(t, l, opts)
			if !equalRecs(got, want) {
				t.Fatalf("replayed %v, want %v", got, want)
			}
			if fi, _ := os.Stat(path); fi.Size() != l.Size() || l.Size() != offsets(want)[3] {
				t.Errorf("file size %d, Size() %d, want %d", fi.Size(), l.Size(), offsets(want)[3])
			}
			mustAppend(t, l, rec{7, "more"})
			_, got = reopen(t, l, opts)
			if want := append(want, rec{7, "more"}); !equalRecs(got, want) {
				t.Fatalf("replayed %v, want %v", got, want)
			}
		})
	}
}

func TestMissingAndEmptyFiles(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	empty := writeFile(t, nil)
	headerOnly := writeFile(t, file())
	for name, path := range map[string]string{"missing": missing, "empty": empty, "header only": headerOnly} {
		t.Run(name, func(t *testing.T) {
			l, got := open(t, path, Options{})
			r := l.Recovered()
			if name == "empty" {
				// A log Open created has its header: an empty one is
				// the trace of a crash, reported, with nothing lost.
				if len(r) != 1 || r[0].Kind != KindTorn || r[0].Dropped != 0 {
					t.Fatalf("recovered %v; want one torn log, nothing dropped", r)
				}
				r = nil
			}
			if len(got) != 0 || r != nil {
				t.Fatalf("replayed %v, recovered %v; want nothing", got, r)
			}
			if b := readFile(t, path); string(b) != string(file()) {
				t.Fatalf("file holds %q, want the header %q", b, file())
			}
		})
	}
}

// TestCorruption damages a log of three records in each way Open must
// recover from, and checks what it reports, what it replays, and that the
// file it leaves is whole.
func TestCorruption(t *testing.T) {
	whole := file(threeRecs...)
	off := offsets(threeRecs)
	flip := func(i int64) []byte {
		b := []byte(string(whole))
		b[i] ^= 0x10
		return b
	}
	garbage := make([]byte, 1000)
	for i := range garbage {
		garbage[i] = byte(i*7 + i/3)
	}
	for _, c := range []struct {
		name   string
		data   []byte
		recs   int   // how many records survive
		offset int64 // where the damage is reported
		kind   Kind
	}{
		{"torn last record", whole[:len(whole)-3], 2, off[2], KindTorn},
		{"torn last record header", whole[:off[2]+5], 2, off[2], KindTorn},
		{"torn after one byte", whole[:off[2]+1], 2, off[2], KindTorn},
		{"flipped byte in the middle record", flip(off[1] + 12), 1, off[1], KindChecksum},
		{"flipped byte in the last record", flip(off[3] - 1), 2, off[2], KindChecksum},
		{"flipped CRC in the middle record", flip(off[1] + 5), 1, off[1], KindChecksum},
		{"flipped type byte", flip(off[2] + 8), 2, off[2], KindChecksum},
		{"middle length too long for the file", flip(off[1] + 1), 1, off[1], KindTorn},
		{"middle length above the limit", flip(off[1]), 1, off[1], KindLength},
		{"zeros after the records", append(file(threeRecs...), make([]byte, 4096)...), 3, off[3], KindChecksum},
		{"garbage after the records", append(file(threeRecs...), garbage...), 3, off[3], KindTorn},
		{"random garbage", garbage, 0, 0, KindHeader},
		{"torn header", whole[:5], 0, 0, KindTorn},
		{"short garbage", []byte("xy"), 0, 0, KindHeader},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "middle length above the limit" {
				c.data[off[1]] = 0x7f // 2 GiB
			}
			path := writeFile(t, c.data)
			var logged strings.Builder
			opts := Options{Logger: slogTo(&logged)}
			l, got := open(t, path, opts)
			if want := threeRecs[:c.recs]; !equalRecs(got, want) {
				t.Errorf("replayed %v, want %v", got, want)
			}
			r := l.Recovered()
			if len(r) != 1 {
				t.Fatalf("Recovered() = %v, want one error", r)
			}
			e := r[0]
			if e.Path != path || e.Offset != c.offset || e.Kind != c.kind || e.Dropped != int64(len(c.data))-c.offset {
				t.Errorf("Recovered()[0] = %+v, want path %s, offset %d, kind %v, dropped %d",
					*e, path, c.offset, c.kind, int64(len(c.data))-c.offset)
			}
			if !errors.Is(e, ErrCorrupt) || !strings.Contains(e.Error(), fmt.Sprintf("offset %d", c.offset)) {
				t.Errorf("error %q: not ErrCorrupt, or does not name the offset", e)
			}
			if !strings.Contains(logged.String(), "recovered a damaged log") {
				t.Errorf("nothing logged; log: %q", logged.String())
			}
			want := file(threeRecs[:c.recs]...)
			if b := readFile(t, path); string(b) != string(want) {
				t.Errorf("file after Open: %q, want %q", b, want)
			}
			mustAppend(t, l, rec{9, "after"})
			_, got = reopen(t, l, Options{})
			if want := append(threeRecs[:c.recs:c.recs], rec{9, "after"}); !equalRecs(got, want) {
				t.Errorf("after an Append, reopen replayed %v, want %v", got, want)
			}
		})
	}
}

func TestUnknownVersion(t *testing.T) {
	data := file(threeRecs...)
	data[headerSize-1] = 2
	path := writeFile(t, data)
	_, err := Open(path, Options{})
	if !errors.Is(err, ErrVersion) {
		t.Fatalf("Open = %v, want ErrVersion", err)
	}
	if b := readFile(t, path); string(b) != string(data) {
		t.Errorf("Open changed a file of another version")
	}
	if _, err := Open(path, Options{}); !errors.Is(err, ErrVersion) {
		t.Fatalf("Open again = %v, want ErrVersion (the lock was not released?)", err)
	}
}

// TestNoAllocationFromLength checks that a record claiming a large size
// allocates nothing near that size.
func TestNoAllocationFromLength(t *testing.T) {
	data := file(threeRecs...)
	data = append(data, 0x00, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 'x') // 16 MiB - 1
	path := writeFile(t, data)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	l, got := open(t, path, Options{})
	runtime.ReadMemStats(&after)
	if len(got) != 3 || len(l.Recovered()) != 1 || l.Recovered()[0].Kind != KindTorn {
		t.Fatalf("replayed %v, recovered %v", got, l.Recovered())
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("Open allocated %d bytes for a file of %d", n, len(data))
	}
}

func TestLocked(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock")
	}
	path := filepath.Join(t.TempDir(), "log")
	l, _ := open(t, path, Options{})
	if _, err := Open(path, Options{}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path+".lock") {
		t.Fatalf("second Open = %v, want ErrLocked naming the lock file", err)
	}
	l.Close()
	open(t, path, Options{})
}

func TestClosed(t *testing.T) {
	l, _ := open(t, filepath.Join(t.TempDir(), "log"), Options{})
	mustAppend(t, l, rec{1, "x"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Append": l.Append(1, nil),
		"Sync":   l.Sync(),
		"Close":  l.Close(),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	// An LSN written before Close is synced by it.
	if err := l.Commit(1); err != nil {
		t.Errorf("Commit(1) after Close = %v, want nil", err)
	}
}

func TestTooLarge(t *testing.T) {
	l, _ := open(t, filepath.Join(t.TempDir(), "log"), Options{MaxRecord: 10})
	if err := l.Append(1, make([]byte, 11)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Append of 11 bytes with MaxRecord 10 = %v, want ErrTooLarge", err)
	}
	mustAppend(t, l, rec{1, "0123456789"})
	// A record above the limit of the reader is damage, not an allocation.
	l, got := reopen(t, l, Options{MaxRecord: 10})
	if len(got) != 1 {
		t.Fatalf("replayed %v", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, got = open(t, l.Path(), Options{MaxRecord: 5})
	if len(got) != 0 || len(l.Recovered()) != 1 || l.Recovered()[0].Kind != KindLength {
		t.Fatalf("with MaxRecord 5: replayed %v, recovered %v; want a KindLength", got, l.Recovered())
	}
}

func TestBadOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	for _, o := range []Options{{Sync: 7}, {BatchWindow: -1}, {MaxRecord: -1}, {MaxRecord: MaxRecordLimit + 1}} {
		if _, err := Open(path, o); err == nil {
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}

func TestReplayError(t *testing.T) {
	path := writeFile(t, file(threeRecs...))
	boom := errors.New("boom")
	_, err := Open(path, Options{Replay: func(r Record) error {
		if r.Type == 2 {
			return boom
		}
		return nil
	}})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), fmt.Sprint("offset ", offsets(threeRecs)[1])) {
		t.Fatalf("Open = %v, want boom at offset %d", err, offsets(threeRecs)[1])
	}
	// The failed Open released the lock, and left the file alone.
	_, got := open(t, path, Options{})
	if !equalRecs(got, threeRecs) {
		t.Fatalf("replayed %v", got)
	}
}

// TestGroupCommit checks that concurrent appenders share fsyncs, and that
// each Append returns only after an fsync that covers its record.
func TestGroupCommit(t *testing.T) {
	l, _ := open(t, filepath.Join(t.TempDir(), "log"), Options{})
	const goroutines, each = 16, 10
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				lsn, err := l.Write(byte(g), fmt.Appendf(nil, "%d/%d", g, i))
				if err == nil {
					err = l.Commit(lsn)
				}
				if err != nil {
					t.Error(err)
					return
				}
				l.mu.Lock()
				synced := l.synced
				l.mu.Unlock()
				if synced < uint64(lsn) {
					t.Errorf("Commit(%d) returned with %d records synced", lsn, synced)
				}
			}
		})
	}
	wg.Wait()
	l.mu.Lock()
	syncs := l.syncs
	l.mu.Unlock()
	t.Logf("%d appends, %d fsyncs", goroutines*each, syncs)
	if syncs >= goroutines*each {
		t.Errorf("%d fsyncs for %d concurrent appends: no group commit", syncs, goroutines*each)
	}
}

func TestSyncBatch(t *testing.T) {
	const window = 200 * time.Millisecond
	l, _ := open(t, filepath.Join(t.TempDir(), "log"), Options{Sync: SyncBatch, BatchWindow: window})
	start := time.Now()
	mustAppend(t, l, rec{1, "a"}, rec{1, "b"})
	state := func() (synced, syncs uint64) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.synced, l.syncs
	}
	if synced, _ := state(); synced != 0 {
		t.Fatalf("synced %d records at once, want 0 (batched)", synced)
	}
	for {
		if synced, syncs := state(); synced == 2 {
			if d := time.Since(start); d < window {
				t.Errorf("synced after %v, before the window of %v", d, window)
			}
			if syncs != 1 {
				t.Errorf("%d fsyncs, want 1", syncs)
			}
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("the batch was not synced within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	// Close syncs what the timer has not yet.
	mustAppend(t, l, rec{1, "c"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if synced, _ := state(); synced != 3 {
		t.Errorf("after Close, %d records synced, want 3", synced)
	}
}
