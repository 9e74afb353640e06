package faultproxy_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/faultproxy"
	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

func TestMain(m *testing.M) { os.Exit(leaktest.Run(m)) }

// timeout bounds every wait of the tests.
const timeout = 5 * time.Second

// peer is a stand-in broker on loopback: the test takes the connections
// it accepts and plays the broker's part itself.
type peer struct {
	ln    net.Listener
	conns chan net.Conn
	done  chan struct{}
}

func newPeer(t *testing.T) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pe := &peer{ln: ln, conns: make(chan net.Conn, 64), done: make(chan struct{})}
	go func() {
		defer close(pe.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			pe.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-pe.done
		close(pe.conns)
		for c := range pe.conns {
			c.Close()
		}
	})
	return pe
}

func (pe *peer) addr() string { return pe.ln.Addr().String() }

// accept returns the next connection the peer accepted.
func (pe *peer) accept(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-pe.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(timeout):
		t.Fatal("the proxy did not connect to the peer")
		return nil
	}
}

func listen(t *testing.T, target string, opts faultproxy.Options) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Listen(target, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// pair dials p, which relays to pe, and returns the client's end and the
// peer's end of the connection.
func pair(t *testing.T, p *faultproxy.Proxy, pe *peer) (client, server net.Conn) {
	t.Helper()
	client = dial(t, p.Addr())
	return client, pe.accept(t)
}

// pairDir is pair, returning the sending and the receiving end of dir.
func pairDir(t *testing.T, p *faultproxy.Proxy, pe *peer, dir faultproxy.Direction) (from, to net.Conn) {
	t.Helper()
	client, server := pair(t, p, pe)
	if dir == faultproxy.ClientToServer {
		return client, server
	}
	return server, client
}

// readToEnd reads from c until EOF or a reset, and fails the test if that
// takes longer than timeout.
func readToEnd(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	var buf bytes.Buffer
	_, err := io.Copy(&buf, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("no EOF after %v; read %d bytes", timeout, buf.Len())
	}
	return buf.Bytes()
}

// readN reads n bytes from c.
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// expectEnd fails the test unless c reaches EOF or a reset within timeout.
func expectEnd(t *testing.T, c net.Conn) {
	t.Helper()
	readToEnd(t, c)
}

// expectSilence fails the test if c receives anything within d.
func expectSilence(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	n, err := c.Read(b[:])
	if n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("want silence, got %d bytes, %v", n, err)
	}
}

// writeChunked writes b to c in pieces of random sizes up to most (1 for
// byte by byte), ignoring errors: the proxy may cut before the end.
func writeChunked(c net.Conn, b []byte, most int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0))
	for len(b) > 0 {
		n := min(len(b), 1+r.IntN(most))
		if _, err := c.Write(b[:n]); err != nil {
			return
		}
		b = b[n:]
	}
}

// send writes b on c from a goroutine, as writeChunked does, then
// half-closes c; the returned func waits for it.
func send(c net.Conn, b []byte, most int, seed uint64) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		writeChunked(c, b, most, seed)
		c.(*net.TCPConn).CloseWrite()
	})
	return wg.Wait
}

// frame returns a packet of type t, flags flags and a body of n bytes
// (a pattern, not a valid body: the proxy only frames).
func frame(t packet.Type, flags byte, n int) []byte {
	b := []byte{byte(t)<<4 | flags}
	for x := n; ; {
		c := byte(x & 0x7f)
		x >>= 7
		if x > 0 {
			b = append(b, c|0x80)
			continue
		}
		b = append(b, c)
		break
	}
	for i := range n {
		b = append(b, byte(i*7+n))
	}
	return b
}

// stream is a sequence of packets and the offset where each ends.
type stream struct {
	b    []byte
	ends []int
	typs []packet.Type
}

func (s *stream) add(t packet.Type, flags byte, n int) *stream {
	s.b = append(s.b, frame(t, flags, n)...)
	s.ends = append(s.ends, len(s.b))
	s.typs = append(s.typs, t)
	return s
}

// endOf returns the offset where the k-th (from 1) packet of type t ends.
func (s *stream) endOf(t packet.Type, k int) int {
	for i, typ := range s.typs {
		if typ == t {
			k--
			if k == 0 {
				return s.ends[i]
			}
		}
	}
	panic("no such packet")
}

// startOf returns the offset where the k-th packet of type t starts.
func (s *stream) startOf(t packet.Type, k int) int {
	end := s.endOf(t, k)
	for i, e := range s.ends {
		if e == end {
			if i == 0 {
				return 0
			}
			return s.ends[i-1]
		}
	}
	panic("unreachable")
}

// session is a plausible MQTT exchange in one direction: a few of every
// size of Remaining Length, and PUBLISH packets large enough to span many
// reads.
func session() *stream {
	s := new(stream)
	s.add(packet.TypeConnect, 0, 22).
		add(packet.TypePublish, 2, 30).
		add(packet.TypePuback, 0, 2).
		add(packet.TypePublish, 0, 5000).
		add(packet.TypePingreq, 0, 0).
		add(packet.TypeSubscribe, 2, 41).
		add(packet.TypePublish, 4, 127).
		add(packet.TypePublish, 2, 128).
		add(packet.TypePubrel, 2, 2).
		add(packet.TypePublish, 0, 70_000).
		add(packet.TypePublish, 2, 16_384).
		add(packet.TypeDisconnect, 0, 0)
	return s
}
