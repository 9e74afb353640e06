//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal: the master, where the test types, and
// the slave, which readPassword reads as its terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	var unlock int32
	var n uint32
	if err := ioctl(master.Fd(), syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Skipf("unlocking the pseudo-terminal: %v", err)
	}
	if err := ioctl(master.Fd(), syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Skipf("naming the pseudo-terminal: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

func ioctl(fd, req uintptr, arg unsafe.Pointer) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(arg)); errno != 0 {
		return errno
	}
	return nil
}

// echoOn reports whether the terminal echoes input.
func echoOn(t *testing.T, f *os.File) bool {
	t.Helper()
	var tt syscall.Termios
	if err := termios(f.Fd(), syscall.TCGETS, &tt); err != nil {
		t.Fatal(err)
	}
	return tt.Lflag&syscall.ECHO != 0
}

// TestReadPassword types a password on a pseudo-terminal: it is read, not
// echoed, and the terminal echoes again afterwards.
func TestReadPassword(t *testing.T) {
	master, slave := openPTY(t)
	if !echoOn(t, slave) {
		t.Fatal("a new terminal does not echo")
	}
	var prompt bytes.Buffer
	type result struct {
		password []byte
		err      error
	}
	done := make(chan result, 1)
	go func() {
		p, err := readPassword(context.Background(), slave, &prompt, "Password: ")
		done <- result{p, err}
	}()
	for deadline := time.Now().Add(5 * time.Second); echoOn(t, slave); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("readPassword did not turn echo off")
		}
	}
	if _, err := master.Write([]byte("s3cret\n")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || string(r.password) != "s3cret" {
		t.Fatalf("readPassword = %q, %v; want s3cret", r.password, r.err)
	}
	if got := prompt.String(); got != "Password: \n" {
		t.Errorf("wrote %q to stderr, want the prompt and a newline", got)
	}
	if !echoOn(t, slave) {
		t.Error("echo is still off after readPassword")
	}

	// What the terminal shows: the line typed after, echoed, and not the
	// password.
	if _, err := master.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	var shown []byte
	buf := make([]byte, 256)
	master.SetReadDeadline(time.Now().Add(5 * time.Second))
	for !bytes.Contains(shown, []byte("after")) {
		n, err := master.Read(buf)
		shown = append(shown, buf[:n]...)
		if err != nil {
			t.Fatalf("reading the terminal: %v (read %q)", err, shown)
		}
	}
	if strings.Contains(string(shown), "s3cret") {
		t.Errorf("the terminal echoed the password: %q", shown)
	}
}

func TestReadPasswordNotTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull) // a character device, not a terminal
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := readPassword(context.Background(), f, new(bytes.Buffer), "Password: "); err == nil ||
		!strings.Contains(err.Error(), "not a terminal") {
		t.Errorf("readPassword(/dev/null): %v, want an error saying it is not a terminal", err)
	}
}
