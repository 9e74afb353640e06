// Package e2e measures end-to-end throughput through a real broker: one
// publisher sends a run of 64-byte messages to one subscriber through a
// local Mosquitto, and the clients are Petrel (session), paho.mqtt.golang
// v1.5.1, and Debian's mosquitto_pub and mosquitto_sub, side by side in one
// run against the same broker. It is a module of its own so that the main
// module never requires paho.
//
// TestE2E (run.sh runs it) prints, for each QoS, the median over the runs
// of messages per second, the clients' CPU time per message and the
// broker's, and the count received; then Petrel's throughput as a ratio of
// the fastest other peer's and its CPU per message as a ratio of paho's,
// marked against Petrel's targets (at least 1.00 and at most 0.50).
//
// # The cases
//
// 200,000 messages at QoS 0, 50,000 at QoS 1 and 20,000 at QoS 2. The
// subscriber connects and subscribes first, then the publisher, already
// connected, sends them all. The clock runs from the first publish until
// the subscriber has every message; at QoS 0, where a message may be lost,
// until the last one that arrived, once nothing has arrived for three
// seconds after the publisher finished. Each round runs every case once for
// every peer, in an order that rotates from round to round.
//
// # The broker
//
// A nested module cannot import the main module's internal/mosquittotest,
// so broker_test.go starts Mosquitto itself: one loopback listener on a free
// port, max_inflight_messages 0 and max_queued_messages 0 (no limit, per
// mosquitto.conf(5) in 2.0; with the default of 1000 queued, Mosquitto
// drops QoS 0 messages to a subscriber that falls behind), persistence off,
// and otherwise Mosquitto's defaults (Nagle stays on: set_tcp_nodelay false).
//
// # The peers
//
// Each publisher may have the same number of messages in flight, 64 by
// default (-e2e.window):
//
//   - Petrel: Publish blocks until the message is written (QoS 0),
//     acknowledged (QoS 1) or complete (QoS 2), so 64 goroutines call it,
//     with Config.MaxInflight 64. The subscriber's Handler counts.
//   - paho: Publish returns a token, so one goroutine keeps a ring of 64
//     tokens and waits on the oldest before each Publish (-e2e.pahopool
//     drives it like Petrel instead). Defaults otherwise: OrderMatters, so
//     the callback runs in order on one goroutine, as Petrel's handlers do.
//   - mosquitto-clients: mosquitto_pub -l -M 64 sends each line of its
//     standard input as a message (--repeat would wait for each message's
//     acknowledgement); mosquitto_sub -C n prints each message as a line,
//     which the test counts, and exits after n.
//   - petrel-clients: petrel pub -l and petrel sub, run exactly so.
//   - plain: the mosquitto-clients case as a plain command line
//     (../broker/plain.sh: mosquitto_sub -C in the background, then
//     mosquitto_pub -l -M 64 reading a file, timed by the shell). The
//     table checks that mosquitto-clients comes within 15% of it: if not,
//     the harness measures itself. It measures no CPU time.
//
// # CPU time
//
// For the Go peers, both clients run in the test's process: the CPU time of
// the whole process (getrusage RUSAGE_SELF, all threads, not the broker,
// which is a child) from the first publish until the subscriber has all
// messages and the publisher has its last acknowledgement, after a GC. For
// mosquitto-clients, the user and system time of both processes, from
// wait4, over their whole lives (starting and connecting take under 10 ms
// of CPU). The broker's CPU time over the same span comes from
// /proc/<pid>/stat, in 10 ms steps.
//
// # Diagnostics
//
// -e2e.profile writes a CPU profile of each Go peer's measured span, with
// the publisher's and the subscriber's goroutines labelled
// (go tool pprof -tagfocus client=publisher); -e2e.io counts each Go
// client's reads and writes per message; -e2e.gaps prints the pauses in
// arrivals. See the flags in e2e_test.go.
package e2e
