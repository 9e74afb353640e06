// Package brokerbench measures messages per second through two brokers side
// by side in one run: Petrel's (the petrel command's "petrel broker") and
// Mosquitto, both started by the benchmark as processes of their own on
// free loopback ports, and both driven by the same client, Petrel's
// session.Client, in the test process. It is a module of its own so that
// its needs never reach the main module.
//
// TestBrokers (run.sh runs it) prints, for each case, the median over the
// runs of each broker's messages per second and CPU time per message, and
// Petrel's ratios to Mosquitto's, marked against the targets: throughput
// at least 1.00 times Mosquitto's, CPU per message at most 1.00 times.
//
// # The cases
//
// 64-byte payloads. One publisher to one subscriber: 100,000 messages at
// QoS 0, 30,000 at QoS 1 and 20,000 at QoS 2. Fan-out: one publisher to 50
// subscribers of the same topic, 4,000 messages at QoS 0 and 1,000 at
// QoS 1, so 200,000 and 50,000 deliveries. The subscribers connect and
// subscribe first; then the publisher, already connected, sends every
// message with 64 in flight (64 goroutines calling Publish, and
// Config.MaxInflight 64). The clock runs from the first publish until every
// subscriber has every message (at QoS 0, where a broker may drop, until
// the last arrival once nothing has come for three seconds after the
// publisher finished). A message counts once per delivery: in the fan-out
// cases msgs/s and CPU/msg are per delivered message.
//
// # The brokers
//
// Mosquitto with max_inflight_messages 0 and max_queued_messages 0 (no
// limits), persistence off, "user root" when run as root. petrel broker,
// built from this checkout with go build, with -max-inflight 65535 and
// -max-queued 10000000, which are as good as no limits here, and
// persistence off. Each broker's CPU time, user and system, comes from
// /proc/<pid>/stat over the measured span, in 10 ms steps.
//
// # Flags
//
// -brokers.reps (runs of each case on each broker, default 3),
// -brokers.cases (which cases, comma-separated), -brokers.scale
// (multiplies the message counts). To see where petrel broker spends its
// time, profile the broker package's own benchmarks, which run the same
// flows in one process: go test -run '^$' -bench Broker -cpuprofile
// cpu.out ./broker/ from the top, then go tool pprof -top cpu.out.
package brokerbench
