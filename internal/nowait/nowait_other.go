//go:build !unix

package nowait

import "net"

// Writer writes to one connection without waiting; there is none here.
type Writer struct{}

// New returns nil: there is no write that never waits here.
func New(net.Conn) *Writer { return nil }

// Write is never called: New returned nil.
func (*Writer) Write(net.Buffers) (net.Buffers, int, error) { panic("unreachable") }
