package main

import (
	"io"
	"os"

	"github.com/petrel-mqtt/petrel/internal/nowait"
)

// stdin returns what reads standard input: when it is a pipe (`… | petrel
// pub -l`), a description of its own that waits in the runtime's poller
// (see nowait.NewPipeReader); else os.Stdin. A blocking read(2) would wake
// the runtime's sleeping sysmon thread at every burst of lines.
func stdin() io.Reader {
	if r := nowait.NewPipeReader(os.Stdin); r != nil {
		return r
	}
	return os.Stdin
}

// stdout returns what writes standard output: when it is a pipe
// (`petrel sub … | …`), a description of its own that waits in the
// runtime's poller while the pipe is full (see nowait.NewPipeWriter), so
// that neither a burst of messages wakes sysmon nor a slow reader blocks a
// thread; else os.Stdout.
func stdout() io.Writer {
	if w := nowait.NewPipeWriter(os.Stdout); w != nil {
		return &pipeOut{w}
	}
	return os.Stdout
}

// pipeOut writes to standard output's pipe. What its writer fails to write
// (the reader has gone: EPIPE) is written again to os.Stdout, which fails
// the same way but as a program's standard output does: SIGPIPE ends the
// program, as it ends mosquitto_sub, in `petrel sub … | head -1`.
type pipeOut struct{ w *nowait.PipeWriter }

func (o *pipeOut) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil {
		m, err := os.Stdout.Write(p[n:])
		return n + m, err
	}
	return n, nil
}
