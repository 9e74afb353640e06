package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// End-to-end proofs of the broker's flow control (broker/doc.go, "Flow
// control"), run against the built petrel broker as a process of its own,
// driven by Mosquitto's clients where they fit, so that its memory and CPU
// time can be read from /proc: a burst is delivered whole to a subscriber
// that keeps up, even beside one that never reads, and messages for a
// client that does not read, or is offline, stay within the byte budgets.

// burstSize is the number of messages of the 200,000-message bursts.
const burstSize = 200_000

// burstChunk is the most lines one mosquitto_pub -l takes at QoS 1 here.
// mosquitto_pub 2.0.11 in line mode remembers the packet identifier of
// the last line it read and disconnects at the first PUBACK carrying it:
// past 65,535 messages identifiers repeat, so it leaves after an earlier
// message of that identifier is acknowledged and the rest is lost, with
// any broker (200,000 lines into Mosquitto itself: 3,408 delivered). A
// burst at QoS 1 is therefore fed by mosquitto_pub processes of 50,000
// lines each, one after the other.
const burstChunk = 50_000

// burstLines returns lines "m<from>" to "m<to-1>", one per line.
func burstLines(from, to int) []byte {
	var b bytes.Buffer
	for i := from; i < to; i++ {
		b.WriteByte('m')
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// checkBurst checks that out holds lines "m0" to "m<n-1>" in order, each
// once, and says what is wrong otherwise.
func checkBurst(t *testing.T, out string, n int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if out == "" {
		lines = nil
	}
	seen := make([]bool, n)
	var dup, disorder, bad int
	last := -1
	for _, l := range lines {
		i, err := strconv.Atoi(strings.TrimPrefix(l, "m"))
		if err != nil || i < 0 || i >= n {
			bad++
			continue
		}
		if seen[i] {
			dup++
		}
		seen[i] = true
		if i < last {
			disorder++
		}
		last = i
	}
	missing, firstMissing := 0, -1
	for i, ok := range seen {
		if !ok {
			if missing == 0 {
				firstMissing = i
			}
			missing++
		}
	}
	if missing+dup+disorder+bad > 0 {
		t.Errorf("subscriber got %d lines: %d of %d messages missing (first m%d), %d duplicates, %d out of order, %d malformed",
			len(lines), missing, n, firstMissing, dup, disorder, bad)
	}
}

// flowBroker is petrel broker run with -v as a process of its own.
type flowBroker struct {
	p          *proc
	host, port string
}

// startFlowBroker starts petrel broker on a loopback port with -v and args.
func startFlowBroker(t *testing.T, args ...string) *flowBroker {
	t.Helper()
	p := startProc(t, nil, petrelBin(t), append([]string{"broker", "-listen", "127.0.0.1:0", "-v"}, args...)...)
	t.Cleanup(func() {
		if t.Failed() {
			var info []string
			for line := range strings.SplitSeq(p.stderr.String(), "\n") {
				if !strings.Contains(line, "level=DEBUG") && !strings.Contains(line, "client=sys-watcher") {
					info = append(info, line)
				}
			}
			t.Logf("petrel broker's log but debug lines, last 40 lines:\n%s", strings.Join(info[max(0, len(info)-40):], "\n"))
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := listeningLine.FindStringSubmatch(p.stdout.String()); m != nil {
			b := &flowBroker{p: p}
			b.host, b.port, _ = net.SplitHostPort(m[2])
			return b
		}
		select {
		case <-p.done:
			t.Fatalf("petrel broker exited: %v; stderr %q", p.err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("petrel broker printed no listener within 10s; stderr %q", p.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (b *flowBroker) addr() string { return net.JoinHostPort(b.host, b.port) }

// hostPort returns the -h and -p flags of Mosquitto's clients.
func (b *flowBroker) hostPort() []string { return []string{"-h", b.host, "-p", b.port} }

// waitLog waits up to d for the broker to log s.
func (b *flowBroker) waitLog(t *testing.T, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(b.p.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("petrel broker did not log %q within %v; log ends %q", s, d, logTail(b.p.stderr.String()))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// memory returns the broker's resident set size now (VmRSS) and at its
// peak (VmHWM), from /proc/PID/status.
func (b *flowBroker) memory(t *testing.T) (rss, peak int64) {
	t.Helper()
	pid := b.p.cmd.Process.Pid
	return procStatus(t, pid, "VmRSS"), procStatus(t, pid, "VmHWM")
}

// cpu returns the broker's CPU time so far, user and system, from
// /proc/PID/stat, in steps of 10 ms.
func (b *flowBroker) cpu(t *testing.T) time.Duration {
	t.Helper()
	return time.Duration(cpuTicks(t, b.p.cmd.Process.Pid)) * time.Second / clockTicks
}

// stallTimeout is broker.Config.StallTimeout's default, which petrel
// broker keeps.
const stallTimeout = 10 * time.Second

// checkStallBound checks, from the timestamps of the broker's log, that
// the stalled subscriber was disconnected within StallTimeout, plus 3 s
// for the queue to fill and for a loaded machine, of the connection of
// the publisher it held back.
func (b *flowBroker) checkStallBound(t *testing.T, publisher string) {
	t.Helper()
	log := b.p.stderr.String()
	at := func(s string) time.Time {
		i := strings.Index(log, s)
		if i < 0 {
			t.Fatalf("petrel broker did not log %q; log ends %q", s, logTail(log))
		}
		line := log[strings.LastIndexByte(log[:i], '\n')+1:]
		v, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		ts, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			t.Fatalf("log line %q: %v", line[:min(len(line), 80)], err)
		}
		return ts
	}
	held := at(`msg="disconnecting a stalled client`).Sub(at(`msg="client connected" client=` + publisher + " "))
	t.Logf("the stalled subscriber was disconnected %v after %s connected", held.Round(time.Millisecond), publisher)
	if held > stallTimeout+3*time.Second {
		t.Errorf("the stalled subscriber held %s back for %v, want about StallTimeout (%v)", publisher, held.Round(time.Millisecond), stallTimeout)
	}
}

func logTail(s string) string { return s[max(0, len(s)-3000):] }

func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// exitWithin waits up to d for p to exit and returns its exit code; if
// it does not exit, it kills it, reports an error and returns -1.
func exitWithin(t *testing.T, p *proc, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not exit within %v; stderr %q", p.cmd.Path, d, p.stderr.String())
		return -1
	}
	if ee, ok := errors.AsType[*exec.ExitError](p.err); ok {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("%s: %v", p.cmd.Path, p.err)
	}
	return 0
}

// wireClient is an MQTT connection driven packet by packet.
type wireClient struct {
	nc net.Conn
	r  *packet.Reader
}

// dialWire connects to addr with c and waits for CONNACK 0.
func dialWire(t *testing.T, addr string, c *packet.Connect) *wireClient {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	w := &wireClient{nc: nc, r: packet.NewReader(nc, 2<<20)}
	w.send(t, c)
	if ack, ok := w.read(t, 10*time.Second).(*packet.Connack); !ok || ack.ReturnCode != packet.Accepted {
		t.Fatalf("%s: CONNACK %v", c.ClientID, ack)
	}
	return w
}

func (w *wireClient) send(t *testing.T, p packet.Packet) {
	t.Helper()
	b, err := p.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	w.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := w.nc.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (w *wireClient) read(t *testing.T, d time.Duration) packet.Packet {
	t.Helper()
	w.nc.SetReadDeadline(time.Now().Add(d))
	p, err := w.r.ReadPacket()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// subscribe subscribes to filter at qos and waits for the SUBACK.
func (w *wireClient) subscribe(t *testing.T, filter string, qos packet.QoS) {
	t.Helper()
	w.send(t, &packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: []byte(filter), QoS: qos}}})
	if ack, ok := w.read(t, 10*time.Second).(*packet.Suback); !ok || len(ack.ReturnCodes) != 1 || ack.ReturnCodes[0] != packet.SubackCode(qos) {
		t.Fatalf("SUBACK %v, want QoS %d granted", ack, qos)
	}
}

// sysWatch follows the broker's $SYS/broker/ topics (petrel broker
// -sys-interval 1s), the counters of broker.Stats.
type sysWatch struct {
	mu   sync.Mutex
	vals map[string]string
	done chan struct{}
}

func watchSys(t *testing.T, b *flowBroker) *sysWatch {
	t.Helper()
	w := dialWire(t, b.addr(), &packet.Connect{ClientID: []byte("sys-watcher"), CleanSession: true})
	w.subscribe(t, "$SYS/broker/#", packet.QoS0)
	s := &sysWatch{vals: make(map[string]string), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		w.nc.SetReadDeadline(time.Time{})
		for {
			p, err := w.r.ReadPacket()
			if err != nil {
				return
			}
			if pub, ok := p.(*packet.Publish); ok {
				s.mu.Lock()
				s.vals[strings.TrimPrefix(string(pub.Topic), "$SYS/broker/")] = string(pub.Payload)
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { w.nc.Close(); <-s.done })
	return s
}

// count returns the counter at topic ("publish/messages/dropped"), 0
// before it is published.
func (s *sysWatch) count(topic string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, _ := strconv.ParseUint(s.vals[topic], 10, 64)
	return n
}

// waitCount waits up to 5s (the broker publishes every second) for the
// counter at topic to reach at least min, and returns it.
func (s *sysWatch) waitCount(topic string, min uint64) uint64 {
	deadline := time.Now().Add(5 * time.Second)
	for s.count(topic) < min && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return s.count(topic)
}

// TestFlowBurstQoS1 sends a 200,000-message QoS 1 burst through petrel
// broker with mosquitto_pub -l into mosquitto_sub -q 1 -C 200000: every
// message arrives, in order, alone and beside a subscriber that never
// reads, which holds the publisher back for StallTimeout (10 s) and is then
// disconnected.
func TestFlowBurstQoS1(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 200,000 messages twice and waits for a stalled client")
	}
	t.Parallel() // with the other tests that wait for a stalled client
	pubBin, subBin := mosquittoTool(t, "mosquitto_pub"), mosquittoTool(t, "mosquitto_sub")
	for _, stuck := range []bool{false, true} {
		name := "alone"
		if stuck {
			name = "beside a subscriber that never reads"
		}
		t.Run(name, func(t *testing.T) {
			b := startFlowBroker(t, "-sys-interval", "1s")
			sys := watchSys(t, b)
			topic := "burst/qos1"
			sub := startProc(t, nil, subBin, append(b.hostPort(), "-i", "burst-sub", "-q", "1", "-t", topic, "-C", strconv.Itoa(burstSize))...)
			b.waitLog(t, "msg=subscribed client=burst-sub filter="+topic+" ", 10*time.Second)
			if stuck {
				idle := dialWire(t, b.addr(), &packet.Connect{ClientID: []byte("never-reads"), CleanSession: true})
				idle.subscribe(t, topic, packet.QoS1)
			}
			cpu0, start := b.cpu(t), time.Now()
			for from := 0; from < burstSize; from += burstChunk {
				pub := startProc(t, bytes.NewReader(burstLines(from, from+burstChunk)), pubBin,
					append(b.hostPort(), "-i", fmt.Sprintf("burst-pub-%d", from/burstChunk), "-q", "1", "-t", topic, "-l")...)
				if code := exitWithin(t, pub, 60*time.Second); code != 0 {
					t.Fatalf("mosquitto_pub of lines %d to %d: exit code %d, stderr %q", from, from+burstChunk, code, pub.stderr.String())
				}
			}
			published := time.Since(start)
			code := exitWithin(t, sub, 15*time.Second)
			elapsed, cpu := time.Since(start), b.cpu(t)-cpu0
			checkBurst(t, sub.stdout.String(), burstSize)
			if code > 0 {
				t.Errorf("mosquitto_sub: exit code %d, stderr %q", code, sub.stderr.String())
			}
			_, peak := b.memory(t)
			t.Logf("%d QoS 1 messages delivered in %v (published in %v), %.0f msgs/s, broker CPU %v (%.1f µs/msg), peak RSS %d MB; load average %s",
				burstSize, elapsed.Round(time.Millisecond), published.Round(time.Millisecond), burstSize/elapsed.Seconds(),
				cpu, float64(cpu.Microseconds())/burstSize, peak>>20, loadAverage())
			// Once $SYS counts the whole burst received, its other counters
			// are as recent.
			received := sys.waitCount("messages/received", burstSize)
			stalled, dropped := sys.count("publish/messages/stalled"), sys.count("publish/messages/dropped")
			if stuck {
				b.waitLog(t, `msg="disconnecting a stalled client`, time.Second)
				b.checkStallBound(t, "burst-pub-0")
				stalled = sys.waitCount("publish/messages/stalled", 1)
				if stalled != 1 {
					t.Errorf("$SYS publish/messages/stalled = %d, want 1", stalled)
				}
			}
			t.Logf("$SYS: messages/received %d, messages/sent %d, publish/messages/dropped %d, publish/messages/stalled %d",
				received, sys.count("messages/sent"), dropped, stalled)
			if dropped != 0 {
				t.Errorf("$SYS publish/messages/dropped = %d, want 0", dropped)
			}
		})
	}
}

// TestFlowBurstQoS0 sends a 200,000-message QoS 0 burst with one
// mosquitto_pub -l to a connected mosquitto_sub: every message arrives.
func TestFlowBurstQoS0(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 200,000 messages")
	}
	pubBin, subBin := mosquittoTool(t, "mosquitto_pub"), mosquittoTool(t, "mosquitto_sub")
	b := startFlowBroker(t, "-sys-interval", "1s")
	sys := watchSys(t, b)
	topic := "burst/qos0"
	sub := startProc(t, nil, subBin, append(b.hostPort(), "-i", "burst-sub", "-q", "0", "-t", topic, "-C", strconv.Itoa(burstSize))...)
	b.waitLog(t, "msg=subscribed client=burst-sub filter="+topic+" ", 10*time.Second)
	cpu0, start := b.cpu(t), time.Now()
	pub := startProc(t, bytes.NewReader(burstLines(0, burstSize)), pubBin,
		append(b.hostPort(), "-i", "burst-pub", "-q", "0", "-t", topic, "-l")...)
	if code := exitWithin(t, pub, 60*time.Second); code != 0 {
		t.Fatalf("mosquitto_pub: exit code %d, stderr %q", code, pub.stderr.String())
	}
	published := time.Since(start)
	code := exitWithin(t, sub, 15*time.Second)
	elapsed, cpu := time.Since(start), b.cpu(t)-cpu0
	checkBurst(t, sub.stdout.String(), burstSize)
	if code > 0 {
		t.Errorf("mosquitto_sub: exit code %d, stderr %q", code, sub.stderr.String())
	}
	_, peak := b.memory(t)
	received := sys.waitCount("messages/received", burstSize)
	dropped := sys.count("publish/messages/dropped")
	t.Logf("%d QoS 0 messages delivered in %v (published in %v), %.0f msgs/s, broker CPU %v (%.1f µs/msg), peak RSS %d MB; $SYS messages/received %d, publish/messages/dropped %d; load average %s",
		burstSize, elapsed.Round(time.Millisecond), published.Round(time.Millisecond), burstSize/elapsed.Seconds(),
		cpu, float64(cpu.Microseconds())/burstSize, peak>>20, received, dropped, loadAverage())
	if dropped != 0 {
		t.Errorf("$SYS publish/messages/dropped = %d, want 0", dropped)
	}
}

// Big messages: bigCount messages of bigSize bytes at QoS 1, to a client
// that does not read them or is offline; petrel broker's default limits
// but for -max-packet-size, and its resident memory may grow by at most
// maxGrowth.
const (
	bigCount  = 1100
	bigSize   = 1 << 20
	maxGrowth = 160 << 20
)

// publishBig publishes bigCount messages of bigSize bytes at QoS 1 on
// topic, message i starting with "m<i> ", and waits for every PUBACK. It
// returns how long that took.
func publishBig(t *testing.T, b *flowBroker, topic string) time.Duration {
	t.Helper()
	w := dialWire(t, b.addr(), &packet.Connect{ClientID: []byte("big-pub"), CleanSession: true})
	acked := make(chan error, 1)
	go func() {
		n := 0
		for n < bigCount {
			w.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			p, err := w.r.ReadPacket()
			if err != nil {
				acked <- fmt.Errorf("after %d PUBACKs: %w", n, err)
				return
			}
			if _, ok := p.(*packet.Puback); ok {
				n++
			}
		}
		acked <- nil
	}()
	start := time.Now()
	payload := bytes.Repeat([]byte{'x'}, bigSize)
	var buf []byte
	var err error
	for i := range bigCount {
		copy(payload, fmt.Sprintf("m%d ", i))
		buf, err = (&packet.Publish{QoS: packet.QoS1, PacketID: uint16(i + 1), Topic: []byte(topic), Payload: payload}).AppendBinary(buf[:0])
		if err != nil {
			t.Fatal(err)
		}
		w.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err = w.nc.Write(buf); err != nil {
			break
		}
	}
	if err != nil {
		w.nc.Close()
		<-acked
		t.Fatalf("publishing: %v", err)
	}
	if err := <-acked; err != nil {
		t.Fatalf("publisher: %v", err)
	}
	w.send(t, &packet.Disconnect{})
	return time.Since(start)
}

// TestFlowBigMessages sends 1,100 messages of 1 MiB to a subscriber that
// never reads, then to an offline persistent session: petrel broker's
// resident memory grows by at most 160 MB with its default byte budgets;
// the stalled subscriber is disconnected, and what the offline session
// cannot hold is dropped, both counted and logged, and the session gets
// what it held when its client returns.
func TestFlowBigMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 2 x 1,100 messages of 1 MiB and waits for a stalled client")
	}
	t.Parallel()
	t.Run("subscriber that never reads", func(t *testing.T) {
		t.Parallel()
		b := startFlowBroker(t, "-max-packet-size", "2000000", "-sys-interval", "1s")
		sys := watchSys(t, b)
		idle := dialWire(t, b.addr(), &packet.Connect{ClientID: []byte("never-reads"), CleanSession: true})
		idle.subscribe(t, "big", packet.QoS1)
		rss0, _ := b.memory(t)
		took := publishBig(t, b, "big")
		rss, peak := b.memory(t)
		b.waitLog(t, `msg="disconnecting a stalled client`, time.Second)
		b.checkStallBound(t, "big-pub")
		stalled := sys.waitCount("publish/messages/stalled", 1)
		t.Logf("%d x %d MiB to a subscriber that never reads: all acknowledged in %v; RSS %d MB before, %d MB after, peak %d MB (growth %d MB); $SYS publish/messages/stalled %d, publish/messages/dropped %d; load average %s",
			bigCount, bigSize>>20, took.Round(time.Millisecond), rss0>>20, rss>>20, peak>>20, (peak-rss0)>>20,
			stalled, sys.count("publish/messages/dropped"), loadAverage())
		if peak-rss0 > maxGrowth {
			t.Errorf("RSS grew by %d MB, want at most %d MB", (peak-rss0)>>20, maxGrowth>>20)
		}
		if stalled != 1 {
			t.Errorf("$SYS publish/messages/stalled = %d, want 1", stalled)
		}
	})
	t.Run("offline persistent session", func(t *testing.T) {
		t.Parallel()
		b := startFlowBroker(t, "-max-packet-size", "2000000", "-sys-interval", "1s")
		sys := watchSys(t, b)
		connect := &packet.Connect{ClientID: []byte("offline"), CleanSession: false}
		off := dialWire(t, b.addr(), connect)
		off.subscribe(t, "big", packet.QoS1)
		off.send(t, &packet.Disconnect{})
		off.nc.Close()
		b.waitLog(t, `msg="client disconnected" client=offline `, 10*time.Second)
		rss0, _ := b.memory(t)
		took := publishBig(t, b, "big")
		rss, peak := b.memory(t)
		b.waitLog(t, `msg="message dropped for a session" client=offline reason="session byte budget spent`, time.Second)

		// The client returns: it gets the messages the session held, the
		// first ones, in order.
		back := dialWire(t, b.addr(), connect)
		got := 0
		for {
			back.nc.SetReadDeadline(time.Now().Add(time.Second))
			p, err := back.r.ReadPacket()
			if err != nil {
				break
			}
			pub, ok := p.(*packet.Publish)
			if !ok {
				continue
			}
			if want := fmt.Sprintf("m%d ", got); !bytes.HasPrefix(pub.Payload, []byte(want)) || len(pub.Payload) != bigSize {
				t.Errorf("message %d: %d bytes starting %q, want %d starting %q", got, len(pub.Payload), pub.Payload[:min(len(pub.Payload), 10)], bigSize, want)
			}
			got++
			back.send(t, &packet.Puback{PacketID: pub.PacketID})
		}
		dropped := sys.waitCount("publish/messages/dropped", uint64(bigCount-got))
		t.Logf("%d x %d MiB to an offline session: all acknowledged in %v; RSS %d MB before, %d MB after, peak %d MB (growth %d MB); $SYS publish/messages/dropped %d; %d delivered when the client returned; load average %s",
			bigCount, bigSize>>20, took.Round(time.Millisecond), rss0>>20, rss>>20, peak>>20, (peak-rss0)>>20, dropped, got, loadAverage())
		if peak-rss0 > maxGrowth {
			t.Errorf("RSS grew by %d MB, want at most %d MB", (peak-rss0)>>20, maxGrowth>>20)
		}
		if dropped == 0 || got == 0 || dropped+uint64(got) != bigCount {
			t.Errorf("%d dropped and %d delivered on return, want both above 0 and %d in all", dropped, got, bigCount)
		}
	})
}

// TestFlowStalledAmidSys: a subscriber that stops reading is disconnected
// within StallTimeout of holding a publisher back even while messages that
// no publisher's wait holds back, the $SYS counters published each
// second, still reach its queue: queueing them for it is not its
// progress.
func TestFlowStalledAmidSys(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a stalled client")
	}
	t.Parallel()
	b := startFlowBroker(t, "-sys-interval", "1s")
	idle := dialWire(t, b.addr(), &packet.Connect{ClientID: []byte("never-reads"), CleanSession: true})
	idle.subscribe(t, "stall", packet.QoS1)
	idle.subscribe(t, "$SYS/broker/uptime", packet.QoS0) // a new value every second
	// 600 messages: 64 in flight (MaxInflight), 536 queued, above the
	// high-water mark of 500 (MaxQueued/2): the publisher is held back.
	pub := dialWire(t, b.addr(), &packet.Connect{ClientID: []byte("stall-pub"), CleanSession: true})
	var buf []byte
	for i := range 600 {
		var err error
		buf, err = (&packet.Publish{QoS: packet.QoS1, PacketID: uint16(i + 1), Topic: []byte("stall"), Payload: []byte("m" + strconv.Itoa(i))}).AppendBinary(buf)
		if err != nil {
			t.Fatal(err)
		}
	}
	pub.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := pub.nc.Write(buf); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(stallTimeout + 5*time.Second)
	for !strings.Contains(b.p.stderr.String(), `msg="disconnecting a stalled client`) {
		if time.Now().After(deadline) {
			t.Fatalf("the subscriber that never reads was not disconnected within %v of holding the publisher back (StallTimeout %v); log ends %q",
				stallTimeout+5*time.Second, stallTimeout, logTail(b.p.stderr.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.checkStallBound(t, "stall-pub")
}

// writeSyscalls returns the number of write system calls the broker has
// made, from /proc/PID/io (syscw).
func (b *flowBroker) writeSyscalls(t *testing.T) int64 {
	t.Helper()
	pid := b.p.cmd.Process.Pid
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(s), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatalf("/proc/%d/io: syscw %q", pid, v)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/io has no syscw", pid)
	return 0
}

// TestFanoutWrites publishes 4,000 QoS 0 messages in one write to 50
// subscribers that read as fast as they can: the broker, which reads them
// in a few large reads, writes each subscriber its messages in batches,
// at most one write system call per 10 deliveries (Mosquitto makes one
// per delivery, mochi-mqtt one per 16 in bench/broker's fan-out case).
func TestFanoutWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("connects 51 clients")
	}
	const subs, n = 50, 4000
	b := startFlowBroker(t)
	var wg sync.WaitGroup
	errs := make(chan error, subs)
	for i := range subs {
		w := dialWire(t, b.addr(), &packet.Connect{ClientID: []byte("fan-" + strconv.Itoa(i)), CleanSession: true})
		w.subscribe(t, "fan", packet.QoS0)
		wg.Go(func() {
			w.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
			for got := 0; got < n; {
				p, err := w.r.ReadPacket()
				if err != nil {
					errs <- fmt.Errorf("subscriber %d after %d messages: %w", i, got, err)
					return
				}
				if _, ok := p.(*packet.Publish); ok {
					got++
				}
			}
		})
	}
	pub := dialWire(t, b.addr(), &packet.Connect{ClientID: []byte("fan-pub"), CleanSession: true})
	var buf []byte
	for i := range n {
		buf, _ = (&packet.Publish{Topic: []byte("fan"), Payload: bytes.Repeat([]byte{byte('a' + i%26)}, 64)}).AppendBinary(buf)
	}
	w0 := b.writeSyscalls(t)
	pub.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := pub.nc.Write(buf); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	writes := b.writeSyscalls(t) - w0
	perDelivery := float64(writes) / (subs * n)
	t.Logf("%d QoS 0 messages to %d subscribers: %d write system calls, %.3f per delivery", n, subs, writes, perDelivery)
	if perDelivery > 0.1 {
		t.Errorf("%.2f write system calls per delivery, want at most 0.10: the broker writes to each subscriber far more often than it reads from the publisher", perDelivery)
	}
}
