package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progressInterval is how often the progress line of pub -l is redrawn.
const progressInterval = time.Second

// progress is the line that pub -l keeps on standard error when it is a
// terminal: lines read, sent and acknowledged (at QoS 1 and 2), and the
// rate of the last interval, overwritten in place with "\r" once a
// second, and cleared at the end. The first one is drawn after a second:
// a short run prints nothing.
//
// It is also the command's standard error meanwhile: whatever else is
// written there (connection lost, debug log) first clears the line, which
// the next tick draws again below it.
type progress struct {
	read, sent, acked atomic.Int64 // counted by the reader goroutine and the publishing loop
	qos0              bool         // QoS 0: nothing is acknowledged

	mu       sync.Mutex // guards the fields below and writes to w
	w        io.Writer
	shown    int // the width of the line on the terminal; 0 if none
	last     time.Time
	lastSent int64
	start    time.Time
}

// newProgress returns the progress of a run that starts at now, drawn on w.
func newProgress(w io.Writer, now time.Time, qos0 bool) *progress {
	return &progress{w: w, start: now, last: now, qos0: qos0}
}

// run draws the line at each tick until stop is closed.
func (g *progress) run(tick <-chan time.Time, stop <-chan struct{}) {
	for {
		select {
		case now := <-tick:
			g.draw(now)
		case <-stop:
			return
		}
	}
}

// draw writes the line for now over the one before.
func (g *progress) draw(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	sent := g.sent.Load()
	rate := 0.0
	if d := now.Sub(g.last); d > 0 {
		rate = float64(sent-g.lastSent) / d.Seconds()
	}
	g.last, g.lastSent = now, sent
	line := g.line(sent, rate, now.Sub(g.start))
	pad := ""
	if n := g.shown - len(line); n > 0 {
		pad = strings.Repeat(" ", n) // the rest of a longer line before
	}
	io.WriteString(g.w, "\r"+line+pad)
	g.shown = len(line)
}

// line formats the progress line, such as
// "petrel pub: 120,000 lines read, 119,500 sent, 119,000 acknowledged, 12,345/s, 9s".
func (g *progress) line(sent int64, rate float64, elapsed time.Duration) string {
	var b strings.Builder
	b.WriteString("petrel pub: " + thousands(g.read.Load()) + " lines read, " + thousands(sent) + " sent")
	if !g.qos0 {
		b.WriteString(", " + thousands(g.acked.Load()) + " acknowledged")
	}
	fmt.Fprintf(&b, ", %s/s, %s", thousands(int64(rate+0.5)), elapsed.Round(time.Second))
	return b.String()
}

// clearLine erases the line, if one is shown. The caller holds mu.
func (g *progress) clearLine() {
	if g.shown > 0 {
		io.WriteString(g.w, "\r"+strings.Repeat(" ", g.shown)+"\r")
		g.shown = 0
	}
}

// Write writes p to standard error below a cleared progress line.
func (g *progress) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.clearLine()
	return g.w.Write(p)
}

// done clears the line for good: the run is over.
func (g *progress) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.clearLine()
}

// The counters, for a nil *progress too (no progress line).
func (g *progress) lineRead() {
	if g != nil {
		g.read.Add(1)
	}
}

func (g *progress) lineSent() {
	if g != nil {
		g.sent.Add(1)
	}
}

func (g *progress) lineAcked() {
	if g != nil {
		g.acked.Add(1)
	}
}

// thousands formats n with commas: 1234567 is "1,234,567".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// startProgress starts the progress line of pub -l on e's standard error,
// if it is a terminal (e.stderrTerminal), and returns e with that line as
// its standard error, the progress (nil if none), and the function that
// stops and clears it.
func startProgress(e *env, qos0 bool) (*env, *progress, func()) {
	if !e.stderrTerminal {
		return e, nil, func() {}
	}
	g := newProgress(e.stderr, time.Now(), qos0)
	t := time.NewTicker(progressInterval)
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		g.run(t.C, stop)
	}()
	e2 := *e
	e2.stderr = g
	return &e2, g, func() {
		t.Stop()
		close(stop)
		<-finished
		g.done()
	}
}
