//go:build !unix

package nowait

import "net"

// Writer writes to one connection without waiting; there is none here.
type Writer struct{}

// New returns nil: there is no write that never waits here.
func New(net.Conn) *Writer { return nil }

// Write is never called: New returned nil.
func (*Writer) Write(net.Buffers) (net.Buffers, int, error) { panic("unreachable") }

// Reader reads from one connection; there is none here.
type Reader struct{}

// NewReader returns nil: the connection's own Read serves here.
func NewReader(net.Conn) *Reader { return nil }

// Read is never called: NewReader returned nil.
func (*Reader) Read([]byte) (int, error) { panic("unreachable") }

// Close is never called: NewReader returned nil.
func (*Reader) Close() error { panic("unreachable") }
