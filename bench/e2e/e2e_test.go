package e2e

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The cases: one publisher sends n messages of 64 bytes to one subscriber
// that connected and subscribed first, at each QoS.
var defaultCounts = map[byte]int{0: 200_000, 1: 50_000, 2: 20_000}

// The targets Petrel is held to, reported as met or missed.
const (
	targetThroughput = 1.00 // Petrel's msgs/s over the fastest other peer's: at least
	targetCPU        = 0.50 // Petrel's CPU µs/msg over paho's: at most
)

var (
	flagPeers    = flag.String("e2e.peers", "petrel,petrel-ordered,petrel-serial,paho,mosquitto-clients,petrel-clients,plain", "peers to run, comma-separated")
	flagQoS      = flag.String("e2e.qos", "0,1,2", "QoS levels to run, comma-separated")
	flagReps     = flag.Int("e2e.reps", 3, "runs of each case and peer; the table shows medians")
	flagWindow   = flag.Int("e2e.window", 64, "messages each publisher may have in flight (Petrel's MaxInflight and publishing goroutines, paho's outstanding tokens, mosquitto_pub -M)")
	flagScale    = flag.Float64("e2e.scale", 1, "multiplies the message counts (200,000 at QoS 0, 50,000 at QoS 1, 20,000 at QoS 2)")
	flagProfile  = flag.String("e2e.profile", "", "directory for a CPU profile of each Go peer's run (measured span only)")
	flagPahoPool = flag.Bool("e2e.pahopool", false, "drive paho's publisher with window goroutines waiting on their tokens, as Petrel's, instead of one goroutine with a ring of tokens")
	flagBroker   = flag.String("e2e.brokerconf", "", "extra lines for mosquitto.conf, before the listener (\\n for a new line)")
	flagGaps     = flag.Bool("e2e.gaps", false, "record arrival times and print the pauses in each run (costs some CPU)")
	flagIO       = flag.Bool("e2e.io", false, "count the Go peers' reads and writes per message (through a wrapping net.Conn)")
	flagNodelay  = flag.Bool("e2e.nodelay", false, "pass --nodelay to mosquitto_pub")
)

// TestE2E runs every peer on every case, flagReps times, interleaved
// (each round runs each case once for each peer, in an order that rotates
// from round to round), against one broker, and prints a table per QoS of
// the medians. With -short it runs one round of 2% of the messages, to
// check that the benchmark works.
func TestE2E(t *testing.T) {
	peers := strings.Split(*flagPeers, ",")
	for _, p := range peers {
		if !slices.Contains([]string{"petrel", "petrel-ordered", "petrel-serial", "paho", "mosquitto-clients", "petrel-clients", "plain"}, p) {
			t.Fatalf("-e2e.peers: unknown peer %q", p)
		}
	}
	var qoss []byte
	for _, s := range strings.Split(*flagQoS, ",") {
		q, err := strconv.Atoi(s)
		if err != nil || q < 0 || q > 2 {
			t.Fatalf("-e2e.qos: bad QoS %q", s)
		}
		qoss = append(qoss, byte(q))
	}
	reps, scale := *flagReps, *flagScale
	if testing.Short() {
		reps, scale = 1, 0.02
	}
	if *flagProfile != "" {
		if err := os.MkdirAll(*flagProfile, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	b := startBroker(t, strings.ReplaceAll(*flagBroker, `\n`, "\n"))
	ctx := t.Context()
	out := io.Writer(os.Stdout)
	fmt.Fprintf(out, "mosquitto %s on %s; window %d; %d runs of each case; GOMAXPROCS %d\n",
		brokerVersion(b), b.addr(), *flagWindow, reps, runtime.GOMAXPROCS(0))

	var results []result
	for rep := range reps {
		for _, q := range qoss {
			n := max(int(float64(defaultCounts[q])*scale), 1)
			for i := range peers {
				peer := peers[(i+rep)%len(peers)]
				c := benchCase{
					qos: q, n: n, window: *flagWindow, rep: rep,
					id:    fmt.Sprintf("q%d-r%d-%d", q, rep, time.Now().UnixNano()%1e6),
					topic: fmt.Sprintf("bench/e2e/%s/q%d/r%d", peer, q, rep),
				}
				var (
					r   result
					err error
				)
				switch peer {
				case "petrel", "petrel-ordered", "petrel-serial":
					r, err = runPetrel(ctx, b, c, peer, *flagProfile)
				case "paho":
					r, err = runPaho(ctx, b, c, *flagProfile)
				case "mosquitto-clients":
					r, err = runMosquittoClients(ctx, t, b, c)
				case "petrel-clients":
					r, err = runPetrelClients(ctx, t, b, c)
				case "plain":
					r, err = runPlain(ctx, t, b, c)
				}
				if err != nil {
					t.Errorf("%s, QoS %d, run %d: %v", peer, q, rep+1, err)
				}
				if berr := b.alive(); berr != nil {
					t.Fatal(berr)
				}
				if r.elapsed <= 0 {
					continue
				}
				fmt.Fprintf(out, "run %d QoS %d %-17s %9.0f msgs/s %7.2f µs CPU/msg %7.2f µs broker CPU/msg %7d/%d received in %v\n",
					rep+1, q, peer, r.rate(), r.cpuPerMsg(), r.brokerPerMsg(), r.received, r.n, r.elapsed.Round(time.Millisecond))
				if r.pubCPU > 0 {
					fmt.Fprintf(out, "      publisher %.2f µs CPU/msg, subscriber %.2f\n",
						perMsg(r.pubCPU, r.received), perMsg(r.cpu-r.pubCPU, r.received))
				}
				if r.io != "" {
					fmt.Fprintf(out, "      %s\n", r.io)
				}
				if r.gaps != "" {
					fmt.Fprintf(out, "      %s\n", r.gaps)
				}
				results = append(results, r)
			}
		}
	}
	fmt.Fprintln(out)
	for _, q := range qoss {
		printTable(out, q, peers, results)
	}
}

// printTable prints the medians of one QoS and Petrel's ratios.
func printTable(w io.Writer, q byte, peers []string, results []result) {
	type row struct {
		rate, cpu, broker float64
		pub, sub          float64 // CPU per message of each client, for the command-line peers
		minRecv, n        int
		runs              int
	}
	rows := map[string]row{}
	for _, p := range peers {
		var rates, cpus, brokers, pubs, subs []float64
		r := row{minRecv: -1}
		for _, res := range results {
			if res.qos != q || res.peer != p {
				continue
			}
			rates = append(rates, res.rate())
			cpus = append(cpus, res.cpuPerMsg())
			brokers = append(brokers, res.brokerPerMsg())
			if res.pubCPU > 0 {
				pubs = append(pubs, perMsg(res.pubCPU, res.received))
				subs = append(subs, perMsg(res.cpu-res.pubCPU, res.received))
			}
			if r.minRecv < 0 || res.received < r.minRecv {
				r.minRecv = res.received
			}
			r.n = res.n
		}
		if len(rates) == 0 {
			continue
		}
		r.rate, r.cpu, r.broker, r.runs = median(rates), median(cpus), median(brokers), len(rates)
		if len(pubs) > 0 {
			r.pub, r.sub = median(pubs), median(subs)
		}
		rows[p] = r
	}
	if len(rows) == 0 {
		return
	}
	var n int
	for _, r := range rows {
		n = r.n
	}
	fmt.Fprintf(w, "QoS %d: %d messages of %d bytes, one publisher to one subscriber (medians)\n", q, n, payloadSize)
	fmt.Fprintf(w, "  %-18s %10s %11s %18s %16s %5s\n", "peer", "msgs/s", "CPU µs/msg", "broker CPU µs/msg", "received (min)", "runs")
	for _, p := range peers {
		r, ok := rows[p]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "  %-18s %10.0f %11.2f %18.2f %16s %5d\n", p, r.rate, r.cpu, r.broker, fmt.Sprintf("%d/%d", r.minRecv, r.n), r.runs)
	}
	if m, ok := rows["mosquitto-clients"]; ok {
		if pl, ok := rows["plain"]; ok {
			// The harness measures itself if its run of Mosquitto's
			// clients is not that of a plain command line.
			ratio := m.rate / pl.rate
			fmt.Fprintf(w, "  mosquitto-clients beside the same case as a plain command line (plain): %.2f (target 0.85..1.15: %s)\n",
				ratio, verdict(ratio >= 0.85 && ratio <= 1.15))
		}
	}
	fastest, fastestRate := "", 0.0
	for _, p := range peers {
		if r, ok := rows[p]; ok && !strings.HasPrefix(p, "petrel") && p != "plain" && r.rate > fastestRate {
			fastest, fastestRate = p, r.rate
		}
	}
	paho, havePaho := rows["paho"]
	for _, p := range peers {
		r, ok := rows[p]
		if !ok || !strings.HasPrefix(p, "petrel") {
			continue
		}
		if p == "petrel-clients" {
			// The command-line tools against Mosquitto's, run alike.
			if m, ok := rows["mosquitto-clients"]; ok {
				fmt.Fprintf(w, "  petrel-clients/mosquitto-clients: wall %.2f (target <= 1.00: %s), CPU per message %.2f (target <= 1.00: %s)\n",
					m.rate/r.rate, verdict(m.rate/r.rate <= 1), r.cpu/m.cpu, verdict(r.cpu/m.cpu <= 1))
				if m.pub > 0 && m.sub > 0 {
					fmt.Fprintf(w, "    of which: petrel pub/mosquitto_pub CPU %.2f, petrel sub/mosquitto_sub CPU %.2f\n", r.pub/m.pub, r.sub/m.sub)
				}
			}
			continue
		}
		if p == "petrel-serial" {
			// One message in flight against paho's unbounded tokens.
			if havePaho {
				fmt.Fprintf(w, "  %s/paho throughput: %.2f\n", p, r.rate/paho.rate)
			}
			continue
		}
		if fastest != "" {
			ratio := r.rate / fastestRate
			fmt.Fprintf(w, "  %s/fastest peer (%s) throughput: %.2f (target >= %.2f: %s)\n", p, fastest, ratio, targetThroughput, verdict(ratio >= targetThroughput))
		}
		if havePaho {
			ratio := r.cpu / paho.cpu
			fmt.Fprintf(w, "  %s/paho CPU per message: %.2f (target <= %.2f: %s)\n", p, ratio, targetCPU, verdict(ratio <= targetCPU))
		}
	}
	fmt.Fprintln(w)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// brokerVersion reads the version from the broker's first log lines.
func brokerVersion(b *broker) string {
	log := b.log.String()
	if i := strings.Index(log, "mosquitto version "); i >= 0 {
		v := log[i+len("mosquitto version "):]
		if j := strings.IndexAny(v, " \n"); j >= 0 {
			return v[:j]
		}
	}
	return "(version unknown)"
}
