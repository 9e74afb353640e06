package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// runPaho drives paho.mqtt.golang. Publish returns a token at once, so the
// publisher keeps window tokens outstanding: before its next Publish it
// waits on the token of the message window places back. The subscriber
// counts in its callback; paho's default OrderMatters calls it in order,
// on one goroutine, as Petrel does.
func runPaho(ctx context.Context, b *broker, c benchCase, profileDir string) (result, error) {
	res := result{peer: "paho", qos: c.qos, n: c.n, rep: c.rep}
	var pubIO, subIO ioCounts
	opts := func(role string, io *ioCounts) *mqtt.ClientOptions {
		o := mqtt.NewClientOptions().
			AddBroker("tcp://" + b.addr()).
			SetClientID("paho-" + role + "-" + c.id).
			SetCleanSession(true).
			SetAutoReconnect(false).
			SetConnectTimeout(10 * time.Second)
		if *flagIO {
			o.SetCustomOpenConnectionFn(func(*url.URL, mqtt.ClientOptions) (net.Conn, error) {
				return dialCounting(ctx, b.addr(), io)
			})
		}
		return o
	}
	wait := func(t mqtt.Token, what string) error {
		if !t.WaitTimeout(10 * time.Second) {
			return fmt.Errorf("%s: %w", what, errTimeout)
		}
		if err := t.Error(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}

	sub := mqtt.NewClient(opts("sub", &subIO))
	if err := wait(labelled("subscriber", sub.Connect), "subscriber connect"); err != nil {
		return res, err
	}
	defer sub.Disconnect(100)
	cnt := newCounter(c.n)
	if err := wait(sub.Subscribe(c.topic, c.qos, func(mqtt.Client, mqtt.Message) { cnt.add(1) }), "subscribe"); err != nil {
		return res, err
	}
	pub := mqtt.NewClient(opts("pub", &pubIO))
	if err := wait(labelled("publisher", pub.Connect), "publisher connect"); err != nil {
		return res, err
	}
	defer pub.Disconnect(100)

	var pubErr atomic.Pointer[error]
	fail := func(err error) { pubErr.CompareAndSwap(nil, &err) }
	failed := func() bool { return pubErr.Load() != nil }
	pubDone := make(chan struct{})

	pubIO.reset()
	subIO.reset()
	broker0 := b.cpu()
	m := startInProcess(profileDir, fmt.Sprintf("paho-qos%d-run%d", c.qos, c.rep+1))
	if *flagPahoPool {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range c.window {
			wg.Go(func() {
				labelAs("publisher")
				for next.Add(1) <= int64(c.n) && !failed() {
					t := pub.Publish(c.topic, c.qos, false, payload)
					t.Wait()
					if err := t.Error(); err != nil {
						fail(err)
					}
				}
			})
		}
		go func() { wg.Wait(); close(pubDone) }()
	} else {
		go func() {
			defer close(pubDone)
			labelAs("publisher")
			ring := make([]mqtt.Token, c.window)
			for i := 0; i < c.n+c.window; i++ {
				slot := &ring[i%c.window]
				if t := *slot; t != nil {
					t.Wait()
					if err := t.Error(); err != nil {
						fail(err)
						return
					}
					*slot = nil
				}
				if i < c.n && ctx.Err() == nil {
					*slot = pub.Publish(c.topic, c.qos, false, payload)
				}
			}
		}()
	}
	elapsed, received, err := cnt.await(m.start, pubDone)
	res.gaps = cnt.gaps(m.start, gapMin)
	res.elapsed, res.received = elapsed, received
	werr := waitDone(pubDone, runTimeout, "paho publisher")
	var perr error
	res.cpu, perr = m.stop()
	res.broker = b.cpu() - broker0
	if *flagIO {
		res.io = "publisher " + pubIO.String(c.n) + "; subscriber " + subIO.String(c.n)
	}
	var pe error
	if p := pubErr.Load(); p != nil {
		pe = *p
	}
	return res, errors.Join(err, werr, pe, perr)
}
