// Package prom writes metrics in Prometheus's text exposition format,
// version 0.0.4 (https://prometheus.io/docs/instrumenting/exposition_formats/),
// by hand: a family is a "# HELP" and a "# TYPE" line followed by its
// samples. It has no registry and keeps no state between scrapes: the
// caller reads its counters and writes them, in the order it chooses.
//
// A Writer is not safe for concurrent use.
package prom

import (
	"bufio"
	"io"
	"math"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
)

// ContentType is the Content-Type of the text format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Writer writes metric families to an io.Writer. The first write error is
// kept and returned by Flush; later writes do nothing.
type Writer struct {
	w   *bufio.Writer
	buf []byte
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w)}
}

// Flush writes what is buffered and returns the first error met.
func (w *Writer) Flush() error { return w.w.Flush() }

// Family starts the family name of type typ ("counter", "gauge") with its
// help text. The samples that follow must be of this family.
func (w *Writer) Family(name, typ, help string) {
	b := append(w.buf[:0], "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = appendEscaped(b, help, false)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	b = append(b, '\n')
	w.buf = b
	w.w.Write(b)
}

// Sample writes one sample of name with value v and labels, given as name
// and value pairs.
func (w *Writer) Sample(name string, v float64, labels ...string) {
	b := append(w.buf[:0], name...)
	if len(labels) > 0 {
		b = append(b, '{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, labels[i]...)
			b = append(b, `="`...)
			b = appendEscaped(b, labels[i+1], true)
			b = append(b, '"')
		}
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = appendValue(b, v)
	b = append(b, '\n')
	w.buf = b
	w.w.Write(b)
}

// Counter writes a counter family of one sample without labels. Its name
// should end in "_total".
func (w *Writer) Counter(name, help string, v uint64) {
	w.Family(name, "counter", help)
	w.Sample(name, float64(v))
}

// Gauge writes a gauge family of one sample without labels.
func (w *Writer) Gauge(name, help string, v float64) {
	w.Family(name, "gauge", help)
	w.Sample(name, v)
}

// appendValue appends v as the format writes it: an integer without
// exponent when it is one, "+Inf", "-Inf" and "NaN" as named.
func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1<<53:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendEscaped appends s with '\\' and '\n' escaped, and '"' too in a
// label value.
func appendEscaped(b []byte, s string, label bool) []byte {
	if !strings.ContainsAny(s, "\\\n\"") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && label:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// goMetrics are the runtime/metrics samples that Runtime writes, under the
// names the Prometheus Go client gives the same figures, so that existing
// dashboards read them.
var goMetrics = []struct {
	key, name, typ, help string
}{
	{"/sched/goroutines:goroutines", "go_goroutines", "gauge", "Number of goroutines that currently exist."},
	{"/sched/gomaxprocs:threads", "go_sched_gomaxprocs_threads", "gauge", "The current runtime.GOMAXPROCS setting."},
	{"/memory/classes/heap/objects:bytes", "go_memstats_heap_alloc_bytes", "gauge", "Number of heap bytes allocated and currently in use."},
	{"/gc/heap/objects:objects", "go_memstats_heap_objects", "gauge", "Number of currently allocated objects."},
	{"/gc/heap/allocs:bytes", "go_memstats_alloc_bytes_total", "counter", "Total number of bytes allocated on the heap, even if freed."},
	{"/gc/heap/goal:bytes", "go_memstats_next_gc_bytes", "gauge", "Heap size target for the end of the GC cycle."},
	{"/memory/classes/total:bytes", "go_memstats_sys_bytes", "gauge", "Number of bytes mapped by the Go runtime from the OS."},
	{"/gc/cycles/total:gc-cycles", "go_gc_cycles_total", "counter", "Number of completed GC cycles."},
	{"/cpu/classes/gc/total:cpu-seconds", "go_gc_cpu_seconds_total", "counter", "Estimated CPU time spent by the garbage collector (runtime/metrics /cpu/classes/gc/total)."},
}

// Runtime writes the Go runtime's basics: goroutines, heap, GC, and
// go_info with the Go version. It reads runtime/metrics, which does not
// stop the world.
func (w *Writer) Runtime() {
	samples := make([]metrics.Sample, len(goMetrics))
	for i, m := range goMetrics {
		samples[i].Name = m.key
	}
	metrics.Read(samples)
	for i, m := range goMetrics {
		var v float64
		switch s := samples[i].Value; s.Kind() {
		case metrics.KindUint64:
			v = float64(s.Uint64())
		case metrics.KindFloat64:
			v = s.Float64()
		default:
			continue // not supported by this Go: left out
		}
		w.Family(m.name, m.typ, m.help)
		w.Sample(m.name, v)
	}
	w.Family("go_info", "gauge", "Information about the Go environment.")
	w.Sample("go_info", 1, "version", runtime.Version())
}
