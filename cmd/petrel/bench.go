package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// exitLost is petrel bench's exit code when messages were lost at QoS 1 or
// 2: acknowledged to a publisher, never received by a subscriber.
const exitLost = 4

// benchFlags are the flags of petrel bench.
type benchFlags struct {
	url, host      string
	port           int
	user, password string
	caFile         string
	insecure       bool

	pubs, subs  int
	qos         int
	size        int
	rate        float64 // messages a second per publisher; 0: as fast as possible
	count       int     // messages per publisher; 0 with -duration: no limit
	duration    time.Duration
	topic       string // publishers' topic pattern
	filter      string // subscribers' filter pattern
	connectRate float64
	inflight    int
	drain       time.Duration
	idPrefix    string
	json, quiet bool
}

func benchFlagSet(f *benchFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("petrel bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&f.url, "L", "", "")
	fs.StringVar(&f.host, "h", "localhost", "")
	fs.IntVar(&f.port, "p", 0, "")
	fs.StringVar(&f.user, "u", "", "")
	fs.StringVar(&f.password, "P", "", "")
	fs.StringVar(&f.caFile, "cafile", "", "")
	fs.BoolVar(&f.insecure, "insecure", false, "")
	fs.IntVar(&f.pubs, "pub", 1, "")
	fs.IntVar(&f.subs, "sub", 1, "")
	fs.IntVar(&f.qos, "q", 0, "")
	fs.IntVar(&f.size, "s", 64, "")
	fs.Float64Var(&f.rate, "rate", 0, "")
	fs.IntVar(&f.count, "n", 0, "")
	fs.Func("duration", "", durationFlag(&f.duration))
	fs.StringVar(&f.topic, "t", "petrel/bench/%i", "")
	fs.StringVar(&f.filter, "filter", "petrel/bench/#", "")
	fs.Float64Var(&f.connectRate, "connect-rate", 0, "")
	fs.IntVar(&f.inflight, "inflight", 0, "")
	f.drain = 5 * time.Second
	fs.Func("drain", "", durationFlag(&f.drain))
	fs.StringVar(&f.idPrefix, "i", "", "")
	fs.BoolVar(&f.json, "json", false, "")
	fs.BoolVar(&f.quiet, "quiet", false, "")
	return fs
}

// check refuses values out of range, naming the flag.
func (f *benchFlags) check() error {
	switch {
	case f.pubs < 0 || f.subs < 0 || f.pubs+f.subs == 0:
		return usageErr("-pub %d -sub %d: at least one client, none negative", f.pubs, f.subs)
	case f.qos < 0 || f.qos > 2:
		return usageErr("-q %d: the QoS must be 0, 1 or 2", f.qos)
	case f.size < benchHeader || f.size > 256<<20:
		return usageErr("-s %d: the payload carries a %d-byte header (run, publisher, sequence, time): from %d to %d bytes", f.size, benchHeader, benchHeader, 256<<20)
	case f.rate < 0 || f.connectRate < 0:
		return usageErr("-rate and -connect-rate must not be negative (0: as fast as possible)")
	case f.count < 0:
		return usageErr("-n %d: must not be negative", f.count)
	case f.inflight < 0 || f.inflight > 65535:
		return usageErr("-inflight %d: from 1 to 65535 (0: the default, %d)", f.inflight, session.DefaultMaxInflight)
	case f.topic == "" || strings.ContainsAny(f.topic, "+#"):
		return usageErr("-t %q: a topic name, without wildcards", f.topic)
	case f.filter == "":
		return usageErr("-filter: empty")
	}
	if f.count == 0 && f.duration == 0 {
		f.count = 1000
	}
	return nil
}

// expand replaces %i in pattern with the client's index and %c with its
// client id.
func expand(pattern string, i int, id string) string {
	return strings.NewReplacer("%i", strconv.Itoa(i), "%c", id, "%%", "%").Replace(pattern)
}

// baseConfig is the session.Config every bench client starts from.
func (f *benchFlags) baseConfig() (session.Config, error) {
	var cfg session.Config
	if f.url != "" {
		c, err := session.ParseURL(f.url)
		if err != nil {
			return cfg, usageErr("-L %q: %s", f.url, trimMQTT(err))
		}
		cfg = c
	} else {
		cfg.Address, cfg.Port = f.host, f.port
	}
	if f.user != "" {
		cfg.User, cfg.UserPassword = f.user, f.password
	}
	if f.caFile != "" || f.insecure {
		tc := &tls.Config{InsecureSkipVerify: f.insecure}
		if f.caFile != "" {
			pem, err := os.ReadFile(f.caFile)
			if err != nil {
				return cfg, usageErr("-cafile: %v", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return cfg, usageErr("-cafile %s: no PEM certificate in it", f.caFile)
			}
		}
		cfg.TLSConfig = tc
		if cfg.Option == 0 && !strings.HasPrefix(cfg.Address, "wss://") {
			cfg.Option = session.TLS
		}
	}
	cfg.MaxInflight = f.inflight
	cfg.Reconnect = nil // a client whose connection ends is reported, not revived
	return cfg, nil
}

// runBench runs petrel bench.
func runBench(ctx context.Context, e *env, args []string) int {
	var f benchFlags
	fs := benchFlagSet(&f)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(e.stdout, benchUsage)
			return exitOK
		}
		return report(e, usageErr("%v", err))
	}
	if fs.NArg() > 0 {
		return report(e, usageErr("unexpected argument %q: every value goes with a flag", fs.Arg(0)))
	}
	if err := f.check(); err != nil {
		return report(e, err)
	}
	cfg, err := f.baseConfig()
	if err != nil {
		return report(e, err)
	}
	b := &bench{f: &f, e: e, cfg: cfg}
	res, err := b.run(ctx)
	if err != nil {
		return report(e, err)
	}
	if f.json {
		res.writeJSON(e.stdout)
	} else {
		res.writeText(e.stdout)
	}
	switch {
	case res.Lost > 0 && f.qos > 0:
		fmt.Fprintf(e.stderr, "petrel bench: %d messages lost at QoS %d\n", res.Lost, f.qos)
		return exitLost
	case res.Errors > 0:
		fmt.Fprintf(e.stderr, "petrel bench: %d clients failed\n", res.Errors)
		return exitOperation
	}
	return exitOK
}

// bench is one run of petrel bench.
type bench struct {
	f     *benchFlags
	e     *env
	cfg   session.Config
	runID uint32
	pubs  []*benchPub
	subs  []*benchSub
	pcs   []*session.Client // by publisher
	scs   []*session.Client // by subscriber
}

// connectAll connects n clients made by mk, 32 at a time, at most
// -connect-rate a second, and calls ready for each once connected. It
// returns the first error; then it starts no more.
func (b *bench) connectAll(ctx context.Context, n int, mk func(i int) (*session.Client, error), ready func(ctx context.Context, i int, c *session.Client) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var tick <-chan time.Time
	if b.f.connectRate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / b.f.connectRate))
		defer t.Stop()
		tick = t.C
	}
	var (
		wg   sync.WaitGroup
		once sync.Once
		ferr error
		sem  = make(chan struct{}, 32)
	)
	fail := func(err error) {
		once.Do(func() { ferr = err })
		cancel(err)
	}
	for i := range n {
		if tick != nil && i > 0 {
			select {
			case <-tick:
			case <-ctx.Done():
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := mk(i)
			if err != nil {
				fail(withCode(exitUsage, err))
				return
			}
			if _, err := c.Connect(ctx); err != nil {
				fail(withCode(exitConnect, err))
				return
			}
			if err := ready(ctx, i, c); err != nil {
				fail(err)
			}
		})
	}
	wg.Wait()
	if ferr == nil && ctx.Err() != nil {
		ferr = withCode(exitInterrupted, errors.New("interrupted while connecting"))
	}
	return ferr
}

func (b *bench) run(ctx context.Context) (*benchResult, error) {
	f := b.f
	var r [4]byte
	rand.Read(r[:])
	b.runID = binary.BigEndian.Uint32(r[:])
	if f.idPrefix == "" {
		f.idPrefix = fmt.Sprintf("petrel-bench-%d", os.Getpid())
	}
	b.pubs = make([]*benchPub, f.pubs)
	b.pcs = make([]*session.Client, f.pubs)
	for i := range b.pubs {
		id := fmt.Sprintf("%s-pub-%d", f.idPrefix, i)
		b.pubs[i] = &benchPub{id: id, topic: expand(f.topic, i, id)}
		if err := packet.ValidateTopicName(b.pubs[i].topic); err != nil {
			return nil, usageErr("-t %q: %s", b.pubs[i].topic, trimMQTT(err))
		}
	}
	b.subs = make([]*benchSub, f.subs)
	b.scs = make([]*session.Client, f.subs)
	for i := range b.subs {
		id := fmt.Sprintf("%s-sub-%d", f.idPrefix, i)
		b.subs[i] = &benchSub{id: id, filter: expand(f.filter, i, id), run: b.runID, streams: make([]benchStream, f.pubs)}
	}
	defer b.disconnect()

	// Subscribers first, so that they are there for the first message.
	err := b.connectAll(ctx, f.subs, func(i int) (*session.Client, error) {
		cfg := b.cfg
		cfg.ClientID = b.subs[i].id
		c, err := session.New(cfg)
		b.scs[i] = c
		return c, err
	}, func(ctx context.Context, i int, c *session.Client) error {
		s := b.subs[i]
		h := session.HandlerFunc(func(m *session.Message) { s.receive(m.Payload, time.Now()) })
		codes, err := c.Subscribe(ctx, h, session.Subscription{Filter: s.filter, QoS: packet.QoS(f.qos)})
		if err != nil {
			return withCode(exitOperation, fmt.Errorf("%s: subscribe %q: %w", s.id, s.filter, err))
		}
		if codes[0] == packet.Failure {
			return withCode(exitOperation, fmt.Errorf("%s: subscribe %q: refused by the broker", s.id, s.filter))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = b.connectAll(ctx, f.pubs, func(i int) (*session.Client, error) {
		cfg := b.cfg
		cfg.ClientID = b.pubs[i].id
		c, err := session.New(cfg)
		b.pcs[i] = c
		return c, err
	}, func(context.Context, int, *session.Client) error { return nil })
	if err != nil {
		return nil, err
	}

	start := time.Now()
	stopProgress := b.progress(start)
	var wg sync.WaitGroup
	pctx := ctx
	if f.duration > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	for i := range b.pubs {
		wg.Go(func() { b.publish(pctx, i) })
	}
	wg.Wait()
	sentEnd := time.Now()
	b.wait(ctx)
	stopProgress()
	return b.result(start, sentEnd), nil
}

// publish runs publisher i until its count is sent, or ctx ends.
func (b *bench) publish(ctx context.Context, i int) {
	f, p, c := b.f, b.pubs[i], b.pcs[i]
	payload := make([]byte, f.size)
	for j := benchHeader; j < len(payload); j++ {
		payload[j] = byte('a' + j%26)
	}
	type pending struct {
		seq uint64
		ack *session.Ack
	}
	var acks []pending
	settle := func(all bool) {
		for len(acks) > 0 {
			a := acks[0]
			if !all {
				select {
				case <-a.ack.Done():
				default:
					return
				}
			}
			if err := a.ack.Wait(context.Background()); err != nil {
				p.fail++
				if p.err == nil {
					p.err = err
				}
			} else {
				p.acked.set(a.seq)
				p.nack++
			}
			acks = acks[1:]
		}
	}
	start := time.Now()
	var interval time.Duration
	if f.rate > 0 {
		interval = time.Duration(float64(time.Second) / f.rate)
	}
	for seq := uint64(0); f.count == 0 || seq < uint64(f.count); seq++ {
		if interval > 0 {
			if d := time.Until(start.Add(time.Duration(seq) * interval)); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
				}
			}
		}
		if ctx.Err() != nil {
			break
		}
		putHeader(payload, b.runID, uint32(i), seq, time.Now())
		a, err := c.PublishAsync(ctx, session.Message{Topic: p.topic, Payload: payload, QoS: packet.QoS(f.qos)})
		if err != nil {
			if ctx.Err() == nil {
				p.fail++
				p.err = err
			}
			break
		}
		p.sent.Add(1)
		if f.qos > 0 {
			acks = append(acks, pending{seq, a})
			settle(false)
		} else {
			p.acked.set(seq)
			p.nack++
		}
	}
	settle(true)
}
