//go:build unix

package nowait_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/nowait"
)

// pair returns both ends of a loopback TCP connection.
func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestWriteFull writes into a socket nobody reads until it is full: Write
// returns at once with what is left, never waiting; what it wrote arrives
// whole and in order once the peer reads.
func TestWriteFull(t *testing.T) {
	leaktest.Check(t)
	client, server := pair(t)
	client.(*net.TCPConn).SetWriteBuffer(4 << 10)
	w := nowait.New(client)
	if w == nil {
		t.Fatal("New returned nil for a TCP connection")
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<10) // 16 KiB
	var sent bytes.Buffer
	for range 1000 { // at most 16 MiB: a socket is full long before
		start := time.Now()
		rest, n, err := w.Write(net.Buffers{chunk, chunk[:100]})
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Write took %v: it waited", d)
		}
		sent.Write(append(append([]byte(nil), chunk...), chunk[:100]...)[:n])
		if len(rest) > 0 {
			left := 0
			for _, b := range rest {
				left += len(b)
			}
			if n+left != len(chunk)+100 {
				t.Fatalf("wrote %d, %d left, of %d", n, left, len(chunk)+100)
			}
			break
		}
	}
	if sent.Len() == 0 {
		t.Fatal("nothing written")
	}
	client.Close()
	got, err := io.ReadAll(server)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, sent.Bytes()) {
		t.Fatalf("read %d bytes, not the %d written", len(got), sent.Len())
	}
}

// TestWriteClosed reports the error of a write to a closed connection.
func TestWriteClosed(t *testing.T) {
	client, _ := pair(t)
	w := nowait.New(client)
	client.Close()
	if _, _, err := w.Write(net.Buffers{[]byte("x")}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// TestNewOthers: connections without a descriptor get no Writer and no
// Reader.
func TestNewOthers(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if w := nowait.New(a); w != nil {
		t.Fatal("New returned a Writer for net.Pipe")
	}
	if r := nowait.NewReader(a); r != nil {
		t.Fatal("NewReader returned a Reader for net.Pipe")
	}
}

// TestWriteAllocs: a write allocates nothing.
func TestWriteAllocs(t *testing.T) {
	client, server := pair(t)
	go io.Copy(io.Discard, server)
	w := nowait.New(client)
	var vec [1][]byte
	msg := []byte("hello")
	if n := testing.AllocsPerRun(100, func() {
		vec[0] = msg
		w.Write(vec[:])
	}); n != 0 {
		t.Fatalf("%v allocations per Write, want 0", n)
	}
}
