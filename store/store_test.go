package store_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/store"
)

// kind is a store under test: how to make one, and how to make it again
// from what the last one kept (nil for Memory, which has no second life).
type kind struct {
	name   string
	open   func(t *testing.T, dir string) store.Store
	reopen bool
}

func fileKind(sync store.SyncPolicy) kind {
	return kind{name: "File/" + sync.String(), reopen: true, open: func(t *testing.T, dir string) store.Store {
		return openFile(t, dir, store.Options{Sync: sync})
	}}
}

var kinds = []kind{
	{name: "Memory", open: func(*testing.T, string) store.Store { return store.NewMemory() }},
	fileKind(store.SyncAlways),
	fileKind(store.SyncBatch),
	fileKind(store.SyncNone),
}

// openFile opens a File in dir, failing t on an error or on damage, and
// closes it when t ends.
func openFile(t testing.TB, dir string, opts store.Options) *store.File {
	t.Helper()
	f, err := store.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	if r := f.Recovered(); r != nil {
		t.Fatalf("Open recovered from damage: %v", r)
	}
	return f
}

// loaded is what Load returns.
type loaded struct {
	Out     []store.Outgoing
	Inbound []uint16
	LastSeq uint64
}

func load(t testing.TB, s store.Store) loaded {
	t.Helper()
	out, in, last, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return loaded{out, in, last}
}

// pub returns an encoded QoS 1 or 2 PUBLISH for seq; its length varies
// with seq.
func pub(seq uint64, qos byte) []byte {
	payload := fmt.Appendf(nil, "message %d %s", seq, make([]byte, seq%37))
	b := []byte{0x30 | qos<<1, byte(2 + 3 + 2 + len(payload)), 0, 3, 'a', '/', 'b', 0, 1}
	return append(b, payload...)
}

func put(seq uint64, qos byte) store.Outgoing {
	return store.Outgoing{Seq: seq, PacketID: uint16(seq%65535 + 1), QoS: qos, Packet: pub(seq, qos)}
}

func released(o store.Outgoing) store.Outgoing {
	o.Released, o.Packet = true, nil
	return o
}

// step is a call on a store, and the error it must return.
type step struct {
	call func(s store.Store) error
	want error // matched with errors.Is
}

func putStep(o store.Outgoing) step {
	return step{call: func(s store.Store) error { return s.PutOutgoing(o) }}
}
func releaseStep(seq uint64) step {
	return step{call: func(s store.Store) error { return s.Release(seq) }}
}
func deleteStep(seq uint64) step {
	return step{call: func(s store.Store) error { return s.DeleteOutgoing(seq) }}
}
func inStep(id uint16) step { return step{call: func(s store.Store) error { return s.PutInbound(id) }} }
func delInStep(id uint16) step {
	return step{call: func(s store.Store) error { return s.DeleteInbound(id) }}
}
func resetStep() step { return step{call: func(s store.Store) error { return s.Reset() }} }
func failing(st step, want error) step {
	st.want = want
	return st
}

var suite = []struct {
	name  string
	steps []step
	want  loaded
}{
	{name: "empty"},
	{
		name:  "put, in Seq order",
		steps: []step{putStep(put(3, 1)), putStep(put(1, 2)), putStep(put(2, 1))},
		want:  loaded{Out: []store.Outgoing{put(1, 2), put(2, 1), put(3, 1)}, LastSeq: 3},
	},
	{
		name:  "release",
		steps: []step{putStep(put(1, 2)), putStep(put(2, 2)), releaseStep(1), releaseStep(1)},
		want:  loaded{Out: []store.Outgoing{released(put(1, 2)), put(2, 2)}, LastSeq: 2},
	},
	{
		name:  "put released",
		steps: []step{putStep(store.Outgoing{Seq: 5, PacketID: 9, QoS: 2, Released: true, Packet: []byte{1}})},
		want:  loaded{Out: []store.Outgoing{{Seq: 5, PacketID: 9, QoS: 2, Released: true}}, LastSeq: 5},
	},
	{
		name:  "delete keeps lastSeq",
		steps: []step{putStep(put(1, 1)), putStep(put(2, 2)), releaseStep(2), deleteStep(2), deleteStep(1), deleteStep(1), deleteStep(99)},
		want:  loaded{LastSeq: 2},
	},
	{
		name:  "inbound",
		steps: []step{inStep(7), inStep(3), inStep(7), inStep(65535), delInStep(3), delInStep(4)},
		want:  loaded{Inbound: []uint16{7, 65535}},
	},
	{
		name: "reset keeps lastSeq",
		steps: []step{putStep(put(1, 1)), putStep(put(10, 2)), releaseStep(10), inStep(1), resetStep(),
			putStep(put(11, 1)), inStep(2)},
		want: loaded{Out: []store.Outgoing{put(11, 1)}, Inbound: []uint16{2}, LastSeq: 11},
	},
	{
		name:  "reset when empty",
		steps: []step{putStep(put(4, 1)), deleteStep(4), resetStep(), resetStep()},
		want:  loaded{LastSeq: 4},
	},
	{
		name: "refused",
		steps: []step{
			putStep(put(2, 2)),
			failing(putStep(put(2, 1)), store.ErrInvalid), // Seq in use
			failing(putStep(store.Outgoing{PacketID: 1, QoS: 1, Packet: []byte{1}}), store.ErrInvalid),
			failing(putStep(store.Outgoing{Seq: 3, PacketID: 1, QoS: 0, Packet: []byte{1}}), store.ErrInvalid),
			failing(putStep(store.Outgoing{Seq: 3, PacketID: 1, QoS: 3, Packet: []byte{1}}), store.ErrInvalid),
			failing(putStep(store.Outgoing{Seq: 3, PacketID: 0, QoS: 1, Packet: []byte{1}}), store.ErrInvalid),
			failing(putStep(store.Outgoing{Seq: 3, PacketID: 1, QoS: 1}), store.ErrInvalid),
			failing(putStep(store.Outgoing{Seq: 3, PacketID: 1, QoS: 1, Released: true}), store.ErrInvalid),
			putStep(put(4, 1)),
			failing(releaseStep(3), store.ErrNotFound),
			failing(releaseStep(4), store.ErrInvalid),
			failing(inStep(0), store.ErrInvalid),
		},
		want: loaded{Out: []store.Outgoing{put(2, 2), put(4, 1)}, LastSeq: 4},
	},
}

// TestSuite runs the same calls on every kind of store; a File must then
// give the same state when opened again, and again after a compaction.
func TestSuite(t *testing.T) {
	leaktest.Check(t)
	for _, k := range kinds {
		for _, c := range suite {
			t.Run(k.name+"/"+c.name, func(t *testing.T) {
				dir := t.TempDir()
				s := k.open(t, dir)
				for i, st := range c.steps {
					if err := st.call(s); !errors.Is(err, st.want) || (err == nil) != (st.want == nil) {
						t.Fatalf("step %d: error %v, want %v", i, err, st.want)
					}
				}
				if diff := cmp.Diff(c.want, load(t, s)); diff != "" {
					t.Fatalf("Load (-want +got):\n%s", diff)
				}
				if !k.reopen {
					return
				}
				s.Close()
				s = k.open(t, dir)
				if diff := cmp.Diff(c.want, load(t, s)); diff != "" {
					t.Fatalf("Load after reopening (-want +got):\n%s", diff)
				}
				if err := s.(*store.File).Compact(); err != nil {
					t.Fatal(err)
				}
				s.Close()
				s = k.open(t, dir)
				if diff := cmp.Diff(c.want, load(t, s)); diff != "" {
					t.Fatalf("Load after compacting and reopening (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestCopies checks that a store keeps its own copy of a packet, and that
// Load returns copies.
func TestCopies(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			s := k.open(t, t.TempDir())
			b := pub(1, 1)
			s.PutOutgoing(store.Outgoing{Seq: 1, PacketID: 1, QoS: 1, Packet: b})
			b[0] = 0xff
			l := load(t, s)
			l.Out[0].Packet[1] = 0xff
			if got := load(t, s).Out[0].Packet; !slices.Equal(got, pub(1, 1)) {
				t.Fatalf("the stored packet changed with the caller's buffers: %x", got)
			}
		})
	}
}

// TestConcurrent runs flows from many goroutines at once.
func TestConcurrent(t *testing.T) {
	leaktest.Check(t)
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			dir := t.TempDir()
			s := k.open(t, dir)
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				want []store.Outgoing
			)
			const goroutines, each = 8, 40
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						seq := uint64(g*each + i + 1)
						qos := byte(1 + seq%2)
						if err := s.PutOutgoing(put(seq, qos)); err != nil {
							t.Error(err)
							return
						}
						if qos == 2 {
							if err := s.Release(seq); err != nil {
								t.Error(err)
								return
							}
						}
						if i%4 != 0 {
							if err := s.DeleteOutgoing(seq); err != nil {
								t.Error(err)
							}
							continue
						}
						o := put(seq, qos)
						if qos == 2 {
							o = released(o)
						}
						mu.Lock()
						want = append(want, o)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			slices.SortFunc(want, func(a, b store.Outgoing) int { return int(a.Seq) - int(b.Seq) })
			w := loaded{Out: want, LastSeq: goroutines * each}
			if diff := cmp.Diff(w, load(t, s)); diff != "" {
				t.Fatalf("Load (-want +got):\n%s", diff)
			}
			if k.reopen {
				s.Close()
				if diff := cmp.Diff(w, load(t, k.open(t, dir))); diff != "" {
					t.Fatalf("Load after reopening (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// slogTo returns a logger writing text to w.
func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
