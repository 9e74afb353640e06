package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/petrel-mqtt/petrel/internal/topictree"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// subFlags are the flags of sub besides the connection flags.
type subFlags struct {
	count          int      // -C: exit after this many messages; 0 means never
	exitSubscribed bool     // -E
	verbose        bool     // -v
	format         string   // -F
	noEOL          bool     // -N
	noRetain       bool     // -R
	filterOut      []string // -T
	unsubscribe    []string // -U
	retainedOnly   bool     // --retained-only
	removeRetained bool     // --remove-retained
	sessionExpiry  string   // -x: MQTT v5 only, checked and ignored
	quiet          bool     // --quiet
	pretty         bool     // --pretty
	randomFilter   float64  // --random-filter, in percent
}

// subFlagSet returns the flag set of sub, which parses into f and s.
func subFlagSet(f *connFlags, s *subFlags) *flag.FlagSet {
	fs := newFlagSet("sub", f)
	fs.IntVar(&s.count, "C", 0, "")
	fs.BoolVar(&s.exitSubscribed, "E", false, "")
	fs.BoolVar(&s.verbose, "v", false, "")
	fs.StringVar(&s.format, "F", "", "")
	fs.BoolVar(&s.noEOL, "N", false, "")
	fs.BoolVar(&s.noRetain, "R", false, "")
	fs.Func("T", "", func(v string) error {
		s.filterOut = append(s.filterOut, v)
		return nil
	})
	fs.Func("U", "", func(v string) error {
		s.unsubscribe = append(s.unsubscribe, v)
		return nil
	})
	fs.BoolVar(&s.retainedOnly, "retained-only", false, "")
	fs.BoolVar(&s.removeRetained, "remove-retained", false, "")
	fs.StringVar(&s.sessionExpiry, "x", "", "")
	fs.BoolVar(&s.pretty, "pretty", false, "")
	fs.Float64Var(&s.randomFilter, "random-filter", 100, "")
	return fs
}

// runSub runs "petrel sub" with args and returns the exit code.
func runSub(ctx context.Context, e *env, args []string) int {
	var f connFlags
	var s subFlags
	if err := f.parse(subFlagSet(&f, &s), args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(e.stdout, subUsage)
			return exitOK
		}
		return report(e, err)
	}
	if err := sub(ctx, e, &f, &s); err != nil {
		return f.report(e, err)
	}
	return exitOK
}

// subCheck checks the flags of sub and returns the subscriptions and the
// -F format, nil without -F.
func subCheck(f *connFlags, s *subFlags) ([]session.Subscription, *format, error) {
	if s.count < 0 {
		return nil, nil, usageErr("-C %d: the count must not be negative", s.count)
	}
	if len(f.topics) == 0 && len(s.unsubscribe) == 0 {
		return nil, nil, usageErr("no topic: give -t (it may be repeated), or a topic in the -L URL; or -U alone to unsubscribe and exit")
	}
	if s.noRetain && s.retainedOnly {
		return nil, nil, usageErr("-R and --retained-only: -R skips the retained messages, --retained-only prints only them; give one")
	}
	if s.randomFilter < 0.1 || s.randomFilter > 100 {
		return nil, nil, usageErr("--random-filter %g: the chance of printing a message must be from 0.1 to 100 (percent)", s.randomFilter)
	}
	if f.set["x"] {
		if err := checkSessionExpiry(s.sessionExpiry); err != nil {
			return nil, nil, err
		}
	}
	var fm *format
	if f.set["F"] {
		var err error
		if fm, err = parseFormat(s.format); err != nil {
			return nil, nil, err
		}
	}
	subs := make([]session.Subscription, len(f.topics))
	for i, t := range f.topics {
		if err := packet.ValidateTopicFilter(t); err != nil {
			return nil, nil, usageErr("-t %q: %s", t, trimMQTT(err))
		}
		subs[i] = session.Subscription{Filter: t, QoS: packet.QoS(f.qos)}
	}
	for _, t := range s.filterOut {
		if err := packet.ValidateTopicFilter(t); err != nil {
			return nil, nil, usageErr("-T %q: %s", t, trimMQTT(err))
		}
	}
	for _, t := range s.unsubscribe {
		if err := packet.ValidateTopicFilter(t); err != nil {
			return nil, nil, usageErr("-U %q: %s", t, trimMQTT(err))
		}
	}
	return subs, fm, nil
}

// checkSessionExpiry checks the value of -x as mosquitto_sub does: 0 to
// 4294967295 seconds, -1 or ∞ for never. It is MQTT v5's session expiry
// interval; in 3.1.1 a session ends with the connection, or never with
// -c, so the value is checked and has no other effect, as with
// mosquitto_sub -V mqttv311.
func checkSessionExpiry(v string) error {
	switch v {
	case "-1", "∞":
		return nil
	}
	if _, err := strconv.ParseUint(v, 10, 32); err != nil {
		return usageErr("-x %q: the session expiry interval is seconds from 0 to 4294967295, or -1 or ∞ for never (MQTT v5 only: in 3.1.1 it has no effect, -c keeps the session)", v)
	}
	return nil
}

// sub subscribes and prints the messages until -C, -E, -W, a signal, or
// the end of the connection. With -U it unsubscribes too, after
// subscribing; with -U alone it unsubscribes and exits.
func sub(ctx context.Context, e *env, f *connFlags, s *subFlags) error {
	subs, fm, err := subCheck(f, s)
	if err != nil {
		return err
	}
	cfg, err := f.config(ctx, e)
	if err != nil {
		return err
	}
	pr := &printer{
		w: e.stdout, errw: e.stderr, verbose: s.verbose, count: s.count, stop: make(chan error, 1),
		format: fm, noEOL: s.noEOL, pretty: s.pretty, quiet: f.quiet, now: time.Now,
		noRetain: s.noRetain, retainedOnly: s.retainedOnly, removeRetained: s.removeRetained,
		filterOut: s.filterOut, chance: int(s.randomFilter * 100),
	}
	// The server may send messages that match none of the filters: before
	// SUBACK, or from the subscriptions of a persistent session (-c).
	// Print those too, as mosquitto_sub does.
	cfg.DefaultHandler = pr
	cfg.DispatchIdle = pr.flush
	log := logger(&cfg)
	w := watch(e, f, log, &cfg)
	closeStore, err := openStore(e, f, log, &cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	c, err := newClient(cfg)
	if err != nil {
		return err
	}
	pr.client = c

	ctx, cancel := runContext(ctx, f.runTimeout)
	defer cancel()
	pr.ctx = ctx
	if err := connect(ctx, f, log, c); err != nil {
		return quiet(ctx, err)
	}
	if len(subs) > 0 {
		err = subscribe(ctx, e, f, log, c, pr, subs)
	}
	if err == nil && len(s.unsubscribe) > 0 {
		err = unsubscribe(ctx, f, log, c, s.unsubscribe)
	}
	if err == nil && !s.exitSubscribed && len(subs) > 0 {
		err = wait(ctx, f, c, w, pr)
	}
	if cerr := pr.cleared(ctx); err == nil {
		err = cerr
	}
	disconnect(ctx, log, c)
	pr.flushLast()
	return quiet(ctx, err)
}

// unsubscribe unsubscribes from filters (-U), subscribing again once
// reconnected if the connection is lost first.
func unsubscribe(ctx context.Context, f *connFlags, log *slog.Logger, c *session.Client, filters []string) error {
	err := c.Unsubscribe(ctx, filters...)
	for !f.noReconnect && (errors.Is(err, session.ErrConnectionLost) || errors.Is(err, session.ErrNotConnected)) {
		log.Debug("petrel: unsubscribing again once reconnected", "error", err)
		if werr := waitConnected(ctx, c); werr != nil {
			err = werr
			break
		}
		err = c.Unsubscribe(ctx, filters...)
	}
	if err != nil {
		return failure(ctx, f, exitOperation, fmt.Errorf("unsubscribing (-U): %w", err))
	}
	log.Debug("petrel: unsubscribed", "filters", filters)
	return nil
}

// quiet drops the error of a run that a signal ended: that is how sub is
// meant to stop.
func quiet(ctx context.Context, err error) error {
	if interrupted(ctx) {
		return nil
	}
	return err
}

// subscribe subscribes pr to subs. If the server refuses some filters, it
// warns and goes on with the others; if it refuses them all, it fails.
//
// If the connection is lost before SUBACK and the client reconnects by
// itself, it subscribes again once reconnected.
func subscribe(ctx context.Context, e *env, f *connFlags, log *slog.Logger, c *session.Client, pr *printer, subs []session.Subscription) error {
	codes, err := c.Subscribe(ctx, pr, subs...)
	for !f.noReconnect && (errors.Is(err, session.ErrConnectionLost) || errors.Is(err, session.ErrNotConnected)) {
		log.Debug("petrel: subscribing again once reconnected", "error", err)
		if werr := waitConnected(ctx, c); werr != nil {
			err = werr
			break
		}
		codes, err = c.Subscribe(ctx, pr, subs...)
	}
	if se, ok := errors.AsType[*session.SubscribeError](err); ok && len(se.Filters) < len(subs) {
		if !f.quiet {
			fmt.Fprintf(e.stderr, "petrel: warning: %s\n", trimMQTT(err))
		}
		err = nil
	}
	if err != nil {
		return failure(ctx, f, exitOperation, fmt.Errorf("subscribing: %w", err))
	}
	for i, code := range codes {
		log.Debug("petrel: subscribed", "filter", subs[i].Filter, "code", code.String())
	}
	return nil
}

// waitConnected waits until c has reconnected, ctx ends, or reconnection
// has given up (the broker refused the client).
func waitConnected(ctx context.Context, c *session.Client) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !c.Connected() {
		if err := c.Err(); errors.Is(err, session.ErrConnectionRefused) {
			return err
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// wait waits until pr has printed its count of messages or failed to
// write, the run ends (-W or a signal), or the connection ends: for good
// with --no-reconnect, else only if the broker refuses to take the client
// back.
func wait(ctx context.Context, f *connFlags, c *session.Client, w *watcher, pr *printer) error {
	var lost <-chan struct{}
	if f.noReconnect {
		lost = c.Done()
	}
	select {
	case err := <-pr.stop:
		if err != nil {
			return withCode(exitOperation, fmt.Errorf("writing a message: %w", err))
		}
		return nil
	case <-ctx.Done():
		return failure(ctx, f, exitOperation, ctx.Err())
	case <-lost:
		return withCode(exitOperation, fmt.Errorf("connection lost: %w", c.Err()))
	case err := <-w.refusal():
		return withCode(exitConnect, err)
	}
}

// printer is the Handler of sub: it prints each message, as "payload\n",
// with -v "topic payload\n", or as -F formats it. It skips what -R, -T and
// --retained-only leave out, in mosquitto_sub's order, and with
// --remove-retained clears each retained message it is given.
//
// Output is written once the client has no message more waiting
// (Config.DispatchIdle calls flush) and flushMin bytes are held, or
// holdOut after that: a pipe sees each message within holdOut of its
// burst, and a stream of small bursts costs a write every few KB, not one
// a burst (each wakes the reader of the pipe, on a machine that the
// broker and the publisher share). A QoS 1 or 2 message is written before
// HandleMessage returns, since the client acknowledges it then.
//
// The client runs it on one goroutine, in arrival order, so its fields need
// no lock, but for clears, and for out, which sub flushes at the end.
type printer struct {
	w, errw        io.Writer
	verbose, noEOL bool
	format         *format // -F; nil means the payload, or -v
	pretty, quiet  bool
	now            func() time.Time
	noRetain       bool            // -R
	retainedOnly   bool            // --retained-only
	removeRetained bool            // --remove-retained
	filterOut      []string        // -T
	chance         int             // --random-filter, in 1/10,000; 10,000 prints all
	count          int             // stop after this many; 0 means never
	client         *session.Client // set before Connect
	ctx            context.Context // the run's, set before Connect
	stop           chan error      // 1-buffered: receives nil at count, or the write error

	n    int
	done bool // stop has been sent: hold back the rest
	last *session.Message

	wmu   sync.Mutex
	out   []byte      // printed, not yet written; wmu
	held  *time.Timer // writes out holdOut after flush held it back; wmu
	armed bool        // held is running; wmu
	werr  error       // the error of held's write, which ends the run; wmu

	mu     sync.Mutex
	clears []clearing // --remove-retained's publishes awaiting PUBACK
}

// clearing is an empty retained message published to clear a topic's.
type clearing struct {
	topic string
	ack   *session.Ack // nil if PublishAsync failed with err
	err   error
}

// HandleMessage prints m. A message that overlapping filters deliver to it
// more than once (the client hands each matching handler the same
// *Message) is printed once.
//
// Once it has printed count messages, failed to write, or (with
// --retained-only) met a message not retained, it holds back the messages
// that follow until the connection ends, so that the client does not
// acknowledge what was not printed: with -c and QoS 1 or 2 the broker
// sends them again next time.
func (p *printer) HandleMessage(m *session.Message) {
	if m == p.last {
		return
	}
	p.last = m
	if p.done {
		<-p.client.Done()
		return
	}
	if p.retainedOnly && !m.Retain {
		p.finish(nil)
		<-p.client.Done()
		return
	}
	if m.Retain && p.noRetain {
		return
	}
	for _, f := range p.filterOut {
		if topictree.Matches(f, m.Topic) {
			return
		}
	}
	if p.removeRetained && m.Retain {
		p.clear(m.Topic)
	}
	if p.chance >= 10000 || rand.IntN(10000) < p.chance {
		if err := p.print(m); err != nil {
			p.finish(err)
			<-p.client.Done()
			return
		}
	}
	p.n++
	if p.n == p.count {
		p.finish(nil)
	}
}

// flushAt is how much output the printer holds before writing it, burst
// or not; flushMin, how much it writes at once when no message waits, and
// holdOut, how long it holds less than that.
const (
	flushAt  = 32 << 10
	flushMin = 4 << 10
	holdOut  = time.Millisecond
)

// print prints m: nothing for what prints as nothing (an empty payload
// without -v or -F, as mosquitto_sub). It writes what is held if m is
// QoS 1 or 2, or if flushAt is reached.
func (p *printer) print(m *session.Message) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.format != nil {
		var now time.Time
		if p.format.needTime {
			now = p.now()
		}
		var jerr error
		p.out, jerr = p.format.appendFormatted(p.out, m, now, p.pretty)
		if !p.noEOL {
			p.out = append(p.out, '\n')
		}
		if jerr != nil && !p.quiet {
			fmt.Fprintf(p.errw, "petrel: -F %%J: the payload on topic %q is not valid JSON: printed without it (use %%j for any payload)\n", m.Topic)
		}
	} else {
		p.out = appendPlain(p.out, m, p.verbose, p.noEOL)
	}
	if m.QoS > 0 || len(p.out) >= flushAt {
		return p.writeOut()
	}
	return nil
}

// writeOut writes what is held; wmu is held.
func (p *printer) writeOut() error {
	if p.werr != nil {
		return p.werr
	}
	if len(p.out) == 0 {
		return nil
	}
	_, err := p.w.Write(p.out)
	p.out = p.out[:0]
	return err
}

// flush writes what is held: the client calls it when no message is left
// waiting (Config.DispatchIdle). A failed write ends the run, as in
// HandleMessage.
func (p *printer) flush() {
	p.wmu.Lock()
	var err error
	switch {
	case len(p.out) >= flushMin || p.werr != nil:
		err = p.writeOut()
	case len(p.out) > 0 && !p.armed:
		p.armed = true
		if p.held == nil {
			p.held = time.AfterFunc(holdOut, p.writeHeld)
		} else {
			p.held.Reset(holdOut)
		}
	}
	p.wmu.Unlock()
	if err != nil && !p.done {
		p.finish(err)
	}
}

// writeHeld writes what flush held back. A failed write ends the run: it
// is told on stop, and the client's goroutine finds it at its next write.
func (p *printer) writeHeld() {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.armed = false
	if err := p.writeOut(); err != nil && p.werr == nil {
		p.werr = err
		select {
		case p.stop <- err:
		default: // ending already
		}
	}
}

// flushLast writes what is held when sub ends, unless the client's
// goroutine is writing: that write is stuck, and waiting for it would hang
// the exit.
func (p *printer) flushLast() {
	if p.wmu.TryLock() {
		p.writeOut()
		p.wmu.Unlock()
	}
}

// finish ends the run: nil at count, else the write error. What is held
// is written first, so that the output is whole when sub exits.
func (p *printer) finish(err error) {
	if err == nil {
		p.wmu.Lock()
		err = p.writeOut()
		p.wmu.Unlock()
	}
	p.done = true
	select {
	case p.stop <- err:
	default: // writeHeld's error is there already
	}
}

// clear publishes an empty retained message to topic at QoS 1, which
// clears the retained message there (--remove-retained), without waiting
// for its PUBACK: cleared waits for them all at the end.
func (p *printer) clear(topic string) {
	a, err := p.client.PublishAsync(p.ctx, session.Message{Topic: topic, QoS: packet.QoS1, Retain: true})
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.clears = append(p.clears, clearing{topic: topic, err: err})
		return
	}
	// Forget those already acknowledged, so that the list stays short.
	i := 0
	for i < len(p.clears) && p.clears[i].ack != nil && isDone(p.clears[i].ack) && p.clears[i].ack.Err() == nil {
		i++
	}
	p.clears = append(p.clears[i:], clearing{topic: topic, ack: a})
}

// isDone reports whether a is complete.
func isDone(a *session.Ack) bool {
	select {
	case <-a.Done():
		return true
	default:
		return false
	}
}

// cleared waits for the PUBACKs of --remove-retained, at most
// disconnectTimeout past the end of ctx, and fails with the first topic
// not cleared.
func (p *printer) cleared(ctx context.Context) error {
	p.mu.Lock()
	clears := p.clears
	p.clears = nil
	p.mu.Unlock()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), disconnectTimeout)
	defer cancel()
	for _, c := range clears {
		err := c.err
		if c.ack != nil {
			err = c.ack.Wait(wctx)
		}
		if err != nil {
			return withCode(exitOperation, fmt.Errorf("--remove-retained: clearing the retained message of %q: %w", c.topic, err))
		}
	}
	return nil
}
