package faultproxy_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/faultproxy"
	"github.com/petrel-mqtt/petrel/internal/leaktest"
)

func TestPassThrough(t *testing.T) {
	garbage := make([]byte, 300_000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"packets", session().b},
		{"garbage", garbage},
	} {
		for _, most := range chunkings {
			t.Run(fmt.Sprintf("%s/%d", tc.name, most), func(t *testing.T) {
				if most == 1 && len(tc.b) > 100_000 {
					most = 7 // byte by byte would take long under -race
				}
				pe := newPeer(t)
				p := listen(t, pe.addr(), faultproxy.Options{})
				client, server := pair(t, p, pe)
				// Both ways at once: the peer sends the bytes reversed.
				back := bytes.Clone(tc.b)
				for i, j := 0, len(back)-1; i < j; i, j = i+1, j-1 {
					back[i], back[j] = back[j], back[i]
				}
				waitUp := send(client, tc.b, most, 1)
				waitDown := send(server, back, most, 2)
				var gotUp, gotDown []byte
				var wg sync.WaitGroup
				wg.Go(func() { gotDown = readToEnd(t, client) })
				gotUp = readToEnd(t, server)
				wg.Wait()
				waitUp()
				waitDown()
				if !bytes.Equal(gotUp, tc.b) {
					t.Errorf("client to server: got %d bytes, want %d, or they differ", len(gotUp), len(tc.b))
				}
				if !bytes.Equal(gotDown, back) {
					t.Errorf("server to client: got %d bytes, want %d, or they differ", len(gotDown), len(back))
				}
				if p.Conns() != 1 || p.Cuts() != 0 {
					t.Errorf("Conns() = %d, Cuts() = %d; want 1, 0", p.Conns(), p.Cuts())
				}
			})
		}
	}
}

func TestBlackHole(t *testing.T) {
	pe := newPeer(t)
	p := listen(t, pe.addr(), faultproxy.Options{})
	client, server := pair(t, p, pe)
	exchange(t, client, server, "before")

	p.BlackHole(true)
	up, down := []byte("up, held"), []byte("down, held")
	if _, err := client.Write(up); err != nil {
		t.Fatal(err)
	}
	if _, err := server.Write(down); err != nil {
		t.Fatal(err)
	}
	expectSilence(t, server, 200*time.Millisecond)
	expectSilence(t, client, 10*time.Millisecond)
	if p.Live() != 1 {
		t.Fatalf("Live() = %d, want 1", p.Live())
	}
	// A new connection is relayed but black-holed too.
	client2, server2 := pair(t, p, pe)
	if _, err := client2.Write(up); err != nil {
		t.Fatal(err)
	}
	expectSilence(t, server2, 50*time.Millisecond)

	// Lifted: what was held arrives, in order, and traffic flows.
	p.BlackHole(false)
	if got := readN(t, server, len(up)); !bytes.Equal(got, up) {
		t.Fatalf("server got %q, want %q", got, up)
	}
	if got := readN(t, client, len(down)); !bytes.Equal(got, down) {
		t.Fatalf("client got %q, want %q", got, down)
	}
	if got := readN(t, server2, len(up)); !bytes.Equal(got, up) {
		t.Fatalf("second server got %q, want %q", got, up)
	}
	exchange(t, client, server, "after")

	// Cut while black-holed: every end sees the connection end.
	p.BlackHole(true)
	client.Write(up)
	if n := p.CutAll(); n != 2 {
		t.Fatalf("CutAll() = %d, want 2", n)
	}
	for _, c := range []net.Conn{client, server, client2, server2} {
		expectEnd(t, c)
	}
	if p.Cuts() != 2 || p.Live() != 0 {
		t.Errorf("Cuts() = %d, Live() = %d; want 2, 0", p.Cuts(), p.Live())
	}
}

// exchange sends msg both ways and checks it arrives.
func exchange(t *testing.T, client, server net.Conn, msg string) {
	t.Helper()
	for _, c := range [][2]net.Conn{{client, server}, {server, client}} {
		if _, err := c[0].Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, c[1], len(msg)); string(got) != msg {
			t.Fatalf("got %q, want %q", got, msg)
		}
	}
}

func TestDelay(t *testing.T) {
	pe := newPeer(t)
	p := listen(t, pe.addr(), faultproxy.Options{})
	client, server := pair(t, p, pe)
	exchange(t, client, server, "warm up")

	const d = 100 * time.Millisecond
	p.Delay(d)
	start := time.Now()
	exchange(t, client, server, "ping")
	if rtt := time.Since(start); rtt < 2*d {
		t.Errorf("round trip took %v, want at least %v", rtt, 2*d)
	}

	// A long delay gives way as soon as it is lifted.
	p.Delay(time.Hour)
	if _, err := client.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	expectSilence(t, server, 50*time.Millisecond)
	p.Delay(0)
	if got := readN(t, server, 4); string(got) != "late" {
		t.Fatalf("got %q", got)
	}
}

func TestThrottle(t *testing.T) {
	pe := newPeer(t)
	p := listen(t, pe.addr(), faultproxy.Options{})
	const rate = 200_000
	p.Throttle(rate)
	b := session().b[:100_000]
	for _, dir := range dirs {
		from, to := pairDir(t, p, pe, dir)
		start := time.Now()
		wait := send(from, b, 1<<20, 1)
		got := readToEnd(t, to)
		wait()
		elapsed := time.Since(start)
		if !bytes.Equal(got, b) {
			t.Fatalf("%v: got %d bytes, want %d", dir, len(got), len(b))
		}
		// A slice of rate/20 bytes may go at once; the rest is paced.
		if least := time.Duration(len(b)-rate/20) * time.Second / rate; elapsed < least {
			t.Errorf("%v: %d bytes at %d B/s took %v, want at least %v", dir, len(b), rate, elapsed, least)
		}
	}
}

func TestRefuse(t *testing.T) {
	pe := newPeer(t)
	p := listen(t, pe.addr(), faultproxy.Options{})
	p.Refuse(true)
	c := dial(t, p.Addr())
	c.Write([]byte{0x10, 0})
	expectEnd(t, c)
	if p.Conns() != 1 || p.Live() != 0 {
		t.Errorf("Conns() = %d, Live() = %d; want 1, 0", p.Conns(), p.Live())
	}
	select {
	case <-pe.conns:
		t.Fatal("a refused connection reached the peer")
	default:
	}

	p.Refuse(false)
	client, server := pair(t, p, pe)
	exchange(t, client, server, "back up")
	if p.Conns() != 2 {
		t.Errorf("Conns() = %d, want 2", p.Conns())
	}
}

func TestTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := ln.Addr().String()
	ln.Close()
	p := listen(t, target, faultproxy.Options{})
	c := dial(t, p.Addr())
	expectEnd(t, c)
	if p.Conns() != 1 || p.Cuts() != 0 {
		t.Errorf("Conns() = %d, Cuts() = %d; want 1, 0", p.Conns(), p.Cuts())
	}
}

func TestClose(t *testing.T) {
	leaktest.Check(t)
	pe := newPeer(t)
	p, err := faultproxy.Listen(pe.addr(), faultproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// One connection with a pump stuck writing to a peer that does not
	// read, one idle, one with a chunk behind a slow throttle, one behind a
	// long delay, all black-holed.
	stuck, _ := pair(t, p, pe)
	go stuck.Write(make([]byte, 64<<20)) // ends when the proxy closes stuck
	time.Sleep(100 * time.Millisecond)
	idle, _ := pair(t, p, pe)
	p.Throttle(1)
	slow, _ := pair(t, p, pe)
	slow.Write(make([]byte, 100))
	p.Delay(time.Hour)
	late, _ := pair(t, p, pe)
	late.Write([]byte("late"))
	time.Sleep(50 * time.Millisecond)
	p.BlackHole(true)
	if p.Live() != 4 {
		t.Fatalf("Live() = %d, want 4", p.Live())
	}

	start := time.Now()
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	for _, c := range []net.Conn{idle, slow, late, stuck} {
		expectEnd(t, c)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if p.Cuts() != 0 {
		t.Errorf("Cuts() = %d, want 0: Close is not a cut", p.Cuts())
	}
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		c.Close()
		t.Error("the proxy still accepts after Close")
	}
}
