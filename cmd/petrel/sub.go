package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// subFlags are the flags of sub besides the connection flags.
type subFlags struct {
	count          int  // -C: exit after this many messages; 0 means never
	exitSubscribed bool // -E
	verbose        bool // -v
}

// subFlagSet returns the flag set of sub, which parses into f and s.
func subFlagSet(f *connFlags, s *subFlags) *flag.FlagSet {
	fs := newFlagSet("sub", f)
	fs.IntVar(&s.count, "C", 0, "")
	fs.BoolVar(&s.exitSubscribed, "E", false, "")
	fs.BoolVar(&s.verbose, "v", false, "")
	return fs
}

// runSub runs "petrel sub" with args and returns the exit code.
func runSub(ctx context.Context, e *env, args []string) int {
	var f connFlags
	var s subFlags
	if err := f.parse(subFlagSet(&f, &s), args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, subUsage)
			return exitOK
		}
		return report(e, err)
	}
	if err := sub(ctx, e, &f, &s); err != nil {
		return report(e, err)
	}
	return exitOK
}

// subCheck checks the flags of sub and returns the subscriptions.
func subCheck(f *connFlags, s *subFlags) ([]session.Subscription, error) {
	if s.count < 0 {
		return nil, usageErr("-C %d: the count must not be negative", s.count)
	}
	if len(f.topics) == 0 {
		return nil, usageErr("no topic: give -t (it may be repeated), or a topic in the -L URL")
	}
	subs := make([]session.Subscription, len(f.topics))
	for i, t := range f.topics {
		if err := packet.ValidateTopicFilter(t); err != nil {
			return nil, usageErr("-t %q: %s", t, trimMQTT(err))
		}
		subs[i] = session.Subscription{Filter: t, QoS: packet.QoS(f.qos)}
	}
	return subs, nil
}

// sub subscribes and prints the messages until -C, -E, -W, a signal, or
// the end of the connection.
func sub(ctx context.Context, e *env, f *connFlags, s *subFlags) error {
	subs, err := subCheck(f, s)
	if err != nil {
		return err
	}
	cfg, err := f.config(ctx, e)
	if err != nil {
		return err
	}
	pr := &printer{w: e.stdout, verbose: s.verbose, count: s.count, stop: make(chan error, 1)}
	// The server may send messages that match none of the filters: before
	// SUBACK, or from the subscriptions of a persistent session (-c).
	// Print those too, as mosquitto_sub does.
	cfg.DefaultHandler = pr
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
	if err := connect(ctx, f, log, c); err != nil {
		return quiet(ctx, err)
	}
	err = subscribe(ctx, e, f, log, c, pr, subs)
	if err == nil && !s.exitSubscribed {
		err = wait(ctx, f, c, w, pr)
	}
	disconnect(ctx, log, c)
	return quiet(ctx, err)
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
		fmt.Fprintf(e.stderr, "petrel: warning: %s\n", trimMQTT(err))
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

// printer is the Handler of sub: it writes each message, as "payload\n" or
// with -v "topic payload\n", in one Write, so that a pipe sees each message
// as it arrives.
//
// The client runs it on one goroutine, in arrival order, so its fields need
// no lock.
type printer struct {
	w       io.Writer
	verbose bool
	count   int             // stop after this many; 0 means never
	client  *session.Client // set before Connect
	stop    chan error      // 1-buffered: receives nil at count, or the write error

	n      int
	failed bool
	last   *session.Message
	buf    []byte
}

// HandleMessage prints m. A message that overlapping filters deliver to it
// more than once (the client hands each matching handler the same
// *Message) is printed once.
//
// Once it has printed count messages, or failed to write, it holds back the
// messages that follow until the connection ends, so that the client does
// not acknowledge what was not printed: with -c and QoS 1 or 2 the broker
// sends them again next time.
func (p *printer) HandleMessage(m *session.Message) {
	if m == p.last {
		return
	}
	p.last = m
	if p.failed || p.count > 0 && p.n >= p.count {
		<-p.client.Done()
		return
	}
	p.buf = p.buf[:0]
	if p.verbose {
		p.buf = append(p.buf, m.Topic...)
		p.buf = append(p.buf, ' ')
	}
	p.buf = append(p.buf, m.Payload...)
	p.buf = append(p.buf, '\n')
	if _, err := p.w.Write(p.buf); err != nil {
		p.failed = true
		p.stop <- err
		<-p.client.Done()
		return
	}
	p.n++
	if p.n == p.count {
		p.stop <- nil
	}
}
