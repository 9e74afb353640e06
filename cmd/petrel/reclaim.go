package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
)

// reclaimInterval is how often petrel broker looks whether connections
// have left in numbers.
const reclaimInterval = time.Second

// reclaimMemory gives memory back to the operating system after a burst:
// when the connections open have fallen to half of their peak since it
// last did, or by a thousand, it runs the garbage collector and returns
// the freed memory at once (debug.FreeOSMemory), rather than leaving it to
// the runtime, which would return it over minutes. It runs until ctx
// ends. An embedding program decides this for itself; petrel broker is a
// process of its own.
func reclaimMemory(ctx context.Context, srv *broker.Server, log *slog.Logger) {
	t := time.NewTicker(reclaimInterval)
	defer t.Stop()
	peak := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := srv.Stats().Connections
		peak = max(peak, n)
		if peak-n >= max(peak/2, 1) && peak-n >= 100 || peak-n >= 1000 {
			start := time.Now()
			debug.FreeOSMemory()
			log.Debug("memory returned to the system after connections left",
				"connections", n, "peak", peak, "took", time.Since(start))
			peak = n
		}
	}
}
