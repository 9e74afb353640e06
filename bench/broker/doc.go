// Package brokerbench measures messages per second through three brokers
// side by side in one run: Petrel's (the petrel command's "petrel
// broker"), Mosquitto, and mochi-mqtt (github.com/mochi-mqtt/server/v2,
// run by cmd/mochibroker), each started by the benchmark as a process of
// its own on a free loopback port. It is a module of its own so that its
// needs, mochi-mqtt among them, never reach the main module.
//
// TestBrokers (run.sh runs it) prints, for each driver and case, the
// median over the runs of each broker's messages per second and CPU time
// per message, and Petrel's ratios to the others', marked against the
// targets: throughput at least 1.00 times Mosquitto's and 1.50 times
// mochi-mqtt's, CPU per message at most 1.00 times Mosquitto's.
//
// # The drivers
//
// Each case runs with each driver (-brokers.drivers):
//
//   - client: Petrel's session.Client in the test process. The
//     subscribers connect and subscribe first; then the publisher, already
//     connected, sends every message with 64 in flight (64 goroutines
//     calling Publish, and Config.MaxInflight 64).
//   - cli: Mosquitto's command-line clients, so that no broker gets its own
//     client: one mosquitto_sub -C N+1 per subscriber, writing to a file,
//     and mosquitto_pub -l -M 64 reading a file of N lines. A retained
//     "ready" published to the run's topic first reaches each subscriber
//     once it is subscribed; the publisher starts when all have it. At
//     QoS 1 and 2, more than 65,535 lines are fed by mosquitto_pub runs of
//     50,000, one after the other: mosquitto_pub 2.0 in line mode leaves
//     early once packet identifiers repeat.
//   - plain: plain.sh, the cli driver's case as a shell pipeline anyone
//     can type (mosquitto_sub -C N+1 > file & ... mosquitto_pub -l <
//     file; wait), timed by the script. The table beside it shows that the
//     cli driver's figures are within 15% of the plain command line's:
//     the harness does not shape what it measures.
//
// The clock runs from the first publish until every subscriber has every
// message (at QoS 0, where a broker may drop, until the last arrival once
// nothing has come for three seconds after the publisher finished). A
// message counts once per delivery: in the fan-out cases msgs/s and
// CPU/msg are per delivered message.
//
// # The cases
//
// 64-byte payloads. One publisher to one subscriber: 100,000 messages at
// QoS 0, 30,000 at QoS 1 and 20,000 at QoS 2. Fan-out: one publisher to 50
// subscribers of the same topic, 4,000 messages at QoS 0 and 1,000 at
// QoS 1, so 200,000 and 50,000 deliveries. Rounds rotate the order of the
// brokers.
//
// # The brokers
//
// Mosquitto with max_inflight_messages 0 and max_queued_messages 0 (no
// limits), persistence off, "user root" when run as root. petrel broker,
// built from this checkout with go build, with -max-inflight 65535 and
// -max-queued 10000000, which are as good as no limits here, and
// persistence off. mochi-mqtt v2.7.9 with its defaults, but a client's
// queue of pending writes of 65,536 packets (8,192 by default, beyond
// which it drops). Each broker's CPU time, user and system, comes from
// /proc/<pid>/stat over the measured span, in 10 ms steps.
//
// # Flags
//
// -brokers.reps (runs of each case on each broker with each driver,
// default 3), -brokers.cases (which cases, comma-separated),
// -brokers.drivers (client, cli, plain), -brokers.scale (multiplies the
// message counts). To see where petrel broker spends its time, profile
// the broker package's own benchmarks, which run the same flows in one
// process: go test -run '^$' -bench Broker -cpuprofile cpu.out ./broker/
// from the top, then go tool pprof -top cpu.out.
package brokerbench
