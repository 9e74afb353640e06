package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
)

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestProgressLine draws the line at injected times and counts: each
// overwrites the one before with "\r", padded over a longer one; another
// write to stderr clears it first; done clears it at the end.
func TestProgressLine(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var out strings.Builder
	g := newProgress(&out, t0, false)
	g.read.Store(120_000)
	g.sent.Store(119_500)
	g.acked.Store(119_000)
	g.draw(t0.Add(time.Second))
	line1 := "petrel pub: 120,000 lines read, 119,500 sent, 119,000 acknowledged, 119,500/s, 1s"
	if got := out.String(); got != "\r"+line1 {
		t.Fatalf("first draw %q, want %q", got, "\r"+line1)
	}

	// Half a second later, 500 more: 1,000/s; a shorter line is padded.
	out.Reset()
	g.sent.Store(120_000)
	g.acked.Store(120_000)
	g.draw(t0.Add(1500 * time.Millisecond))
	line2 := "petrel pub: 120,000 lines read, 120,000 sent, 120,000 acknowledged, 1,000/s, 2s"
	want := "\r" + line2 + strings.Repeat(" ", len(line1)-len(line2))
	if got := out.String(); got != want {
		t.Fatalf("second draw %q, want %q", got, want)
	}

	out.Reset()
	fmt.Fprintf(g, "petrel: connection lost\n")
	blank := "\r" + strings.Repeat(" ", len(line2)) + "\r"
	if got := out.String(); got != blank+"petrel: connection lost\n" {
		t.Fatalf("a message with the line shown: %q", got)
	}
	out.Reset()
	fmt.Fprintf(g, "again\n")
	g.done()
	if got := out.String(); got != "again\n" {
		t.Fatalf("a message and done with no line shown: %q, want the message only", got)
	}

	g.draw(t0.Add(2 * time.Second))
	out.Reset()
	g.done()
	if got := out.String(); !strings.HasPrefix(got, "\r   ") || !strings.HasSuffix(got, " \r") || strings.Trim(got, "\r ") != "" {
		t.Fatalf("done %q, want the line blanked", got)
	}

	// At QoS 0 nothing is acknowledged: the line says sent only.
	q0 := newProgress(io.Discard, t0, true)
	q0.read.Store(5)
	q0.sent.Store(4)
	if got, want := q0.line(4, 3.6, 61*time.Second), "petrel pub: 5 lines read, 4 sent, 4/s, 1m1s"; got != want {
		t.Errorf("QoS 0 line %q, want %q", got, want)
	}
}

// TestProgressRun checks the drawing loop with an injected ticker.
func TestProgressRun(t *testing.T) {
	t0 := time.Now()
	var out syncBuffer
	g := newProgress(&out, t0, false)
	tick := make(chan time.Time)
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		g.run(tick, stop)
	}()
	g.lineRead()
	g.lineSent()
	tick <- t0.Add(time.Second)
	// run prints after taking the tick: wait for the line before
	// acknowledging, or the line may count the acknowledgement.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "1s"); {
		if time.Now().After(deadline) {
			t.Fatalf("no progress line 10 s after the first tick; got %q", out.String())
		}
		time.Sleep(time.Millisecond)
	}
	g.lineAcked()
	tick <- t0.Add(2 * time.Second)
	close(stop)
	<-finished
	want := "\rpetrel pub: 1 lines read, 1 sent, 0 acknowledged, 1/s, 1s" +
		"\rpetrel pub: 1 lines read, 1 sent, 1 acknowledged, 0/s, 2s"
	if got := out.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestProgressPub runs pub -l -q 1 for more than a second with standard
// error taken for a terminal, then not: the line shows up, counts what
// was sent, and is cleared at the end; without a terminal, nothing.
func TestProgressPub(t *testing.T) {
	_, addr := startEmbedded(t, broker.Config{})
	for _, terminal := range []bool{true, false} {
		r, w := io.Pipe()
		var stdout, stderr syncBuffer
		e := &env{stdin: r, stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, stderrTerminal: terminal}
		code := make(chan int, 1)
		go func() {
			code <- run(context.Background(), e, append([]string{"pub", "-l", "-q", "1", "-t", "progress"}, addrFlags(t, addr)...))
		}()
		for i := range 1000 {
			fmt.Fprintf(w, "line %d\n", i)
		}
		time.Sleep(1300 * time.Millisecond)
		fmt.Fprintf(w, "last\n")
		w.Close()
		select {
		case c := <-code:
			if c != exitOK {
				t.Fatalf("pub -l: exit code %d, stderr %q", c, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("pub -l did not end")
		}
		got := stderr.String()
		if !terminal {
			if got != "" {
				t.Errorf("without a terminal, stderr %q, want nothing", got)
			}
			continue
		}
		want := "\rpetrel pub: 1,000 lines read, 1,000 sent, 1,000 acknowledged, "
		if !strings.HasPrefix(got, want) {
			t.Errorf("stderr %q, want it to start with %q", got, want)
		}
		if end := strings.LastIndex(got, "\r"); end < 0 || end != len(got)-1 || strings.Trim(got[strings.LastIndex(got[:end], "\r"):], "\r ") != "" {
			t.Errorf("stderr %q does not end with the line blanked", got)
		}
	}
}
