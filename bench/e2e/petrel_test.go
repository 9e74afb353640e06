package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// runPetrel drives Petrel, as peer says:
//
//   - petrel: the goroutine pipeline. Publish blocks until the PUBLISH is
//     written (QoS 0), acknowledged (QoS 1) or complete (QoS 2), so the
//     publisher is window goroutines calling Publish: the order is lost.
//   - petrel-ordered: the ordered pipeline, one goroutine calling
//     PublishAsync, window messages in flight in order; it waits for the
//     last Ack, and checks every one as it goes.
//   - petrel-serial: one goroutine calling Publish, one message in flight.
//
// Config.MaxInflight is window. The subscriber counts in its Handler.
func runPetrel(ctx context.Context, b *broker, c benchCase, peer, profileDir string) (result, error) {
	res := result{peer: peer, qos: c.qos, n: c.n, rep: c.rep}
	var pubIO, subIO ioCounts
	cfg := func(role string, io *ioCounts) session.Config {
		cfg := session.Config{
			Address:     "127.0.0.1",
			Port:        b.port,
			ClientID:    "petrel-" + role + "-" + c.id,
			MaxInflight: c.window,
		}
		if *flagIO {
			cfg.Dial = func(ctx context.Context) (net.Conn, error) { return dialCounting(ctx, b.addr(), io) }
		}
		return cfg
	}
	sub, err := session.New(cfg("sub", &subIO))
	if err != nil {
		return res, err
	}
	if _, err := connectLabelled(ctx, "subscriber", sub.Connect); err != nil {
		return res, fmt.Errorf("subscriber: %w", err)
	}
	defer disconnect(ctx, sub)
	cnt := newCounter(c.n)
	h := session.HandlerFunc(func(*session.Message) { cnt.add(1) })
	codes, err := sub.Subscribe(ctx, h, session.Subscription{Filter: c.topic, QoS: packet.QoS(c.qos)})
	if err != nil {
		return res, fmt.Errorf("subscribe: %w", err)
	}
	if codes[0] != packet.SubackCode(c.qos) {
		return res, fmt.Errorf("subscribe: granted %v, want QoS %d", codes[0], c.qos)
	}

	pub, err := session.New(cfg("pub", &pubIO))
	if err != nil {
		return res, err
	}
	if _, err := connectLabelled(ctx, "publisher", pub.Connect); err != nil {
		return res, fmt.Errorf("publisher: %w", err)
	}
	defer disconnect(ctx, pub)

	msg := session.Message{Topic: c.topic, Payload: payload, QoS: packet.QoS(c.qos)}
	pubCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	pubDone := make(chan struct{})

	pubIO.reset()
	subIO.reset()
	broker0 := b.cpu()
	m := startInProcess(profileDir, fmt.Sprintf("%s-qos%d-run%d", peer, c.qos, c.rep+1))
	workers := c.window
	switch peer {
	case "petrel-serial":
		workers = 1
	case "petrel-ordered":
		workers = 0
		wg.Go(func() {
			labelAs("publisher")
			acks := make([]*session.Ack, c.window) // a ring: the oldest is done before its place is needed
			for i := range c.n {
				if a := acks[i%len(acks)]; a != nil {
					if err := a.Wait(pubCtx); err != nil {
						errOnce.Do(func() { firstErr = err; cancel() })
						return
					}
				}
				a, err := pub.PublishAsync(pubCtx, msg)
				if err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
				acks[i%len(acks)] = a
			}
			for _, a := range acks {
				if a == nil {
					continue
				}
				if err := a.Wait(pubCtx); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	for range workers {
		wg.Go(func() {
			labelAs("publisher")
			for next.Add(1) <= int64(c.n) {
				if err := pub.Publish(pubCtx, msg); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(pubDone) }()
	res.elapsed, res.received, err = cnt.await(m.start, pubDone)
	res.gaps = cnt.gaps(m.start, gapMin)
	werr := waitDone(pubDone, runTimeout, "petrel publisher")
	var perr error
	res.cpu, perr = m.stop()
	res.broker = b.cpu() - broker0
	if *flagIO {
		res.io = "publisher " + pubIO.String(c.n) + "; subscriber " + subIO.String(c.n)
	}
	return res, errors.Join(err, werr, firstErr, perr)
}

// disconnect ends c's connection, waiting at most a few seconds for
// outstanding acknowledgements.
func disconnect(ctx context.Context, c *session.Client) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	c.Disconnect(ctx)
}
