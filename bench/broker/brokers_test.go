package brokerbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
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
	flagReps    = flag.Int("brokers.reps", 3, "runs of each case on each broker with each driver; the tables show medians")
	flagCases   = flag.String("brokers.cases", "qos0,qos1,qos2,fanout50-qos0,fanout50-qos1", "cases to run, comma-separated")
	flagDrivers = flag.String("brokers.drivers", "client,cli,plain", "drivers, comma-separated: client (Petrel's session.Client), cli (mosquitto_pub and mosquitto_sub), plain (plain.sh)")
	flagScale   = flag.Float64("brokers.scale", 1, "multiplies the message counts")
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
	cpu      time.Duration // the broker's
	received int
	// The cli driver's: the CPU time of all of Mosquitto's clients, and of
	// the one that took most.
	clientCPU, clientPeak time.Duration
}

// busiest is the share of one core that the busiest client used over the
// run: near 1, that client set the pace, whatever the broker.
func (r result) busiest() float64 { return r.clientPeak.Seconds() / r.elapsed.Seconds() }

// machine is the share of all cores that the broker and the clients used
// over the run: near 1, the run was bound by the machine.
func (r result) machine() float64 {
	return (r.cpu + r.clientCPU).Seconds() / r.elapsed.Seconds() / float64(runtime.NumCPU())
}

func (r result) rate() float64 { return float64(r.received) / r.elapsed.Seconds() }
func (r result) cpuPerMsg() float64 {
	return float64(r.cpu.Nanoseconds()) / 1e3 / float64(max(r.received, 1))
}

// driver is what publishes and subscribes in a run.
type driver struct {
	name  string // a -brokers.drivers name
	title string
	run   func(b *brokerProc, c benchCase, id string) (result, error)
}

// brokerNames are the brokers, in the order of the tables' columns.
var brokerNames = []string{"mosquitto", "mochi", "petrel"}

// Targets of petrel broker's throughput, as ratios to the others'.
const (
	targetMosquitto = 1.00
	targetMochi     = 1.50
	plainTolerance  = 0.15 // how far the cli driver's figure may be from plain.sh's
)

// TestBrokers runs every case on Mosquitto, mochi-mqtt and petrel broker
// with each driver, and prints the medians and the ratios.
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
	ct := newCLITools(t)
	all := []driver{
		{"client", "Petrel's client (session.Client, 64 in flight)", run},
		{"cli", fmt.Sprintf("Mosquitto's clients (mosquitto_pub -l -M %d, mosquitto_sub -C)", cliWindow), ct.run},
		{"plain", "plain.sh", ct.runPlain},
	}
	var drivers []driver
	for _, name := range strings.Split(*flagDrivers, ",") {
		i := slices.IndexFunc(all, func(d driver) bool { return d.name == name })
		if i < 0 {
			t.Fatalf("-brokers.drivers: unknown driver %q", name)
		}
		drivers = append(drivers, all[i])
	}
	dir := t.TempDir()
	brokers := []*brokerProc{startMosquitto(t), startMochi(t, buildMochi(t, dir)), startPetrel(t, buildPetrel(t, dir))}
	t.Logf("%d cores, GOMAXPROCS %d, load average %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), loadAverage())

	results := make(map[string][]result) // by driver, case and broker name
	failed := make(map[string]int)       // runs that failed, by the same key
	// Each broker runs a case with every driver in a row, so that the cli
	// driver's run and plain.sh's, which the last table compares, are
	// close in time; the order of the brokers, and of the drivers, turns
	// from round to round.
	for rep := range *flagReps {
		for _, c := range cases {
			for i := range brokers {
				b := brokers[(i+rep)%len(brokers)]
				for j := range drivers {
					d := drivers[(j+rep)%len(drivers)]
					if err := b.alive(); err != nil {
						t.Fatal(err)
					}
					id := fmt.Sprintf("%s-%s-%s-%d", b.name, d.name, c.name, rep)
					key := d.name + "/" + c.name + "/" + b.name
					logged := len(b.log.String())
					r, err := d.run(b, c, id)
					if err != nil {
						t.Errorf("%s on %s with %s: %v%s", c.name, b.name, d.name, err, b.warnings(logged))
						failed[key]++
						continue
					}
					t.Logf("%-14s %-9s %-6s run %d: %9.0f msgs/s, broker %.2f µs/msg, %d of %d received in %v",
						c.name, b.name, d.name, rep+1, r.rate(), r.cpuPerMsg(), r.received, c.n*c.subs, r.elapsed.Round(time.Millisecond))
					results[key] = append(results[key], r)
				}
			}
		}
	}

	fmt.Printf("load average %s at the end; medians of %d runs; µs/msg is the broker's CPU time (user+system) per delivered message\n", loadAverage(), *flagReps)
	for _, d := range drivers {
		if d.name != "plain" {
			fmt.Print(driverTable(d, cases, results, failed))
		}
		if d.name == "cli" {
			fmt.Print(loadTable(cases, results))
		}
	}
	fmt.Printf("targets: petrel/mosquitto >= %.2f, petrel/mochi >= %.2f (msgs/s), CPU petrel/mosquitto <= 1.00\n", targetMosquitto, targetMochi)
	if slices.ContainsFunc(drivers, func(d driver) bool { return d.name == "cli" }) &&
		slices.ContainsFunc(drivers, func(d driver) bool { return d.name == "plain" }) {
		fmt.Print(plainTable(cases, results))
	}
}

// driverTable shows driver d's medians for each case and broker, petrel
// broker's ratios to the others', and notes of runs short of messages or
// failed.
func driverTable(d driver, cases []benchCase, results map[string][]result, failed map[string]int) string {
	var out strings.Builder
	fmt.Fprintf(&out, "\ndriver: %s\n", d.title)
	tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "case\tdeliveries\t")
	for _, name := range brokerNames {
		fmt.Fprintf(tw, "%s msgs/s\tµs/msg\t", name)
	}
	fmt.Fprintf(tw, "petrel/mosquitto\tpetrel/mochi\tCPU petrel/mosquitto\tCPU petrel/mochi\t\n")
	var notes []string
	for _, c := range cases {
		rate, cpu := make(map[string]float64), make(map[string]float64)
		fmt.Fprintf(tw, "%s\t%d\t", c.name, c.n*c.subs)
		for _, name := range brokerNames {
			key := d.name + "/" + c.name + "/" + name
			rs := results[key]
			rate[name], cpu[name] = median(rs, result.rate), median(rs, result.cpuPerMsg)
			fmt.Fprintf(tw, "%s\t%s\t", num(rate[name], "%.0f"), num(cpu[name], "%.2f"))
			if slices.ContainsFunc(rs, func(r result) bool { return r.received < c.n*c.subs }) {
				least := slices.MinFunc(rs, func(a, b result) int { return a.received - b.received }).received
				notes = append(notes, fmt.Sprintf("%s on %s: some runs short of messages, at least %d of %d delivered", c.name, name, least, c.n*c.subs))
			}
			if n := failed[key]; n > 0 {
				notes = append(notes, fmt.Sprintf("%s on %s: %d of %d runs failed (see the log)", c.name, name, n, *flagReps))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n",
			ratio(rate["petrel"], rate["mosquitto"], func(r float64) bool { return r >= targetMosquitto }),
			ratio(rate["petrel"], rate["mochi"], func(r float64) bool { return r >= targetMochi }),
			ratio(cpu["petrel"], cpu["mosquitto"], func(r float64) bool { return r <= 1 }),
			ratio(cpu["petrel"], cpu["mochi"], nil))
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintf(&out, "  note: %s\n", n)
	}
	return out.String()
}

// loadTable shows, for the cli driver's runs, how busy Mosquitto's clients
// and the machine were: a case where a client used nearly a core, or the
// broker and the clients nearly all cores, measures the driver, and
// petrel broker's ratio there is a floor, not its own figure. A client's
// CPU time is its whole life's, connecting and subscribing included, so
// the shares are a little over the run's.
func loadTable(cases []benchCase, results map[string][]result) string {
	var out strings.Builder
	fmt.Fprintf(&out, "\nthe cli driver's load (medians): the busiest client's share of one core, the share of the %d cores used by the broker and all clients\n", runtime.NumCPU())
	tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "case\t")
	for _, name := range brokerNames {
		fmt.Fprintf(tw, "%s client\tmachine\t", name)
	}
	fmt.Fprintf(tw, "\n")
	for _, c := range cases {
		fmt.Fprintf(tw, "%s\t", c.name)
		bound := false
		for _, name := range brokerNames {
			rs := results["cli/"+c.name+"/"+name]
			b, m := median(rs, result.busiest), median(rs, result.machine)
			fmt.Fprintf(tw, "%s\t%s\t", num(100*b, "%.0f%%"), num(100*m, "%.0f%%"))
			bound = bound || name == "petrel" && (b >= driverBound || m >= driverBound)
		}
		if bound {
			fmt.Fprintf(tw, "petrel: bound by the driver\t")
		}
		fmt.Fprintf(tw, "\n")
	}
	tw.Flush()
	return out.String()
}

// driverBound is the share of a core (one client) or of the machine past
// which a run measures the driver more than the broker.
const driverBound = 0.85

// plainTable shows, for each case and broker, the cli driver's median
// beside plain.sh's.
func plainTable(cases []benchCase, results map[string][]result) string {
	var out strings.Builder
	fmt.Fprintf(&out, "\nthe cli driver beside plain.sh, the same case as a plain command line (msgs/s, medians):\n")
	tw := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "case\t")
	for _, name := range brokerNames {
		fmt.Fprintf(tw, "%s cli\tplain\tcli/plain\t", name)
	}
	fmt.Fprintf(tw, "\n")
	for _, c := range cases {
		fmt.Fprintf(tw, "%s\t", c.name)
		for _, name := range brokerNames {
			h := median(results["cli/"+c.name+"/"+name], result.rate)
			p := median(results["plain/"+c.name+"/"+name], result.rate)
			fmt.Fprintf(tw, "%s\t%s\t%s\t", num(h, "%.0f"), num(p, "%.0f"),
				ratio(h, p, func(r float64) bool { return math.Abs(r-1) <= plainTolerance }))
		}
		fmt.Fprintf(tw, "\n")
	}
	tw.Flush()
	fmt.Fprintf(&out, "target: cli/plain within %.2f..%.2f\n", 1-plainTolerance, 1+plainTolerance)
	return out.String()
}

// num formats v, or "-" for no figure.
func num(v float64, format string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

// ratio formats a/b, marked against target if there is one.
func ratio(a, b float64, target func(float64) bool) string {
	if a == 0 || b == 0 {
		return "-"
	}
	r := a / b
	if target == nil {
		return fmt.Sprintf("%.2f", r)
	}
	return fmt.Sprintf("%.2f %s", r, mark(target(r)))
}

func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
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
