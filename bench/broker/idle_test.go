package brokerbench

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// The small and quiet cases, beside TestBrokers' fast ones, driven by a
// raw-TCP driver (packets written and read here, nothing of Petrel's
// client): what idle connections cost, whether memory comes back after
// they leave, and what a message costs at a low rate.
//
//	go test -run '^TestIdle$' -v -idle.clients 5000 [-baseline /path/to/older/petrel]
//	go test -run '^TestLowRate$' -v [-lowrate.rounds 5] [-baseline /path/to/older/petrel]

var (
	flagIdleClients = flag.Int("idle.clients", 5000, "idle clients to connect")
	flagIdleWait    = flag.Duration("idle.wait", time.Minute, "how long to watch RSS after the clients leave")
	flagLowRate     = flag.Int("lowrate.rate", 200, "messages a second")
	flagLowDuration = flag.Duration("lowrate.duration", 10*time.Second, "how long to publish")
	flagLowRounds   = flag.Int("lowrate.rounds", 3, "rounds, each broker in turn")
	flagBaseline    = flag.String("baseline", "", "a petrel binary of another revision, run beside this tree's as petrel-base")
)

// rss returns the resident set size of process pid.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// rawConnect opens a connection and completes CONNECT with a clean
// session.
func rawConnect(addr, id string) (net.Conn, *packet.Reader, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	b, _ := (&packet.Connect{ClientID: []byte(id), CleanSession: true}).AppendBinary(nil)
	if _, err := nc.Write(b); err != nil {
		nc.Close()
		return nil, nil, err
	}
	r := packet.NewReader(nc, 1<<20)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	p, err := r.ReadPacket()
	if ack, ok := p.(*packet.Connack); err != nil || !ok || ack.ReturnCode != packet.Accepted {
		nc.Close()
		return nil, nil, fmt.Errorf("%s: CONNACK %v, %v", id, p, err)
	}
	nc.SetReadDeadline(time.Time{})
	return nc, r, nil
}

// TestIdle connects -idle.clients idle clients to each broker: RSS per
// client and broker CPU per connection; then they leave, and RSS is
// watched for -idle.wait against the idle broker's (measured after 20
// clients came and went). A second burst then shows whether what stayed
// is a high-water mark (RSS back to where the first burst left it) or
// growth. The last lines give issue 16's targets and petrel's verdicts.
func TestIdle(t *testing.T) {
	dir := t.TempDir()
	brokers := []*brokerProc{startPetrel(t, buildPetrel(t, dir)), startMosquitto(t)}
	if *flagBaseline != "" {
		brokers = append(brokers, startPetrelAs(t, *flagBaseline, "petrel-base"))
	}
	n := *flagIdleClients
	type result struct {
		perClient, cpuPerConn float64 // KB, µs
		after, second         int64   // % of idle; % of RSS after the first burst
	}
	results := map[string]result{}
	t.Logf("%-10s %12s %12s %14s %16s %s", "broker", "idle RSS", "with clients", "RSS per client", "CPU per connect", "RSS after they left, every 10 s (% of idle); after a second burst (% of after the first)")
	for _, b := range brokers {
		pid := b.cmd.Process.Pid
		for i := range 20 {
			if nc, _, err := rawConnect(b.addr(), fmt.Sprint("warm-", i)); err == nil {
				nc.Close()
			}
		}
		time.Sleep(time.Second)
		base := rss(pid)
		cpu0, _ := b.cpu()
		conns := connectIdle(t, b, n, "idle-")
		cpu1, _ := b.cpu()
		time.Sleep(2 * time.Second)
		full := rss(pid)
		for _, nc := range conns {
			nc.Close()
		}
		var after []string
		var last int64
		for range max(int(*flagIdleWait/(10*time.Second)), 1) {
			time.Sleep(10 * time.Second)
			last = rss(pid) * 100 / base
			after = append(after, fmt.Sprint(last))
		}
		first := rss(pid)
		for _, nc := range connectIdle(t, b, n, "again-") {
			nc.Close()
		}
		time.Sleep(10 * time.Second)
		r := result{
			perClient:  float64(full-base) / float64(n) / 1024,
			cpuPerConn: float64(cpu1-cpu0) / float64(n) / 1e3,
			after:      last, second: rss(pid) * 100 / first,
		}
		results[b.name] = r
		t.Logf("%-10s %9d KB %9d KB %11.1f KB %13.0f µs %s; %d", b.name, base>>10, full>>10,
			r.perClient, r.cpuPerConn, strings.Join(after, " "), r.second)
	}
	p, m := results["petrel"], results["mosquitto"]
	t.Logf("petrel: RSS per idle client %.1f KB (target <= 6: %s); CPU per connect %.2fx Mosquitto's (target <= 1.00: %s); RSS after they left %d%% of idle (target <= 120: %s; Mosquitto %d%%)",
		p.perClient, mark(p.perClient <= 6), p.cpuPerConn/m.cpuPerConn, mark(p.cpuPerConn <= m.cpuPerConn),
		p.after, mark(p.after <= 120), m.after)
}

// connectIdle connects n clients that send nothing more.
func connectIdle(t *testing.T, b *brokerProc, n int, prefix string) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	for i := range n {
		nc, _, err := rawConnect(b.addr(), fmt.Sprint(prefix, i))
		if err != nil {
			t.Fatalf("%s: client %d: %v", b.name, i, err)
		}
		conns = append(conns, nc)
	}
	return conns
}

// TestLowRate publishes QoS 1 at -lowrate.rate messages a second for
// -lowrate.duration through each broker, one publisher to one subscriber,
// with raw clients that acknowledge at once: latency percentiles (a send
// time carried in each payload) and broker CPU per message.
func TestLowRate(t *testing.T) {
	dir := t.TempDir()
	brokers := []*brokerProc{startPetrel(t, buildPetrel(t, dir)), startMosquitto(t)}
	if *flagBaseline != "" {
		brokers = append(brokers, startPetrelAs(t, *flagBaseline, "petrel-base"))
	}
	t.Logf("%-10s %8s %8s %8s %8s %8s %14s", "broker", "msgs", "p50", "p90", "p99", "max", "CPU per msg")
	// Per broker, each figure's values over the rounds: p50, p90, p99,
	// max (µs) and CPU per message (µs).
	figures := map[string]*[5][]float64{}
	for round := range *flagLowRounds {
		for _, b := range brokers {
			lat, cpu, err := lowRate(b, round)
			if err != nil {
				t.Fatalf("%s: %v", b.name, err)
			}
			slices.Sort(lat)
			q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
			row := [5]time.Duration{q(0.5), q(0.9), q(0.99), lat[len(lat)-1], cpu / time.Duration(len(lat))}
			t.Logf("%-10s %8d %8v %8v %8v %8v %11.0f µs", b.name, len(lat), row[0].Round(time.Microsecond),
				row[1].Round(time.Microsecond), row[2].Round(time.Microsecond), row[3].Round(time.Microsecond),
				float64(row[4])/1e3)
			if figures[b.name] == nil {
				figures[b.name] = new([5][]float64)
			}
			for i, d := range row {
				figures[b.name][i] = append(figures[b.name][i], float64(d)/1e3)
			}
		}
	}
	p, m := figures["petrel"], figures["mosquitto"]
	ratio := func(i int) float64 { return medianOf(p[i]) / medianOf(m[i]) }
	t.Logf("petrel/Mosquitto, medians of the rounds: CPU per message %.2f (target <= 1.00: %s), p50 %.2f (target <= 1.00: %s), p90 %.2f (target <= 1.00: %s), p99 %.2f, max %.2f",
		ratio(4), mark(ratio(4) <= 1), ratio(0), mark(ratio(0) <= 1), ratio(1), mark(ratio(1) <= 1), ratio(2), ratio(3))
	if base := figures["petrel-base"]; base != nil {
		vs := func(i int) float64 { return medianOf(p[i]) / medianOf(base[i]) }
		t.Logf("petrel/petrel-base: CPU per message %.2f, p50 %.2f, p90 %.2f, p99 %.2f, max %.2f", vs(4), vs(0), vs(1), vs(2), vs(3))
	}
}

// medianOf returns the median of xs, which it sorts.
func medianOf(xs []float64) float64 {
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

func lowRate(b *brokerProc, round int) ([]time.Duration, time.Duration, error) {
	sub, sr, err := rawConnect(b.addr(), fmt.Sprint("low-sub-", round))
	if err != nil {
		return nil, 0, err
	}
	defer sub.Close()
	s, _ := (&packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: []byte("low/rate"), QoS: packet.QoS1}}}).AppendBinary(nil)
	sub.Write(s)
	if _, err := sr.ReadPacket(); err != nil {
		return nil, 0, err
	}
	pub, pr, err := rawConnect(b.addr(), fmt.Sprint("low-pub-", round))
	if err != nil {
		return nil, 0, err
	}
	defer pub.Close()
	go func() { // the publisher's PUBACKs
		for {
			if _, err := pr.ReadPacket(); err != nil {
				return
			}
		}
	}()
	total := int(flagLowDuration.Seconds() * float64(*flagLowRate))
	lat := make([]time.Duration, 0, total)
	done := make(chan error, 1)
	go func() {
		var ack []byte
		for len(lat) < total {
			sub.SetReadDeadline(time.Now().Add(10 * time.Second))
			p, err := sr.ReadPacket()
			if err != nil {
				done <- err
				return
			}
			m, ok := p.(*packet.Publish)
			if !ok {
				continue
			}
			lat = append(lat, time.Duration(time.Now().UnixNano()-int64(binary.BigEndian.Uint64(m.Payload))))
			ack, _ = (&packet.Puback{PacketID: m.PacketID}).AppendBinary(ack[:0])
			sub.Write(ack)
		}
		done <- nil
	}()
	cpu0, _ := b.cpu()
	tick := time.NewTicker(time.Second / time.Duration(*flagLowRate))
	defer tick.Stop()
	payload := make([]byte, 64)
	var buf []byte
	for i := range total {
		<-tick.C
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		buf, _ = (&packet.Publish{Topic: []byte("low/rate"), Payload: payload, QoS: packet.QoS1, PacketID: uint16(i%65535 + 1)}).AppendBinary(buf[:0])
		if _, err := pub.Write(buf); err != nil {
			return nil, 0, err
		}
	}
	if err := <-done; err != nil {
		return nil, 0, err
	}
	cpu1, _ := b.cpu()
	return lat, cpu1 - cpu0, nil
}
