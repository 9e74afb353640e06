//go:build !linux || !(amd64 || arm64)

package nowait

import "net"

// Conn is a connection polled by the package; there is none here.
type Conn struct{ net.Conn }

// TryRead is never called: NewListener returned nil.
func (*Conn) TryRead([]byte) (int, error) { panic("unreachable") }

// Park is never called: NewListener returned nil.
func (*Conn) Park(func(*Yield)) bool { panic("unreachable") }

// Yield is given to a parked callback; there is none here.
type Yield struct{}

// Handoff does nothing: no callback is ever parked here.
func (*Yield) Handoff() {}

// Listener accepts Conns; there is none here.
type Listener struct{ net.Listener }

// NewListener returns nil: the runtime's poller serves here (the
// package polls on Linux, amd64 and arm64).
func NewListener(net.Listener) *Listener { return nil }

// TryAccept is never called: NewListener returned nil.
func (*Listener) TryAccept() (net.Conn, error) { panic("unreachable") }

// Park is never called: NewListener returned nil.
func (*Listener) Park(func(*Yield)) bool { panic("unreachable") }
