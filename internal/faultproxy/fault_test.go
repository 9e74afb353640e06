package faultproxy_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/faultproxy"
	"github.com/petrel-mqtt/petrel/packet"
)

var (
	dirs = []faultproxy.Direction{faultproxy.ClientToServer, faultproxy.ServerToClient}
	// write sizes: all at once, byte by byte, and in between.
	chunkings = []int{1 << 20, 1, 1000}
)

func other(dir faultproxy.Direction) faultproxy.Direction { return faultproxy.Both &^ dir }

func TestCutAfterPacket(t *testing.T) {
	s := session()
	for _, dir := range dirs {
		for _, most := range chunkings {
			t.Run(fmt.Sprintf("%v/%d", dir, most), func(t *testing.T) {
				pe := newPeer(t)
				p := listen(t, pe.addr(), faultproxy.Options{})
				p.CutAfterPacket(dir, packet.TypePublish, 3)
				p.CutAfterPacket(other(dir), packet.TypePublish, 1) // no traffic there
				from, to := pairDir(t, p, pe, dir)
				wait := send(from, s.b, most, 1)
				got := readToEnd(t, to)
				wait()
				want := s.b[:s.endOf(packet.TypePublish, 3)]
				if !bytes.Equal(got, want) {
					t.Fatalf("got %d bytes, want the %d up to the end of the third PUBLISH", len(got), len(want))
				}
				expectEnd(t, from)
				if p.Cuts() != 1 {
					t.Errorf("Cuts() = %d, want 1", p.Cuts())
				}

				// One-shot: the next connection passes everything.
				from, to = pairDir(t, p, pe, dir)
				wait = send(from, s.b, most, 2)
				got = readToEnd(t, to)
				wait()
				if !bytes.Equal(got, s.b) {
					t.Fatalf("after the cut: got %d bytes, want all %d", len(got), len(s.b))
				}
			})
		}
	}
}

func TestCutAfterPacketCountsAcrossConnections(t *testing.T) {
	s := session()
	pe := newPeer(t)
	p := listen(t, pe.addr(), faultproxy.Options{})
	p.CutAfterPacket(faultproxy.Both, packet.TypePublish, 3)

	// Two PUBLISH packets, one each way, on a first connection.
	client, server := pair(t, p, pe)
	two := s.b[:s.endOf(packet.TypePublish, 1)]
	wait := send(client, two, 100, 1)
	if got := readToEnd(t, server); !bytes.Equal(got, two) {
		t.Fatalf("first connection: got %d bytes, want %d", len(got), len(two))
	}
	wait()
	wait = send(server, two, 100, 1)
	if got := readToEnd(t, client); !bytes.Equal(got, two) {
		t.Fatalf("first connection: got %d bytes back, want %d", len(got), len(two))
	}
	wait()
	if p.Cuts() != 0 {
		t.Fatalf("Cuts() = %d, want 0", p.Cuts())
	}

	// The third PUBLISH is the first of the second connection.
	client, server = pair(t, p, pe)
	wait = send(client, s.b, 100, 2)
	got := readToEnd(t, server)
	wait()
	if want := s.b[:s.endOf(packet.TypePublish, 1)]; !bytes.Equal(got, want) {
		t.Fatalf("second connection: got %d bytes, want %d", len(got), len(want))
	}
	if p.Cuts() != 1 {
		t.Errorf("Cuts() = %d, want 1", p.Cuts())
	}
}

func TestCutAfterBytes(t *testing.T) {
	s := session()
	for _, dir := range dirs {
		for _, n := range []int64{0, 1, 2, 12_345, int64(len(s.b)) - 1} {
			t.Run(fmt.Sprintf("%v/%d", dir, n), func(t *testing.T) {
				pe := newPeer(t)
				p := listen(t, pe.addr(), faultproxy.Options{})
				p.CutAfterBytes(dir, n)
				from, to := pairDir(t, p, pe, dir)
				wait := send(from, s.b, 3000, uint64(n))
				got := readToEnd(t, to)
				wait()
				if !bytes.Equal(got, s.b[:n]) {
					t.Fatalf("got %d bytes, want the first %d", len(got), n)
				}
				expectEnd(t, from)
				if p.Cuts() != 1 {
					t.Errorf("Cuts() = %d, want 1", p.Cuts())
				}
			})
		}
	}
}

func TestTruncateNext(t *testing.T) {
	s := session()
	for _, tc := range []struct {
		typ packet.Type
		k   int // the k-th packet of typ is the next after priming
	}{
		{packet.TypeSubscribe, 1}, // 43 bytes
		{packet.TypePingreq, 1},   // 2 bytes: 1 forwarded
		{packet.TypePublish, 5},   // 70,004 bytes, over many reads
	} {
		for _, dir := range dirs {
			for _, most := range chunkings {
				t.Run(fmt.Sprintf("%v/%v/%d", tc.typ, dir, most), func(t *testing.T) {
					pe := newPeer(t)
					p := listen(t, pe.addr(), faultproxy.Options{})
					// Prime: packets of that type before arming do not count.
					from, to := pairDir(t, p, pe, dir)
					pre := s.b[:s.startOf(tc.typ, tc.k)]
					if _, err := from.Write(pre); err != nil {
						t.Fatal(err)
					}
					if got := readN(t, to, len(pre)); !bytes.Equal(got, pre) {
						t.Fatal("priming bytes differ")
					}
					p.TruncateNext(dir, tc.typ)
					wait := send(from, s.b[len(pre):], most, 3)
					got := slices.Concat(pre, readToEnd(t, to))
					wait()
					start, end := len(pre), s.endOf(tc.typ, tc.k)
					want := s.b[:start+(end-start+1)/2]
					if !bytes.Equal(got, want) {
						t.Fatalf("got %d bytes, want %d: %d of the %d of %v", len(got), len(want), len(want)-start, end-start, tc.typ)
					}
					if len(want) <= start || len(want) >= end {
						t.Fatal("not a strict prefix")
					}
					if p.Cuts() != 1 {
						t.Errorf("Cuts() = %d, want 1", p.Cuts())
					}
				})
			}
		}
	}
}

func TestRandomCuts(t *testing.T) {
	s := new(stream)
	for i := range 60 {
		s.add(packet.TypePublish, 2, (i*397)%3000)
	}
	boundaries := map[int]bool{0: true}
	for _, e := range s.ends {
		boundaries[e] = true
	}
	// run relays the stream over connections one after another and returns
	// how many bytes of each the peer received.
	run := func(seed int64, chunkSeed uint64) []int {
		pe := newPeer(t)
		p := listen(t, pe.addr(), faultproxy.Options{Seed: seed})
		p.RandomCuts(faultproxy.ClientToServer, 0.04)
		var got []int
		for i := range 12 {
			client, server := pair(t, p, pe)
			wait := send(client, s.b, 2000, chunkSeed+uint64(i))
			got = append(got, len(readToEnd(t, server)))
			wait()
			client.Close()
		}
		return got
	}
	a := run(7, 100)
	b := run(7, 200) // the same seed, other reads
	c := run(8, 100)
	t.Logf("seed 7: %v\nseed 8: %v", a, c)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, other cut points:\n%v\n%v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 cut at the same points: %v", a)
	}
	var whole, atBoundary, inside int
	for _, n := range a {
		switch {
		case n == len(s.b):
			whole++
		case boundaries[n]:
			atBoundary++
		default:
			inside++
		}
	}
	if atBoundary == 0 || inside == 0 {
		t.Errorf("seed 7: %d cuts between packets, %d inside; want some of each", atBoundary, inside)
	}
}

func TestMalformedStream(t *testing.T) {
	pe := newPeer(t)
	p := listen(t, pe.addr(), faultproxy.Options{})
	// A PUBLISH, then a Remaining Length of five bytes: the framing is lost
	// and no later PUBLISH counts.
	b := frame(packet.TypePublish, 0, 10)
	b = append(b, 0x30, 0xff, 0xff, 0xff, 0xff, 0x01)
	for range 3 {
		b = append(b, frame(packet.TypePublish, 0, 10)...)
	}
	p.CutAfterPacket(faultproxy.ClientToServer, packet.TypePublish, 2)
	client, server := pair(t, p, pe)
	wait := send(client, b, 3, 1)
	if got := readToEnd(t, server); !bytes.Equal(got, b) {
		t.Fatalf("got %x, want %x", got, b)
	}
	wait()

	// A packet claiming the largest length passes, then the stream ends
	// inside it.
	huge := []byte{0x30, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3}
	p.Reset()
	p.TruncateNext(faultproxy.ClientToServer, packet.TypePublish)
	client, server = pair(t, p, pe)
	wait = send(client, huge, 1, 1)
	if got := readToEnd(t, server); !bytes.Equal(got, huge) {
		t.Fatalf("got %x, want %x", got, huge)
	}
	wait()

	// A stream that ends inside the header of the packet to truncate:
	// the bytes held for want of its length are passed on.
	short := []byte{0x30, 0xff}
	client, server = pair(t, p, pe)
	wait = send(client, short, 1, 1)
	if got := readToEnd(t, server); !bytes.Equal(got, short) {
		t.Fatalf("got %x, want %x", got, short)
	}
	wait()
	if p.Cuts() != 0 {
		t.Errorf("Cuts() = %d, want 0", p.Cuts())
	}
}
