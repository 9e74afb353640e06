//go:build linux && (amd64 || arm64)

package nowait_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/nowait"
)

// listen returns a Listener on a free loopback port, closed when the test
// ends.
func listen(t *testing.T) *nowait.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pl := nowait.NewListener(l)
	if pl == nil {
		t.Fatal("NewListener returned nil for a TCP listener")
	}
	t.Cleanup(func() { pl.Close() })
	return pl
}

// accepted dials pl and returns the client's end and the Conn accepted.
func accepted(t *testing.T, pl *nowait.Listener) (net.Conn, *nowait.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", pl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	nc, err := pl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*nowait.Conn)
	t.Cleanup(func() { c.Close() })
	return client, c
}

// TestConnStream: 1 MiB each way, written in pieces with pauses that make
// both ends wait, arrives whole and in order; the addresses are the
// client's, crossed; io.EOF once the client closes.
func TestConnStream(t *testing.T) {
	leaktest.Check(t)
	pl := listen(t)
	client, c := accepted(t, pl)
	if c.RemoteAddr().String() != client.LocalAddr().String() || c.LocalAddr().String() != client.RemoteAddr().String() {
		t.Fatalf("addresses %v <- %v, want %v <- %v", c.LocalAddr(), c.RemoteAddr(), client.RemoteAddr(), client.LocalAddr())
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	var wg sync.WaitGroup
	wg.Go(func() { // the Conn writes it all while the client reads slowly at first
		if n, err := c.Write(want); n != len(want) || err != nil {
			t.Errorf("Write = %d, %v", n, err)
		}
	})
	time.Sleep(50 * time.Millisecond)
	got, err := io.ReadAll(io.LimitReader(client, int64(len(want))))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("client read %d bytes (%v), not the %d written", len(got), err, len(want))
	}
	wg.Wait()
	wg.Go(func() {
		for i := 0; i < len(want); i += 50000 {
			client.Write(want[i:min(i+50000, len(want))])
			if i%200000 == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		client.Close()
	})
	got, err = io.ReadAll(c)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Conn read %d bytes (%v), not the %d written", len(got), err, len(want))
	}
	wg.Wait()
}

// TestConnPark: with nothing to read, TryRead says ErrWouldBlock; the
// parked function is called once the client writes, and once for bytes
// that came between TryRead and Park; then TryRead reads them.
func TestConnPark(t *testing.T) {
	leaktest.Check(t)
	pl := listen(t)
	client, c := accepted(t, pl)
	buf := make([]byte, 64)
	if n, err := c.TryRead(buf); n != 0 || err != nowait.ErrWouldBlock {
		t.Fatalf("TryRead on a quiet connection = %d, %v; want ErrWouldBlock", n, err)
	}
	called := make(chan struct{}, 2)
	if !c.Park(func(*nowait.Yield) { called <- struct{}{} }) {
		t.Fatal("Park on an open connection reported false")
	}
	select {
	case <-called:
		t.Fatal("the parked function was called before anything came")
	case <-time.After(50 * time.Millisecond):
	}
	client.Write([]byte("hello"))
	<-called
	if n, err := c.TryRead(buf); string(buf[:n]) != "hello" || err != nil {
		t.Fatalf("TryRead after the wake-up = %q, %v", buf[:n], err)
	}
	// Bytes that come between TryRead and Park.
	if _, err := c.TryRead(buf); err != nowait.ErrWouldBlock {
		t.Fatalf("TryRead = %v, want ErrWouldBlock", err)
	}
	client.Write([]byte("again"))
	time.Sleep(20 * time.Millisecond)
	if !c.Park(func(*nowait.Yield) { called <- struct{}{} }) {
		t.Fatal("Park reported false")
	}
	<-called
	if n, err := c.TryRead(buf); string(buf[:n]) != "again" || err != nil {
		t.Fatalf("TryRead = %q, %v", buf[:n], err)
	}
	select {
	case <-called:
		t.Fatal("the parked function was called twice")
	case <-time.After(20 * time.Millisecond):
	}
}

// TestConnParkEnds: a parked function is called when the read deadline
// passes (TryRead then times out) and when the connection is closed
// (TryRead then says net.ErrClosed); Park after either reports false.
func TestConnParkEnds(t *testing.T) {
	leaktest.Check(t)
	pl := listen(t)
	_, c := accepted(t, pl)
	buf := make([]byte, 8)
	called := make(chan struct{}, 1)
	park := func() {
		t.Helper()
		if _, err := c.TryRead(buf); err != nowait.ErrWouldBlock {
			t.Fatalf("TryRead = %v, want ErrWouldBlock", err)
		}
		if !c.Park(func(*nowait.Yield) { called <- struct{}{} }) {
			t.Fatal("Park reported false")
		}
	}
	park()
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	<-called
	var ne net.Error
	if _, err := c.TryRead(buf); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("TryRead past the deadline = %v, want a timeout", err)
	}
	if c.Park(func(*nowait.Yield) { called <- struct{}{} }) {
		t.Fatal("Park past the deadline reported true")
	}
	c.SetReadDeadline(time.Time{})
	park()
	c.Close()
	<-called
	if _, err := c.TryRead(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("TryRead after Close = %v, want net.ErrClosed", err)
	}
	if c.Park(func(*nowait.Yield) { called <- struct{}{} }) {
		t.Fatal("Park after Close reported true")
	}
}

// TestConnWaits: a Read and a Write that wait end with a timeout at their
// deadlines, and with net.ErrClosed when another goroutine closes the
// connection; the socket is full for the Write (the client reads
// nothing).
func TestConnWaits(t *testing.T) {
	leaktest.Check(t)
	pl := listen(t)
	_, c := accepted(t, pl)
	var ne net.Error
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if _, err := c.Read(make([]byte, 8)); !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %v, want a timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	big := make([]byte, 64<<20)
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := c.Write(big); !errors.As(err, &ne) || !ne.Timeout() || n == 0 || n == len(big) {
		t.Fatalf("Write to a full socket = %d, %v; want part of it and a timeout", n, err)
	}
	c.SetWriteDeadline(time.Time{})
	errs := make(chan error, 2)
	go func() { _, err := c.Read(make([]byte, 8)); errs <- err }()
	go func() { _, err := c.Write(big); errs <- err }()
	time.Sleep(30 * time.Millisecond)
	c.Close()
	for range 2 {
		if err := <-errs; !errors.Is(err, net.ErrClosed) {
			t.Fatalf("a waiting call after Close = %v, want net.ErrClosed", err)
		}
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close = %v, want net.ErrClosed", err)
	}
}

// TestListenerClose: Close ends a waiting Accept with an error and frees
// the port; once nothing is open, the poller has ended.
func TestListenerClose(t *testing.T) {
	leaktest.Check(t)
	defer checkPollerEnds(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	pl := nowait.NewListener(l)
	errs := make(chan error, 1)
	go func() { _, err := pl.Accept(); errs <- err }()
	time.Sleep(30 * time.Millisecond)
	if err := pl.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
	}
	if pl.Close() == nil {
		t.Fatal("second Close reported no error")
	}
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port is still held after Close: %v", err)
	}
	l2.Close()
	if nowait.NewListener(&net.UnixListener{}) != nil {
		t.Fatal("NewListener took a listener other than TCP")
	}
}

// TestConnMany: 200 clients echo through Conns served by goroutines that
// park between messages, closing and reconnecting, so that descriptors
// are reused while the poller runs: every echo comes back whole, and no
// goroutine is left (the parked and waiting ones have all ended).
func TestConnMany(t *testing.T) {
	leaktest.Check(t)
	t.Cleanup(func() { checkPollerEnds(t) })
	pl := listen(t)
	go func() {
		for {
			nc, err := pl.Accept()
			if err != nil {
				return
			}
			echoParked(nc.(*nowait.Conn), nil)
		}
	}()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			for round := range 5 {
				client, err := net.Dial("tcp", pl.Addr().String())
				if err != nil {
					t.Error(err)
					return
				}
				for j := range 3 {
					msg := strings.Repeat("x", 1+(i*7+j+round)%200)
					client.Write([]byte(msg))
					got := make([]byte, len(msg))
					client.SetReadDeadline(time.Now().Add(10 * time.Second))
					if _, err := io.ReadFull(client, got); err != nil || string(got) != msg {
						t.Errorf("client %d: echo %q, %v", i, got, err)
					}
				}
				client.Close()
			}
		})
	}
	wg.Wait()
}

// checkPollerEnds fails t unless the poller and its goroutine end soon:
// nothing is open.
func checkPollerEnds(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for nowait.Polling() || strings.Contains(stacks(), "nowait.(*poller).run(") {
		if time.Now().After(deadline) {
			t.Fatalf("the poller still runs with nothing open:\n%s", stacks())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// echoParked echoes what c reads, parking while it has nothing, until
// the client closes. Woken by the poller (y not nil), it echoes on the
// poller's goroutine, but hands off before every third write.
func echoParked(c *nowait.Conn, y *nowait.Yield) {
	buf := make([]byte, 256)
	for i := 0; ; i++ {
		n, err := c.TryRead(buf)
		switch {
		case err == nowait.ErrWouldBlock:
			if c.Park(func(y *nowait.Yield) {
				if y == nil {
					go echoParked(c, nil)
					return
				}
				echoParked(c, y)
			}) {
				return
			}
		case err != nil:
			c.Close()
			return
		default:
			if i%3 == 2 {
				y.Handoff()
			}
			c.Write(buf[:n])
		}
	}
}

// TestConnHandoff: a callback that the poller's goroutine calls gets a
// Yield; while one callback, handed off, waits, the poller goes on waking
// another Conn. Park with bytes there already (no TryRead before it)
// wakes at once.
func TestConnHandoff(t *testing.T) {
	leaktest.Check(t)
	pl := listen(t)
	client1, c1 := accepted(t, pl)
	client2, c2 := accepted(t, pl)
	release := make(chan struct{})
	woke2 := make(chan *nowait.Yield, 1)
	var gotYield bool
	if !c1.Park(func(y *nowait.Yield) {
		gotYield = y != nil
		y.Handoff()
		<-release // waits, as it may once handed off
	}) {
		t.Fatal("Park reported false")
	}
	if !c2.Park(func(y *nowait.Yield) { woke2 <- y }) {
		t.Fatal("Park reported false")
	}
	client1.Write([]byte("1"))
	time.Sleep(20 * time.Millisecond)
	client2.Write([]byte("2"))
	select {
	case y := <-woke2:
		if y == nil {
			t.Error("the poller called the callback without a Yield")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second Conn was not woken while the first callback waited, handed off")
	}
	close(release)
	if !gotYield {
		t.Error("the first callback got no Yield")
	}
	// Bytes there already: Park wakes at once.
	called := make(chan struct{}, 1)
	if !c2.Park(func(*nowait.Yield) { called <- struct{}{} }) {
		t.Fatal("Park reported false")
	}
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("Park with a byte unread did not wake")
	}
	buf := make([]byte, 4)
	if n, err := c2.TryRead(buf); string(buf[:n]) != "2" || err != nil {
		t.Fatalf("TryRead = %q, %v", buf[:n], err)
	}
}

// TestConnHandoffBatch: when a callback hands off, the callbacks of the
// same batch of events are called at once by the next poller goroutine,
// not after it: the one that handed off may wait for what they do.
func TestConnHandoffBatch(t *testing.T) {
	leaktest.Check(t)
	pl := listen(t)
	client0, c0 := accepted(t, pl)
	client1, c1 := accepted(t, pl)
	client2, c2 := accepted(t, pl)
	second := make(chan struct{})
	waited := make(chan bool, 1)
	// c0's callback keeps the poller busy while c1 and c2 become
	// readable, so that one batch wakes both.
	c0.Park(func(*nowait.Yield) { time.Sleep(50 * time.Millisecond) })
	c1.Park(func(y *nowait.Yield) {
		y.Handoff()
		select {
		case <-second:
			waited <- true
		case <-time.After(5 * time.Second):
			waited <- false
		}
	})
	c2.Park(func(*nowait.Yield) { close(second) })
	client0.Write([]byte("0"))
	time.Sleep(10 * time.Millisecond)
	client1.Write([]byte("1")) // c1 first in the batch
	client2.Write([]byte("2"))
	if !<-waited {
		t.Fatal("the callback that handed off waited for one of its batch in vain")
	}
}

// TestListenerPark: TryAccept never waits; a parked callback is called on
// the poller's goroutine, with a Yield, once a connection is pending, and
// with nil by Close; a closed listener does not park.
func TestListenerPark(t *testing.T) {
	leaktest.Check(t)
	defer checkPollerEnds(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pl := nowait.NewListener(l)
	if _, err := pl.TryAccept(); err != nowait.ErrWouldBlock {
		t.Fatalf("TryAccept with nothing pending = %v, want ErrWouldBlock", err)
	}
	woke := make(chan *nowait.Yield, 1)
	park := func() {
		t.Helper()
		if !pl.Park(func(y *nowait.Yield) { woke <- y }) {
			t.Fatal("Park reported false on an open listener")
		}
	}
	park()
	select {
	case <-woke:
		t.Fatal("the callback was called with nothing pending")
	case <-time.After(50 * time.Millisecond):
	}
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	select {
	case y := <-woke:
		if y == nil {
			t.Fatal("a pending connection woke the callback without a Yield")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a pending connection did not wake the parked callback")
	}
	nc, err := pl.TryAccept()
	if err != nil {
		t.Fatalf("TryAccept with a connection pending: %v", err)
	}
	nc.Close()
	park()
	pl.Close()
	select {
	case y := <-woke:
		if y != nil {
			t.Fatal("Close called the callback with a Yield")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not call the parked callback")
	}
	if pl.Park(func(*nowait.Yield) {}) {
		t.Fatal("Park on a closed listener reported true")
	}
	if _, err := pl.TryAccept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("TryAccept after Close = %v, want net.ErrClosed", err)
	}
}

// TestConnHandoffMany: callbacks that hand off and then wait, as a reader
// does for the rest of a half-sent packet, hold nothing of the poller's:
// with 100 of them waiting at once the poller still serves another
// connection, and the process holds no descriptor more per callback.
func TestConnHandoffMany(t *testing.T) {
	leaktest.Check(t)
	pl := listen(t)
	other, oc := accepted(t, pl)
	const n = 100
	clients := make([]net.Conn, n)
	conns := make([]*nowait.Conn, n)
	for i := range n {
		clients[i], conns[i] = accepted(t, pl)
	}
	before := openFiles(t)
	release := make(chan struct{})
	var waiting sync.WaitGroup
	waiting.Add(n)
	for i, c := range conns {
		if !c.Park(func(y *nowait.Yield) {
			y.Handoff()
			waiting.Done()
			<-release
		}) {
			t.Fatal("Park reported false")
		}
		clients[i].Write([]byte("x"))
	}
	done := make(chan struct{})
	go func() { waiting.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("not every callback was called")
	}
	woke := make(chan *nowait.Yield, 1)
	if !oc.Park(func(y *nowait.Yield) { woke <- y }) {
		t.Fatal("Park reported false")
	}
	other.Write([]byte("y"))
	select {
	case y := <-woke:
		if y == nil {
			t.Error("the poller called the callback without a Yield")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("with 100 callbacks handed off and waiting, another Conn was not woken")
	}
	if grew := openFiles(t) - before; grew > 5 {
		t.Errorf("%d descriptors more with %d callbacks handed off and waiting, want none per callback", grew, n)
	}
	close(release)
}

// openFiles counts the process's open descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}
