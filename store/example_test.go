package store_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/petrel-mqtt/petrel/store"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "petrel-store")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// The first process puts a message and is gone before its PUBACK.
	s, err := store.Open(filepath.Join(dir, "client-1"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	publish := []byte{0x32, 7, 0, 1, 't', 0, 1, 'h', 'i'} // QoS 1, topic "t", id 1, "hi"
	if err := s.PutOutgoing(store.Outgoing{Seq: 1, PacketID: 1, QoS: 1, Packet: publish}); err != nil {
		log.Fatal(err)
	}
	s.Close()

	// The next one finds it, to send it again.
	s, err = store.Open(filepath.Join(dir, "client-1"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for _, e := range s.Recovered() {
		log.Print(e) // damage found and recovered from
	}
	out, _, lastSeq, err := s.Load()
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range out {
		fmt.Printf("seq %d, packet id %d, QoS %d, %d bytes\n", o.Seq, o.PacketID, o.QoS, len(o.Packet))
	}
	fmt.Println("last seq:", lastSeq)
	// Output:
	// seq 1, packet id 1, QoS 1, 9 bytes
	// last seq: 1
}

func ExampleNewMemory() {
	s := store.NewMemory()
	s.PutOutgoing(store.Outgoing{Seq: 1, PacketID: 7, QoS: 2, Packet: []byte{0x34, 5, 0, 1, 't', 0, 7}})
	s.Release(1)     // PUBREC came: PUBREL is due
	s.PutInbound(42) // PUBREC sent for the server's message 42
	out, inbound, lastSeq, _ := s.Load()
	fmt.Println(out[0].Released, out[0].Packet == nil, inbound, lastSeq)
	s.DeleteOutgoing(1) // PUBCOMP came
	s.Reset()           // a clean session
	out, inbound, lastSeq, _ = s.Load()
	fmt.Println(len(out), len(inbound), lastSeq)
	// Output:
	// true true [42] 1
	// 0 0 1
}

func ExampleFile_Recovered() {
	dir, err := os.MkdirTemp("", "petrel-store")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := store.Open(dir, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	s.PutInbound(1)
	s.PutInbound(2)
	s.Close()

	// A crash cut the last record short.
	path := filepath.Join(dir, store.LogName)
	fi, _ := os.Stat(path)
	os.Truncate(path, fi.Size()-3)

	s, err = store.Open(dir, store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for _, e := range s.Recovered() {
		fmt.Printf("offset %d: %s, dropped %d bytes\n", e.Offset, e.Reason, e.Dropped)
	}
	_, inbound, _, _ := s.Load()
	fmt.Println(inbound)
	// Output:
	// offset 19: torn record (record of 11 bytes, the file ends 8 bytes into it), dropped 8 bytes
	// [1]
}
