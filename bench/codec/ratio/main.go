// Command ratio reads the output of the BenchmarkCodec benchmarks (go test
// -bench, any -count) and prints, for each case, the median ns/op of each
// library and Petrel's as a ratio of mochi's and of paho's, marked against
// Petrel's targets:
//
//   - every PUBLISH case (encode and decode): at most 0.67 of mochi's ns/op
//     and at most 0.25 of paho's;
//   - every case: no slower than mochi (at most 1.00).
//
// Usage: go run ./ratio [-strict] results.txt
//
// With -strict it exits with status 1 if a target is missed.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The targets, as ratios of Petrel's median ns/op to the other library's.
const (
	publishVsMochi = 0.67
	publishVsPaho  = 0.25
	anyVsMochi     = 1.00
)

// name matches a benchmark name and captures its case and library; the
// GOMAXPROCS suffix is dropped.
var name = regexp.MustCompile(`^BenchmarkCodec/case=([^/\s]+)/lib=([a-z]+)(?:-\d+)?$`)

type key struct{ cas, lib string }

type samples struct{ ns, bytes, allocs []float64 }

func main() {
	strict := flag.Bool("strict", false, "exit with status 1 if a target is missed")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: ratio [-strict] results.txt")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer f.Close()
	cases, data, err := parse(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(cases) == 0 {
		fmt.Fprintln(os.Stderr, "ratio: no BenchmarkCodec results in", flag.Arg(0))
		os.Exit(1)
	}
	if missed := report(os.Stdout, cases, data); missed > 0 && *strict {
		os.Exit(1)
	}
}

// parse reads benchmark lines and returns the cases in order of first
// appearance with every sample of every case and library.
func parse(r io.Reader) ([]string, map[key]*samples, error) {
	var cases []string
	data := map[key]*samples{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 4 {
			continue
		}
		m := name.FindStringSubmatch(fs[0])
		if m == nil {
			continue
		}
		k := key{m[1], m[2]}
		s := data[k]
		if s == nil {
			s = &samples{}
			data[k] = s
			if !slices.Contains(cases, k.cas) {
				cases = append(cases, k.cas)
			}
		}
		// fs[1] is the iteration count; then value-unit pairs.
		for i := 2; i+1 < len(fs); i += 2 {
			v, err := strconv.ParseFloat(fs[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("ratio: %q: %v", sc.Text(), err)
			}
			switch fs[i+1] {
			case "ns/op":
				s.ns = append(s.ns, v)
			case "B/op":
				s.bytes = append(s.bytes, v)
			case "allocs/op":
				s.allocs = append(s.allocs, v)
			}
		}
	}
	return cases, data, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// report prints the table and returns the number of targets missed.
func report(w io.Writer, cases []string, data map[key]*samples) int {
	med := func(cas, lib string) (ns, allocs float64, ok bool) {
		s := data[key{cas, lib}]
		if s == nil || len(s.ns) == 0 {
			return 0, 0, false
		}
		return median(s.ns), median(s.allocs), true
	}
	fmt.Fprintln(w, "Median ns/op (allocs/op) of each library, and Petrel's ns/op as a ratio of the others'.")
	fmt.Fprintln(w, "Targets: PUBLISH cases <= 0.67 x mochi and <= 0.25 x paho; every case <= 1.00 x mochi.")
	fmt.Fprintln(w)
	row := func(cols ...any) {
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-26s %16s %16s %16s   %-20s %s", cols...), " "))
	}
	row("case", "petrel", "mochi", "paho", "petrel/mochi", "petrel/paho")
	met, missed := 0, 0
	var failures []string
	mark := func(cas, vs string, r, target float64) string {
		if target == 0 {
			return fmt.Sprintf("%.3f", r)
		}
		if r <= target {
			met++
			return fmt.Sprintf("%.3f ok (<=%.2f)", r, target)
		}
		missed++
		failures = append(failures, fmt.Sprintf("%s vs %s: %.3f > %.2f", cas, vs, r, target))
		return fmt.Sprintf("%.3f MISS(>%.2f)", r, target)
	}
	for _, cas := range cases {
		cell := func(lib string) string {
			ns, allocs, ok := med(cas, lib)
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%.1f (%g)", ns, allocs)
		}
		p, _, okP := med(cas, "petrel")
		m, _, okM := med(cas, "mochi")
		h, _, okH := med(cas, "paho")
		vsMochi, vsPaho := "-", "-"
		publish := strings.HasPrefix(cas, "publish")
		if okP && okM && m > 0 {
			target := anyVsMochi
			if publish {
				target = publishVsMochi
			}
			vsMochi = mark(cas, "mochi", p/m, target)
		}
		if okP && okH && h > 0 {
			target := 0.0
			if publish {
				target = publishVsPaho
			}
			vsPaho = mark(cas, "paho", p/h, target)
		}
		row(cas, cell("petrel"), cell("mochi"), cell("paho"), vsMochi, vsPaho)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "targets met: %d of %d\n", met, met+missed)
	for _, f := range failures {
		fmt.Fprintln(w, "MISSED:", f)
	}
	return missed
}
