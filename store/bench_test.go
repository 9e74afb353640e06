package store_test

import (
	"sync/atomic"
	"testing"

	"github.com/petrel-mqtt/petrel/store"
)

// BenchmarkPutDelete measures a QoS 1 flow's store calls: PutOutgoing of a
// 100-byte PUBLISH, then DeleteOutgoing. With SyncAlways each PutOutgoing
// waits for an fsync; run in parallel, the callers share them.
func BenchmarkPutDelete(b *testing.B) {
	packet := make([]byte, 100)
	packet[0] = 0x32
	var seq atomic.Uint64
	flow := func(b *testing.B, s store.Store) {
		n := seq.Add(1)
		if err := s.PutOutgoing(store.Outgoing{Seq: n, PacketID: uint16(n%65535 + 1), QoS: 1, Packet: packet}); err != nil {
			b.Fatal(err)
		}
		if err := s.DeleteOutgoing(n); err != nil {
			b.Fatal(err)
		}
	}
	serial := func(b *testing.B, s store.Store) {
		b.ReportAllocs()
		for b.Loop() {
			flow(b, s)
		}
	}
	parallel := func(b *testing.B, s store.Store) {
		b.ReportAllocs()
		b.SetParallelism(8) // 8 × GOMAXPROCS callers
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				flow(b, s)
			}
		})
	}
	file := func(b *testing.B, sync store.SyncPolicy) store.Store {
		return openFile(b, b.TempDir(), store.Options{Sync: sync})
	}
	b.Run("Memory", func(b *testing.B) { serial(b, store.NewMemory()) })
	b.Run("Memory/parallel", func(b *testing.B) { parallel(b, store.NewMemory()) })
	b.Run("File/SyncAlways", func(b *testing.B) { serial(b, file(b, store.SyncAlways)) })
	b.Run("File/SyncAlways/parallel", func(b *testing.B) { parallel(b, file(b, store.SyncAlways)) })
	b.Run("File/SyncBatch", func(b *testing.B) { serial(b, file(b, store.SyncBatch)) })
	b.Run("File/SyncBatch/parallel", func(b *testing.B) { parallel(b, file(b, store.SyncBatch)) })
	b.Run("File/SyncNone", func(b *testing.B) { serial(b, file(b, store.SyncNone)) })
}
