package prom

import (
	"math"
	"strings"
	"testing"
)

func TestWriter(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	w.Family("a_total", "counter", "Help with \\ and\nnewline \"quoted\".")
	w.Sample("a_total", 3, "l", "x\\y\n\"z\"", "m", "")
	w.Sample("a_total", 1<<60)
	w.Gauge("b", "B.", 0.25)
	w.Gauge("c", "C.", math.Inf(1))
	w.Gauge("d", "D.", math.NaN())
	w.Counter("e_total", "E.", 7)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `# HELP a_total Help with \\ and\nnewline "quoted".
# TYPE a_total counter
a_total{l="x\\y\n\"z\"",m=""} 3
a_total 1.152921504606847e+18
# HELP b B.
# TYPE b gauge
b 0.25
# HELP c C.
# TYPE c gauge
c +Inf
# HELP d D.
# TYPE d gauge
d NaN
# HELP e_total E.
# TYPE e_total counter
e_total 7
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRuntime(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b)
	w.Runtime()
	w.Flush()
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_cycles_total", "go_info"} {
		if !strings.Contains(b.String(), "\n# TYPE "+name+" ") {
			t.Errorf("no %s in\n%s", name, b.String())
		}
	}
}
