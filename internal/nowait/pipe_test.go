//go:build linux

package nowait_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/nowait"
)

// osPipe is os.Pipe, closed at the end of the test.
func osPipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// TestPipeWriter: 1 MiB, 16 pipes' worth, written in pieces to a reader
// that pauses, arrives whole and in order; each Write waits while the
// pipe is full and returns only when all of its bytes are written.
func TestPipeWriter(t *testing.T) {
	leaktest.Check(t)
	r, w := osPipe(t)
	pw := nowait.NewPipeWriter(w)
	if pw == nil {
		t.Fatal("NewPipeWriter returned nil for a pipe")
	}
	want := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	got := make(chan []byte)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 7000)
		for i := 0; ; i++ {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
			if i%40 == 0 {
				time.Sleep(2 * time.Millisecond)
			}
		}
		got <- b.Bytes()
	}()
	for i := 0; i < len(want); i += 100000 {
		piece := want[i:min(i+100000, len(want))]
		if n, err := pw.Write(piece); n != len(piece) || err != nil {
			t.Fatalf("Write of %d bytes = %d, %v", len(piece), n, err)
		}
	}
	pw.Close()
	w.Close() // the reader sees the end once both descriptions are closed
	if b := <-got; !bytes.Equal(b, want) {
		t.Errorf("read %d bytes, not the %d written in order", len(b), len(want))
	}
}

// TestPipeFlagsKept: the pipe's own description keeps its mode, blocking
// (as a shell gives standard output) or not (as os.Pipe makes it): the
// reader and the writer have descriptions of their own, and never make the
// shared one blocking, as (*os.File).Fd would.
func TestPipeFlagsKept(t *testing.T) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	br, bw := os.NewFile(uintptr(p[0]), "r"), os.NewFile(uintptr(p[1]), "w")
	defer br.Close()
	defer bw.Close()
	nr, nw := osPipe(t)
	for _, f := range []*os.File{br, bw, nr, nw} {
		before := flags(t, f)
		var closer io.Closer
		if f == br || f == nr {
			closer = nowait.NewPipeReader(f)
		} else {
			closer = nowait.NewPipeWriter(f)
		}
		if after := flags(t, f); after != before {
			t.Errorf("%s: flags %#x after, %#x before", f.Name(), after, before)
		}
		closer.Close()
	}
}

// flags returns the status flags of f's description, read without Fd.
func flags(t *testing.T, f *os.File) int {
	t.Helper()
	sc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fl uintptr
	var errno syscall.Errno
	sc.Control(func(fd uintptr) {
		fl, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	})
	if errno != 0 {
		t.Fatal(errno)
	}
	return int(fl)
}

// TestPipeWriterBroken: once the pipe has no reader, Write fails with
// EPIPE, and the process lives on (SIGPIPE is the runtime's to ignore
// for a descriptor other than 1 and 2).
func TestPipeWriterBroken(t *testing.T) {
	r, w := osPipe(t)
	pw := nowait.NewPipeWriter(w)
	defer pw.Close()
	r.Close()
	if _, err := pw.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Errorf("Write to a pipe without a reader: %v; want EPIPE", err)
	}
}

// TestPipeReader: what is written in pieces, with pauses that make the
// reader wait in the poller, arrives whole, then io.EOF once the writer
// closes.
func TestPipeReader(t *testing.T) {
	leaktest.Check(t)
	r, w := osPipe(t)
	pr := nowait.NewPipeReader(r)
	if pr == nil {
		t.Fatal("NewPipeReader returned nil for a pipe")
	}
	defer pr.Close()
	want := bytes.Repeat([]byte("line of text\n"), 20000)
	go func() {
		for i := 0; i < len(want); i += 9000 {
			w.Write(want[i:min(i+9000, len(want))])
			if i%90000 == 0 {
				time.Sleep(3 * time.Millisecond)
			}
		}
		w.Close()
	}()
	got, err := io.ReadAll(pr)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("ReadAll = %d bytes, %v; want the %d written, nil", len(got), err, len(want))
	}
}

// TestPipeOthers: a regular file, a character device (/dev/null) and a
// nil file are not pipes: both constructors return nil, so that the
// caller uses the file as it is.
func TestPipeOthers(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, f := range []*os.File{f, null, nil} {
		if w := nowait.NewPipeWriter(f); w != nil {
			t.Errorf("NewPipeWriter(%v) not nil", f)
		}
		if r := nowait.NewPipeReader(f); r != nil {
			t.Errorf("NewPipeReader(%v) not nil", f)
		}
	}
}

// TestPipeAllocs: a write and a read of a pipe allocate nothing.
func TestPipeAllocs(t *testing.T) {
	r, w := osPipe(t)
	pw, pr := nowait.NewPipeWriter(w), nowait.NewPipeReader(r)
	defer pw.Close()
	defer pr.Close()
	msg, buf := []byte("hello\n"), make([]byte, 64)
	if n := testing.AllocsPerRun(200, func() {
		pw.Write(msg)
		pr.Read(buf)
	}); n != 0 {
		t.Errorf("%v allocations per write and read; want 0", n)
	}
}
