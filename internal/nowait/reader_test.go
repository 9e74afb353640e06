//go:build unix

package nowait_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/nowait"
)

// TestReadStream: what the peer writes in pieces, with pauses that make
// the reader wait in the poller, arrives whole and in order; then io.EOF
// once the peer closes.
func TestReadStream(t *testing.T) {
	leaktest.Check(t)
	client, server := pair(t)
	r := nowait.NewReader(server)
	if r == nil {
		t.Fatal("NewReader returned nil for a TCP connection")
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 4<<10) // 64 KiB
	go func() {
		for i := 0; i < len(want); i += 5000 {
			client.Write(want[i:min(i+5000, len(want))])
			if i%20000 == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		client.Close()
	}()
	var got bytes.Buffer
	buf := make([]byte, 3000)
	for {
		n, err := r.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("Read returned 0 bytes and no error")
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, not the %d written", got.Len(), len(want))
	}
}

// TestReadErrors: a read past the deadline is a timeout (net.Error), a
// read on a closed connection net.ErrClosed, a close from another
// goroutine ends a waiting read, a reset ECONNRESET, and an empty buffer
// reads nothing at once.
func TestReadErrors(t *testing.T) {
	client, server := pair(t)
	r := nowait.NewReader(server)
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v; want 0, nil", n, err)
	}

	server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := r.Read(make([]byte, 10))
	if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %v, want a timeout", err)
	}
	server.SetReadDeadline(time.Time{})

	go func() {
		time.Sleep(20 * time.Millisecond)
		server.Close()
	}()
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read while closed = %v, want net.ErrClosed", err)
	}
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close = %v, want net.ErrClosed", err)
	}

	// A reset: the peer closes with unread data and SO_LINGER 0.
	client2, server2 := pair(t)
	r2 := nowait.NewReader(client2)
	server2.(*net.TCPConn).SetLinger(0)
	server2.Close()
	time.Sleep(20 * time.Millisecond)
	if _, err := r2.Read(make([]byte, 10)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("Read after a reset = %v, want ECONNRESET", err)
	}
	client.Close()
}

// TestReadAllocs: a read allocates nothing.
func TestReadAllocs(t *testing.T) {
	client, server := pair(t)
	r := nowait.NewReader(server)
	buf := make([]byte, 5)
	msg := []byte("hello")
	if n := testing.AllocsPerRun(100, func() {
		client.Write(msg)
		io.ReadFull(r, buf)
	}); n != 0 {
		t.Fatalf("%v allocations per Read, want 0", n)
	}
}

// TestUnixKinds: a Unix stream connection, either end, gets a Reader and a
// Writer; a Unix datagram socket, whose empty reads are empty datagrams,
// not the end, gets neither.
func TestUnixKinds(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("unix", dir+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("unix", dir+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	for name, c := range map[string]net.Conn{"client": client, "server": server} {
		if nowait.NewReader(c) == nil || nowait.New(c) == nil {
			t.Errorf("the %s end of a Unix stream connection got no Reader or no Writer", name)
		}
	}
	if _, err := client.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(nowait.NewReader(server), buf); err != nil || string(buf) != "ok" {
		t.Fatalf("read %q, %v over a Unix stream", buf, err)
	}

	g, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dir + "/g", Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if nowait.NewReader(g) != nil || nowait.New(g) != nil {
		t.Error("a Unix datagram socket got a Reader or a Writer")
	}
}
