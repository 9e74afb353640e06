package brokerbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

var (
	flagReps  = flag.Int("brokers.reps", 3, "runs of each case on each broker; the table shows medians")
	flagCases = flag.String("brokers.cases", "qos0,qos1,qos2,fanout50-qos0,fanout50-qos1", "cases to run, comma-separated")
	flagScale = flag.Float64("brokers.scale", 1, "multiplies the message counts")
)

// benchCase is n messages published at qos by one publisher to subs
// subscribers of the same topic.
type benchCase struct {
	name string
	qos  packet.QoS
	subs int
	n    int
}

var allCases = []benchCase{
	{"qos0", packet.QoS0, 1, 100_000},
	{"qos1", packet.QoS1, 1, 30_000},
	{"qos2", packet.QoS2, 1, 20_000},
	{"fanout50-qos0", packet.QoS0, 50, 4_000},
	{"fanout50-qos1", packet.QoS1, 50, 1_000},
}

// Every message has a 64-byte payload; the publisher keeps window messages
// in flight.
const (
	payloadSize = 64
	window      = 64
)

var payload = func() []byte {
	b := make([]byte, payloadSize)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

// Limits of a run: the whole of it, and how long the subscribers may
// receive nothing after the publisher has finished before the run ends
// short (at QoS 0 a broker may drop messages).
const (
	runTimeout  = 2 * time.Minute
	idleTimeout = 3 * time.Second
)

// result is what one run measured: deliveries, and the broker's CPU time.
type result struct {
	elapsed  time.Duration
	cpu      time.Duration
	received int
}

func (r result) rate() float64 { return float64(r.received) / r.elapsed.Seconds() }
func (r result) cpuPerMsg() float64 {
	return float64(r.cpu.Nanoseconds()) / 1e3 / float64(max(r.received, 1))
}

// TestBrokers runs every case on Mosquitto and on petrel broker, rotating
// the order from round to round, and prints the medians and the ratios.
func TestBrokers(t *testing.T) {
	var cases []benchCase
	for _, name := range strings.Split(*flagCases, ",") {
		i := slices.IndexFunc(allCases, func(c benchCase) bool { return c.name == name })
		if i < 0 {
			t.Fatalf("-brokers.cases: unknown case %q", name)
		}
		c := allCases[i]
		c.n = max(1, int(float64(c.n)**flagScale))
		cases = append(cases, c)
	}
	bin := buildPetrel(t, t.TempDir())
	brokers := []*brokerProc{startMosquitto(t), startPetrel(t, bin)}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("%d cores, GOMAXPROCS %d, load average %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), strings.Join(strings.Fields(string(load))[:3], " "))

	results := make(map[string][]result) // by case and broker name
	for rep := range *flagReps {
		for _, c := range cases {
			for i := range brokers {
				b := brokers[(i+rep)%len(brokers)]
				if err := b.alive(); err != nil {
					t.Fatal(err)
				}
				id := fmt.Sprintf("%s-%s-%d", b.name, c.name, rep)
				r, err := run(b, c, id)
				if err != nil {
					t.Fatalf("%s on %s: %v", c.name, b.name, err)
				}
				t.Logf("%-14s %-9s run %d: %9.0f msgs/s, broker %.2f µs/msg, %d of %d received in %v",
					c.name, b.name, rep+1, r.rate(), r.cpuPerMsg(), r.received, c.n*c.subs, r.elapsed.Round(time.Millisecond))
				results[c.name+"/"+b.name] = append(results[c.name+"/"+b.name], r)
			}
		}
	}

	var out strings.Builder
	tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "case\tdeliveries\tmosquitto msgs/s\tµs/msg\tpetrel msgs/s\tµs/msg\tthroughput ratio\tCPU/msg ratio\t\n")
	for _, c := range cases {
		m, p := results[c.name+"/mosquitto"], results[c.name+"/petrel"]
		mRate, mCPU := median(m, result.rate), median(m, result.cpuPerMsg)
		pRate, pCPU := median(p, result.rate), median(p, result.cpuPerMsg)
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f\t%.0f\t%.2f\t%.2f %s\t%.2f %s\t\n", c.name, c.n*c.subs,
			mRate, mCPU, pRate, pCPU, pRate/mRate, mark(pRate/mRate >= 1), pCPU/mCPU, mark(pCPU/mCPU <= 1))
	}
	tw.Flush()
	fmt.Fprintf(&out, "medians of %d runs; µs/msg is the broker's CPU time (user+system) per delivered message;\n", *flagReps)
	fmt.Fprintf(&out, "ratios are petrel broker's over Mosquitto's; targets: throughput >= 1.00, CPU/msg <= 1.00\n")
	fmt.Print(out.String())
}

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}

func median(rs []result, f func(result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// run measures one case on broker b: the subscribers connect and
// subscribe, the publisher connects, and the clock and the broker's CPU
// time run from the first publish until every delivery has arrived.
func run(b *brokerProc, c benchCase, id string) (result, error) {
	var res result
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout+time.Minute)
	defer cancel()
	topic := "bench/" + id
	cfg := func(cid string) session.Config {
		return session.Config{Address: "127.0.0.1", Port: b.port, ClientID: cid, MaxInflight: window}
	}
	cnt := newCounter(c.n * c.subs)
	h := session.HandlerFunc(func(*session.Message) { cnt.add() })
	var clients []*session.Client
	defer func() {
		for _, cl := range clients {
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			cl.Disconnect(dctx)
			cancel()
		}
	}()
	connect := func(cid string) (*session.Client, error) {
		cl, err := session.New(cfg(cid))
		if err != nil {
			return nil, err
		}
		if _, err := cl.Connect(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", cid, err)
		}
		clients = append(clients, cl)
		return cl, nil
	}
	for i := range c.subs {
		s, err := connect(fmt.Sprintf("%s-sub%d", id, i))
		if err != nil {
			return res, err
		}
		codes, err := s.Subscribe(ctx, h, session.Subscription{Filter: topic, QoS: c.qos})
		if err != nil {
			return res, fmt.Errorf("subscribe: %w", err)
		}
		if codes[0] != packet.SubackCode(c.qos) {
			return res, fmt.Errorf("subscribe: granted %v, want QoS %d", codes[0], c.qos)
		}
	}
	pub, err := connect(id + "-pub")
	if err != nil {
		return res, err
	}

	msg := session.Message{Topic: topic, Payload: payload, QoS: c.qos}
	pubCtx, stopPub := context.WithCancel(ctx)
	defer stopPub()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	pubDone := make(chan struct{})
	runtime.GC()
	cpu0, err := b.cpu()
	if err != nil {
		return res, err
	}
	start := time.Now()
	for range window {
		wg.Go(func() {
			for next.Add(1) <= int64(c.n) {
				if err := pub.Publish(pubCtx, msg); err != nil {
					errOnce.Do(func() { firstErr = err; stopPub() })
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(pubDone) }()
	res.elapsed, res.received, err = cnt.await(start, pubDone)
	cpu1, cerr := b.cpu()
	res.cpu = cpu1 - cpu0
	<-pubDone
	return res, errors.Join(err, firstErr, cerr)
}

// counter counts deliveries and closes all when n have arrived.
type counter struct {
	n    int64
	got  atomic.Int64
	all  chan struct{}
	once sync.Once
}

func newCounter(n int) *counter { return &counter{n: int64(n), all: make(chan struct{})} }

func (c *counter) add() {
	if c.got.Add(1) >= c.n {
		c.once.Do(func() { close(c.all) })
	}
}

// await waits until every delivery has arrived; or, once pubDone is
// closed, until nothing has arrived for idleTimeout; or until runTimeout.
// It returns the time from start until the last delivery seen, and the
// count.
func (c *counter) await(start time.Time, pubDone <-chan struct{}) (time.Duration, int, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last, lastAt := c.got.Load(), time.Now()
	for {
		select {
		case <-c.all:
			return time.Since(start), int(c.got.Load()), nil
		case now := <-tick.C:
			if got := c.got.Load(); got != last {
				last, lastAt = got, now
			}
			published := false
			select {
			case <-pubDone:
				published = true
			default:
			}
			switch {
			case published && now.Sub(lastAt) > idleTimeout:
				return lastAt.Sub(start), int(last), nil
			case now.Sub(start) > runTimeout:
				return lastAt.Sub(start), int(last), fmt.Errorf("%d of %d messages after %v: %w", last, c.n, runTimeout, errTimeout)
			}
		}
	}
}
