//go:build !linux

package nowait

import "os"

// NewPipeReader returns nil: pipes are read as they are here.
func NewPipeReader(*os.File) *Reader { return nil }

// PipeWriter writes to a pipe without blocking a thread; there is none
// here.
type PipeWriter struct{}

// NewPipeWriter returns nil: pipes are written as they are here.
func NewPipeWriter(*os.File) *PipeWriter { return nil }

// Write is never called: NewPipeWriter returns nil.
func (*PipeWriter) Write([]byte) (int, error) { panic("unreachable") }

// Close is never called: NewPipeWriter returns nil.
func (*PipeWriter) Close() error { panic("unreachable") }
