//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// readPassword prints prompt to w and reads one line from f, a terminal,
// with echo turned off, as the standard library alone allows on Linux (the
// TCGETS and TCSETS ioctls). It restores the terminal's settings before it
// returns; if ctx ends (a signal) while it waits for the line, it restores
// them and exits with code 130, since nothing can interrupt the read.
func readPassword(ctx context.Context, f *os.File, w io.Writer, prompt string) ([]byte, error) {
	fd := f.Fd()
	var saved syscall.Termios
	if err := termios(fd, syscall.TCGETS, &saved); err != nil {
		return nil, errors.New("standard input is not a terminal")
	}
	quiet := saved
	quiet.Lflag &^= syscall.ECHO
	quiet.Lflag |= syscall.ICANON | syscall.ISIG
	quiet.Iflag |= syscall.ICRNL
	if err := termios(fd, syscall.TCSETS, &quiet); err != nil {
		return nil, fmt.Errorf("turning echo off: %w", err)
	}
	restore := sync.OnceFunc(func() {
		termios(fd, syscall.TCSETS, &saved)
		fmt.Fprintln(w) // the newline that was not echoed
	})
	defer restore()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			restore()
			os.Exit(exitInterrupted)
		case <-done:
		}
	}()

	fmt.Fprint(w, prompt)
	var line []byte
	var b [1]byte
	for {
		n, err := f.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				break
			}
			line = append(line, b[0])
		}
		if err == io.EOF && len(line) > 0 {
			break
		}
		if err == io.EOF {
			return nil, errors.New("no password typed")
		}
		if err != nil {
			clear(line)
			return nil, err
		}
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, nil
}

// termios gets or sets the terminal settings of fd.
func termios(fd uintptr, req uintptr, t *syscall.Termios) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(t))); errno != 0 {
		return errno
	}
	return nil
}
