package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// pubFlags are the flags of pub besides the connection flags.
type pubFlags struct {
	message string // -m
	file    string // -f
	stdin   bool   // -s
	lines   bool   // -l
	null    bool   // -n
	retain  bool   // -r
	// maxInflight is -M/--max-inflight: QoS 1 and 2 lines of -l awaiting
	// acknowledgement at once, as mosquitto_pub's -M.
	maxInflight int
	repeat      int           // --repeat: publish the message this many times
	repeatDelay time.Duration // --repeat-delay: between the repeats
	sessionExp  string        // -x: MQTT v5 only, checked and ignored
}

// defaultMaxInflight is -M's default, mosquitto_pub's.
const defaultMaxInflight = 20

// pubFlagSet returns the flag set of pub, which parses into f and p.
func pubFlagSet(f *connFlags, p *pubFlags) *flag.FlagSet {
	fs := newFlagSet("pub", f)
	fs.StringVar(&p.message, "m", "", "")
	fs.StringVar(&p.file, "f", "", "")
	fs.BoolVar(&p.stdin, "s", false, "")
	fs.BoolVar(&p.lines, "l", false, "")
	fs.BoolVar(&p.null, "n", false, "")
	fs.BoolVar(&p.retain, "r", false, "")
	fs.IntVar(&p.maxInflight, "M", defaultMaxInflight, "")
	fs.IntVar(&p.maxInflight, "max-inflight", defaultMaxInflight, "")
	fs.IntVar(&p.repeat, "repeat", 1, "")
	fs.Func("repeat-delay", "", func(v string) error {
		d, err := session.ParseTimeout(v)
		if err != nil {
			return errors.New(trimMQTT(err))
		}
		if d < 0 {
			return errors.New("must not be negative")
		}
		p.repeatDelay = d
		return nil
	})
	fs.StringVar(&p.sessionExp, "x", "", "")
	return fs
}

// runPub runs "petrel pub" with args and returns the exit code.
func runPub(ctx context.Context, e *env, args []string) int {
	var f connFlags
	var p pubFlags
	if err := f.parse(pubFlagSet(&f, &p), args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, pubUsage)
			return exitOK
		}
		return report(e, err)
	}
	if err := pub(ctx, e, &f, &p); err != nil {
		return f.report(e, err)
	}
	return exitOK
}

// pubCheck checks the flags of pub and returns the topic.
func pubCheck(f *connFlags) (string, error) {
	var sources []string
	for _, name := range []string{"m", "f", "s", "l", "n"} {
		if f.set[name] {
			sources = append(sources, "-"+name)
		}
	}
	switch len(sources) {
	case 0:
		return "", usageErr("no message: give -m, -f, -s, -l or -n")
	case 1:
	default:
		return "", usageErr("%s and %s: give one message source only (-m, -f, -s, -l or -n)", sources[0], sources[1])
	}
	switch len(f.topics) {
	case 0:
		return "", usageErr("no topic: give -t, or a topic in the -L URL")
	case 1:
	default:
		if f.broker != nil && f.broker.topic != "" {
			return "", usageErr("-t %q: the topic is given by -L already; pub publishes to one topic", f.topics[1])
		}
		return "", usageErr("-t %q: pub publishes to one topic, and -t %q was given already", f.topics[1], f.topics[0])
	}
	topic := f.topics[0]
	if err := packet.ValidateTopicName(topic); err != nil {
		return "", usageErr("-t %q: %s", topic, trimMQTT(err))
	}
	return topic, nil
}

// pub publishes the message, or each line of stdin with -l.
func pub(ctx context.Context, e *env, f *connFlags, p *pubFlags) error {
	topic, err := pubCheck(f)
	if err != nil {
		return err
	}
	var prog *progress
	if p.lines {
		var stop func()
		e, prog, stop = startProgress(e, f.qos == 0)
		defer stop()
	}
	cfg, err := f.config(ctx, e)
	if err != nil {
		return err
	}
	if err := repeatCheck(f, p); err != nil {
		return err
	}
	if p.maxInflight < 1 || p.maxInflight > 65535 {
		return usageErr("-M %d: the in-flight window must be from 1 to 65535 messages", p.maxInflight)
	}
	cfg.MaxInflight = p.maxInflight
	var payload []byte
	switch {
	case f.set["m"]:
		payload = []byte(p.message)
	case p.file != "":
		if payload, err = os.ReadFile(p.file); err != nil {
			return usageErr("-f: %v", err)
		}
	case p.stdin:
		if payload, err = io.ReadAll(e.stdin); err != nil {
			return usageErr("-s: reading standard input: %v", err)
		}
	}
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

	ctx, cancel := runContext(ctx, f.runTimeout)
	defer cancel()
	if err := connect(ctx, f, log, c); err != nil {
		return err
	}
	msg := session.Message{Topic: topic, QoS: packet.QoS(f.qos), Retain: p.retain}
	losses := w.losses.Load()
	if p.lines {
		err = publishLines(ctx, f, log, c, w, msg, e.stdin, prog)
	} else {
		msg.Payload = payload
		err = publishRepeated(ctx, f, log, c, w, msg, p)
	}
	if err == nil && msg.QoS == packet.QoS0 {
		err = confirmQoS0(ctx, f, c, w, losses, p.lines)
	}
	disconnect(ctx, log, c)
	if n := pending(&cfg); n > 0 && err == nil {
		fmt.Fprintf(e.stderr, "petrel: warning: %d message(s) not yet acknowledged by the broker stay in --store %s, for the next run with -c -i %s\n", n, f.storeDir, cfg.ClientID)
	}
	return err
}

// repeatCheck checks --repeat, --repeat-delay and -x.
func repeatCheck(f *connFlags, p *pubFlags) error {
	if f.set["x"] {
		if err := checkSessionExpiry(p.sessionExp); err != nil {
			return err
		}
	}
	if p.repeat < 1 {
		return usageErr("--repeat %d: the number of times to publish must be 1 or more", p.repeat)
	}
	if (f.set["repeat"] || f.set["repeat-delay"]) && p.lines {
		return usageErr("--repeat and --repeat-delay repeat the message of -m, -f, -s or -n; -l publishes each line once")
	}
	if f.set["repeat-delay"] && p.repeat == 1 {
		return usageErr("--repeat-delay needs --repeat N (N > 1): it is the wait between the repeats")
	}
	return nil
}

// publishRepeated publishes m --repeat times, --repeat-delay apart, each
// once the one before is delivered as its QoS says.
func publishRepeated(ctx context.Context, f *connFlags, log *slog.Logger, c *session.Client, w *watcher, m session.Message, p *pubFlags) error {
	for i := range p.repeat {
		if i > 0 && p.repeatDelay > 0 {
			t := time.NewTimer(p.repeatDelay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return failure(ctx, f, exitOperation, fmt.Errorf("after %d of %d publishes (--repeat): %w", i, p.repeat, ctx.Err()))
			}
		}
		if err := publish(ctx, f, log, c, w, m); err != nil {
			if p.repeat > 1 {
				return withCode(exitOperation, fmt.Errorf("publish %d of %d (--repeat): %w", i+1, p.repeat, err))
			}
			return err
		}
	}
	return nil
}

// publish publishes m, and returns once its QoS says it is delivered.
//
// With reconnection on, it waits through an outage: the client queues m
// until it is connected again. Without -c, the broker forgets the session
// when the connection is lost, so a QoS 1 message whose PUBACK was lost
// with it is published again (at least once allows it); a QoS 2 message is
// not, as that could deliver it twice: it fails, and says to use -c.
func publish(ctx context.Context, f *connFlags, log *slog.Logger, c *session.Client, w *watcher, m session.Message) error {
	for {
		err := c.Publish(ctx, m)
		if err == nil {
			break
		}
		if m.QoS == packet.QoS1 && !f.persistent && w.refused != nil && ctx.Err() == nil && errors.Is(err, session.ErrConnectionLost) {
			log.Debug("petrel: publishing again: the connection was lost before PUBACK", "topic", m.Topic)
			continue
		}
		return publishErr(ctx, f, w, m, err)
	}
	log.Debug("petrel: published", "topic", m.Topic, "qos", int(m.QoS), "retain", m.Retain, "bytes", len(m.Payload))
	return nil
}

// publishErr describes the failure of publishing m, with its exit code: 2
// if reconnection ended for a refusal, 27 or 130 for -W or a signal, 3
// otherwise.
func publishErr(ctx context.Context, f *connFlags, w *watcher, m session.Message, err error) error {
	err = fmt.Errorf("publishing to %q: %w", m.Topic, err)
	if _, ok := errors.AsType[*session.ConnectError](err); ok {
		return withCode(exitConnect, err)
	}
	select {
	case refusal := <-w.refusal():
		return withCode(exitConnect, fmt.Errorf("publishing to %q: %w", m.Topic, refusal))
	default:
	}
	if ctx.Err() != nil && f.storeDir != "" && m.QoS > packet.QoS0 {
		err = failure(ctx, f, exitOperation, err)
		return withCode(exitOperation, fmt.Errorf("%w; the message stays in --store %s, for the next run with -c -i %s", err, f.storeDir, f.clientID))
	}
	if m.QoS == packet.QoS2 && !f.persistent && errors.Is(err, session.ErrConnectionLost) {
		err = fmt.Errorf("%w; without -c the broker forgot the message with the session, so whether it was delivered is unknown (give -c -i id to keep the session across reconnects)", err)
	}
	return failure(ctx, f, exitOperation, err)
}

// confirmTimeout bounds the wait for PINGRESP in confirmQoS0.
const confirmTimeout = 10 * time.Second

// confirmQoS0 makes sure that the broker took the QoS 0 messages: nothing
// acknowledges them, and a broker closes the connection right after one
// it refuses (over its size limit, say), so that a run that only wrote
// them would exit 0 having delivered nothing. PINGRESP says that the
// broker read everything sent before the PINGREQ; a connection lost
// meanwhile (losses counts them) says that it may not have.
func confirmQoS0(ctx context.Context, f *connFlags, c *session.Client, w *watcher, losses int64, lines bool) error {
	pctx, cancel := context.WithTimeout(ctx, confirmTimeout)
	defer cancel()
	err := c.Ping(pctx)
	if ctx.Err() != nil {
		return failure(ctx, f, exitOperation, ctx.Err())
	}
	if err == nil && w.losses.Load() == losses {
		return nil
	}
	what := "the broker closed the connection right after the QoS 0 message: it probably refused it, " +
		"as brokers do with a message over their size limit (message_size_limit, max_packet_size); nothing says it was delivered"
	if lines {
		what = "the connection was lost while publishing at QoS 0: the messages sent just before may be lost " +
			"(a broker closes the connection right after a message over its size limit: message_size_limit, max_packet_size); use -q 1 to know"
	}
	if err != nil && !errors.Is(err, session.ErrConnectionLost) && !errors.Is(err, session.ErrNotConnected) {
		what += " (" + trimMQTT(err) + ")"
	}
	return withCode(exitOperation, errors.New(what))
}

// publishLines publishes each line of r, without its "\n", as mosquitto_pub
// -l does: an empty line is an empty message, and a last line without "\n"
// is sent too. The lines keep their order at every QoS: at QoS 1 and 2 up
// to -M of them await acknowledgement at once, handed over in order
// (session.Client.PublishAsync), and the run fails if any of them does.
//
// Lines are read on a goroutine, so that a signal or -W ends the run while
// r blocks; that goroutine stays blocked in Read until r has more input or
// ends (the process exits soon after anyway). It hands the lines over in
// batches: every complete line read already, up to maxLineBatch, so that
// a stream crosses from one goroutine to the other once per batch, not
// per line, while a line typed alone goes at once.
//
// prog, if not nil, counts the lines read, sent and acknowledged for the
// progress line.
func publishLines(ctx context.Context, f *connFlags, log *slog.Logger, c *session.Client, w *watcher, m session.Message, r io.Reader, prog *progress) error {
	batches := make(chan [][]byte)
	stop := make(chan struct{})
	defer close(stop)
	var readErr error // written before batches is closed
	go func() {
		defer close(batches)
		br := bufio.NewReaderSize(r, 64<<10)
		var batch [][]byte
		for {
			line, err := br.ReadBytes('\n')
			if len(line) > 0 {
				if line[len(line)-1] == '\n' {
					line = line[:len(line)-1]
				}
				prog.lineRead()
				batch = append(batch, line)
			}
			if err == nil && len(batch) < maxLineBatch && lineBuffered(br) {
				continue // the next line is there: read it without waiting
			}
			if len(batch) > 0 {
				select {
				case batches <- batch:
					batch = nil
				case <-stop:
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					readErr = err
				}
				return
			}
		}
	}()
	p := pipeline{f: f, log: log, c: c, w: w, m: m, prog: prog}
	for {
		// The oldest line awaiting its acknowledgement: taken off as soon
		// as it is acknowledged, not only at the next line, so that the
		// progress line counts it while standard input is quiet.
		var oldest <-chan struct{}
		if len(p.pending) > 0 {
			oldest = p.pending[0].ack.Done()
		}
		select {
		case <-oldest:
			if err := p.reap(ctx, false); err != nil {
				return err
			}
		case batch, ok := <-batches:
			if !ok {
				if err := p.drain(ctx); err != nil {
					return err
				}
				if readErr != nil {
					return withCode(exitOperation, fmt.Errorf("-l: reading standard input after %d lines: %w", p.n, readErr))
				}
				return nil
			}
			for _, line := range batch {
				if err := p.publish(ctx, line); err != nil {
					return err
				}
			}
		case err := <-w.refusal():
			return withCode(exitConnect, fmt.Errorf("after %d lines: %w", p.n, err))
		case <-ctx.Done():
			return p.interrupted(ctx)
		}
	}
}

// maxLineBatch bounds the lines publishLines hands over at once.
const maxLineBatch = 256

// lineBuffered reports whether br holds a whole line already, which
// ReadBytes returns without reading.
func lineBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// pipeline publishes the lines of -l in order, QoS 1 and 2 ones up to -M
// awaiting acknowledgement at once.
type pipeline struct {
	f       *connFlags
	log     *slog.Logger
	c       *session.Client
	w       *watcher
	m       session.Message
	n       int        // lines handed over
	pending []inflight // oldest first
	prog    *progress  // nil without a progress line
}

// inflight is a line handed over, awaiting its acknowledgement.
type inflight struct {
	ack     *session.Ack
	payload []byte
}

// publish hands line over, after reaping the acknowledged lines before it.
func (p *pipeline) publish(ctx context.Context, line []byte) error {
	m := p.m
	m.Payload = line
	if m.QoS == packet.QoS0 {
		// Handed to the writer, which writes many lines to a system
		// call while they come faster than the network takes them;
		// confirmQoS0 checks at the end that the broker read them all,
		// as nothing acknowledges them.
		if _, err := p.c.PublishAsync(ctx, m); err != nil {
			return publishErr(ctx, p.f, p.w, m, err)
		}
		p.n++
		p.prog.lineSent()
		return nil
	}
	if err := p.reap(ctx, false); err != nil {
		return err
	}
	a, err := p.c.PublishAsync(ctx, m)
	if err != nil {
		return publishErr(ctx, p.f, p.w, m, err)
	}
	p.n++
	p.prog.lineSent()
	p.pending = append(p.pending, inflight{a, line})
	return nil
}

// reap takes the acknowledged lines off the front of pending, waiting for
// them all if all is set, and fails with the first that failed. Without
// -c a QoS 1 line whose connection was lost before PUBACK is published
// again, as publish does.
func (p *pipeline) reap(ctx context.Context, all bool) error {
	for len(p.pending) > 0 {
		in := p.pending[0]
		if all {
			select {
			case <-in.ack.Done():
			case <-ctx.Done():
				return p.interrupted(ctx)
			}
		} else {
			select {
			case <-in.ack.Done():
			default:
				return nil
			}
		}
		p.pending[0] = inflight{}
		p.pending = p.pending[1:]
		if err := in.ack.Err(); err != nil {
			m := p.m
			m.Payload = in.payload
			if m.QoS == packet.QoS1 && !p.f.persistent && p.w.refused != nil && ctx.Err() == nil && errors.Is(err, session.ErrConnectionLost) {
				if err := publish(ctx, p.f, p.log, p.c, p.w, m); err != nil {
					return err
				}
				p.prog.lineAcked()
				continue
			}
			return publishErr(ctx, p.f, p.w, m, err)
		}
		p.prog.lineAcked()
	}
	return nil
}

// interrupted is the error of a run that ctx ended (-W, a signal): it
// names the oldest line still awaiting its acknowledgement, if any, and
// where it stays (--store).
func (p *pipeline) interrupted(ctx context.Context) error {
	if len(p.pending) == 0 {
		return failure(ctx, p.f, exitOperation, ctx.Err())
	}
	m := p.m
	m.Payload = p.pending[0].payload
	return publishErr(ctx, p.f, p.w, m, ctx.Err())
}

// drain waits for the acknowledgements of the lines still pending.
func (p *pipeline) drain(ctx context.Context) error {
	return p.reap(ctx, true)
}
