package main

import (
	"os"
	"runtime"
)

// clientProcs sets GOMAXPROCS to 1 for petrel pub and petrel sub, unless
// the GOMAXPROCS environment variable chooses.
//
// A client moves one stream: its goroutines (the reader, the writer, the
// dispatcher, the line reader of pub -l) hand each batch to one another
// and wait on the network in turn, so more than one of them rarely has
// work at a time. With more Ps, each hand-off wakes an idle thread that
// spins to steal the woken goroutine and goes back to sleep (futex,
// nanosleep): a QoS 0 stream into petrel sub made 1.35 futex calls per
// message at GOMAXPROCS 2 and 0.02 at 1. On one P the woken goroutine runs
// on the same thread once the current one waits, as mosquitto_pub and
// mosquitto_sub run on one thread. In bench/e2e (petrel pub -l into petrel
// sub through Mosquitto, 2 cores), client CPU per message at QoS 0 fell
// from 1.34x mosquitto_pub/sub's to 1.15x, and wall time from 1.19x to
// 1.09-1.14x, side by side; at QoS 1 and 2 the CPU is now 0.38-0.40x and
// 0.30-0.32x theirs. The broker and petrel bench keep every core.
func clientProcs(args []string) {
	if len(args) == 0 || args[0] != "pub" && args[0] != "sub" {
		return
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return
	}
	runtime.GOMAXPROCS(1)
}
