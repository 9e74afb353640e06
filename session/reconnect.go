package session

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// Defaults of the zero Reconnect.
const (
	DefaultReconnectMinDelay    = 100 * time.Millisecond
	DefaultReconnectMaxDelay    = 30 * time.Second
	DefaultReconnectStableAfter = 10 * time.Second
	DefaultQueueMessages        = 1000
	DefaultQueueBytes           = 16 << 20
)

// ErrQueueFull: Publish found the offline queue full and
// Reconnect.FailWhenFull is set.
var ErrQueueFull = errors.New("mqtt: offline queue full")

// Reconnect configures automatic reconnection. Its zero value reconnects
// with the documented defaults.
//
// Once Connect has succeeded, a lost connection (an error, a cut, a
// keepalive timeout) is re-established in the background: after a delay
// that doubles from MinDelay up to MaxDelay with each attempt that fails
// (refused or cut before CONNACK, or accepted but lost before anything
// came from the server), jittered by up to half so that many clients do
// not reconnect in step. A connection that made progress (an
// acknowledgement or a message came on it) or stayed up for StableAfter
// was a success: the delay starts again from MinDelay, so that a link that
// drops often but carries traffic in between keeps up with it. After a
// connection accepted but lost before any progress the delay grows too,
// but the first attempt waits at most a second (or MinDelay, if longer):
// the broker was up. Each attempt tries the next address: Config.Address,
// then Addresses, in turn.
//
// A CONNACK that refuses the client for its configuration (unacceptable
// protocol version, identifier rejected, bad user name or password, not
// authorized) ends reconnection at once: trying again would not help. The
// refusal is passed to OnConnectionLost, returned by Err, and returned to
// every Publish waiting for the connection. A refusal for "server
// unavailable" is retried.
//
// With PersistentSession, the session goes on across reconnections:
// unacknowledged QoS 1 and QoS 2 messages are sent again, with DUP set,
// and PUBRELs for QoS 2 messages that had their PUBREC, in their original
// order [MQTT-4.4.0-1]; a Publish waiting for its acknowledgement keeps
// waiting. Without PersistentSession, the server forgets the session: a
// QoS 1 message sent on the lost connection and not acknowledged is sent
// again on the next one, in its place among the messages queued meanwhile,
// so the order of PublishAsync holds (QoS 1 allows the duplicate); a
// Publish of a QoS 2 message sent on the lost connection returns an error
// matching ErrConnectionLost, as sending it again could deliver it twice. When the server reports that it holds no
// session (Session Present 0), the client subscribes again to every
// filter it holds.
//
// While the client is reconnecting, Publish queues QoS 1 and QoS 2
// messages, and QoS 0 messages if QueueQoS0 is set (otherwise it fails
// with ErrNotConnected: never a silent drop). The queue holds at most
// QueueMessages messages and QueueBytes bytes of encoded packets; when it
// is full, Publish waits for room until its context ends, or fails at once
// with ErrQueueFull if FailWhenFull is set.
type Reconnect struct {
	// MinDelay is the delay before the first attempt; zero means
	// DefaultReconnectMinDelay.
	MinDelay time.Duration
	// MaxDelay bounds the delay between attempts; zero means
	// DefaultReconnectMaxDelay.
	MaxDelay time.Duration
	// StableAfter is how long a connection that made no progress must
	// last for the delay to start again from MinDelay; zero means
	// DefaultReconnectStableAfter.
	StableAfter time.Duration
	// Addresses are more brokers, tried in turn after Config.Address
	// (each a host, host:port or URL, with Config's Port and Option as
	// defaults): the nodes of a cluster behind several names.
	Addresses []string

	// QueueMessages and QueueBytes bound the messages Publish queues while
	// there is no connection. Zero means DefaultQueueMessages and
	// DefaultQueueBytes.
	QueueMessages int
	QueueBytes    int
	// QueueQoS0 makes Publish queue QoS 0 messages too while there is no
	// connection, instead of failing with ErrNotConnected.
	QueueQoS0 bool
	// FailWhenFull makes Publish fail with ErrQueueFull when the queue is
	// full, instead of waiting for room.
	FailWhenFull bool

	// OnConnect, if not nil, is called after each automatic reconnection,
	// with the CONNACK's Session Present. OnConnectionLost, if not nil, is
	// called when a connection is lost, with why, and when reconnection
	// ends for a refusal, with the refusal. Both run on the client's
	// reconnecting goroutine: they must not block for long, nor call
	// Connect or Disconnect.
	OnConnect        func(sessionPresent bool)
	OnConnectionLost func(err error)
}

func (r Reconnect) withDefaults() Reconnect {
	if r.MinDelay == 0 {
		r.MinDelay = DefaultReconnectMinDelay
	}
	if r.MaxDelay == 0 {
		r.MaxDelay = max(DefaultReconnectMaxDelay, r.MinDelay)
	}
	if r.StableAfter == 0 {
		r.StableAfter = DefaultReconnectStableAfter
	}
	if r.QueueMessages == 0 {
		r.QueueMessages = DefaultQueueMessages
	}
	if r.QueueBytes == 0 {
		r.QueueBytes = DefaultQueueBytes
	}
	r.Addresses = append([]string(nil), r.Addresses...)
	return r
}

func (r *Reconnect) validate() error {
	switch {
	case r.MinDelay < 0:
		return &ConfigError{Field: "Reconnect.MinDelay", Reason: "must not be negative"}
	case r.MaxDelay < r.MinDelay:
		return &ConfigError{Field: "Reconnect.MaxDelay", Reason: r.MaxDelay.String() + " is less than MinDelay (" + r.MinDelay.String() + ")"}
	case r.StableAfter < 0:
		return &ConfigError{Field: "Reconnect.StableAfter", Reason: "must not be negative"}
	case r.QueueMessages < 0:
		return &ConfigError{Field: "Reconnect.QueueMessages", Reason: strconv.Itoa(r.QueueMessages) + " is negative"}
	case r.QueueBytes < 0:
		return &ConfigError{Field: "Reconnect.QueueBytes", Reason: strconv.Itoa(r.QueueBytes) + " is negative"}
	}
	for i, a := range r.Addresses {
		if a == "" {
			return &ConfigError{Field: "Reconnect.Addresses[" + strconv.Itoa(i) + "]", Reason: "is empty"}
		}
	}
	return nil
}

// delay returns the delay before attempt n (from 0): MinDelay doubled n
// times, at most MaxDelay, less a random part of up to half of it.
func (r *Reconnect) delay(n int, rnd *rand.Rand) time.Duration {
	d := r.MaxDelay
	if n < 62 && r.MinDelay<<n > 0 && r.MinDelay<<n < r.MaxDelay {
		d = r.MinDelay << n
	}
	if d <= 1 {
		return d
	}
	return d - time.Duration(rnd.Int64N(int64(d/2)+1))
}

// acceptedMaxDelay bounds the delay after a connection that was accepted
// but lost before any progress: the broker is up, and on a link cut more
// often than a round trip under load, a delay grown to MaxDelay would stall
// the client for good. libmosquitto waits a second so.
const acceptedMaxDelay = time.Second

// permanent reports whether err, a failed attempt to connect, is a refusal
// for the client's configuration, which no retry would change.
func permanent(err error) bool {
	ce, ok := errors.AsType[*ConnectError](err)
	if !ok {
		return false
	}
	switch ce.Code {
	case packet.RefusedProtocolVersion, packet.RefusedIdentifierRejected,
		packet.RefusedBadUserNameOrPassword, packet.RefusedNotAuthorized:
		return true
	}
	return false
}

// supervisor reconnects a Client whose connection was lost, from Connect
// until Disconnect.
type supervisor struct {
	ctx    context.Context // ended by Disconnect
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	rnd    *rand.Rand
}

func (c *Client) startSupervisor(cn *conn) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &supervisor{ctx: ctx, cancel: cancel, done: make(chan struct{}),
		rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	c.mu.Lock()
	c.sup = s
	c.fatal = nil
	c.mu.Unlock()
	go func() {
		defer close(s.done)
		c.supervise(s, cn)
	}()
}

// stopSupervisor ends automatic reconnection and waits, until ctx ends,
// for the supervisor to return. Publish calls waiting for a connection
// fail with err.
func (c *Client) stopSupervisor(ctx context.Context, err error) error {
	c.mu.Lock()
	s := c.sup
	c.sup = nil
	c.mu.Unlock()
	if s == nil {
		return nil
	}
	s.cancel()
	select {
	case <-s.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.failWaiters(err)
	return nil
}

// supervise watches cn and each connection after it, reconnecting when
// one is lost, until s.ctx ends or a refusal makes retrying pointless.
func (c *Client) supervise(s *supervisor, cn *conn) {
	r := c.cfg.Reconnect
	attempt := 0
	for {
		up := time.Now()
		select {
		case <-cn.done:
		case <-s.ctx.Done():
			return
		}
		cause := cn.cause()
		if errors.Is(cause, ErrDisconnected) {
			return
		}
		if r.OnConnectionLost != nil {
			r.OnConnectionLost(cause)
		}
		if cn.progress.Load() || time.Since(up) >= r.StableAfter {
			attempt = 0
		}
		accepted := true // cn was: the broker is up, the link may be flapping
		for {
			d := r.delay(attempt, s.rnd)
			if accepted {
				d = min(d, max(r.MinDelay, acceptedMaxDelay))
				accepted = false
			}
			attempt++
			c.log.Info("mqtt: reconnecting", "client_id", c.cfg.ClientID, "attempt", attempt, "delay", d)
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return
			}
			next, present, err := c.reconnect(s.ctx, attempt)
			if err == nil {
				cn = next
				c.stats.reconnects.Add(1)
				if r.OnConnect != nil {
					r.OnConnect(present)
				}
				if !present {
					c.resubscribe(s.ctx)
				}
				break
			}
			if s.ctx.Err() != nil {
				return
			}
			if permanent(err) {
				err = fmt.Errorf("mqtt: reconnecting: %w (not retried: the configuration must change)", err)
				c.log.Error("mqtt: giving up reconnecting", "client_id", c.cfg.ClientID, "error", err)
				c.mu.Lock()
				c.fatal = err
				c.mu.Unlock()
				c.failWaiters(err)
				if r.OnConnectionLost != nil {
					r.OnConnectionLost(err)
				}
				c.mu.Lock()
				if c.sup == s {
					c.sup = nil // Connect may start again
				}
				c.mu.Unlock()
				return
			}
			c.log.Warn("mqtt: reconnecting failed", "client_id", c.cfg.ClientID, "attempt", attempt, "error", err)
		}
	}
}

// reconnect makes one attempt to connect, to the address for attempt.
func (c *Client) reconnect(ctx context.Context, attempt int) (*conn, bool, error) {
	c.connectMu.Lock()
	defer c.connectMu.Unlock()
	if ctx.Err() != nil {
		return nil, false, ctx.Err()
	}
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	if last != nil {
		last.wait()
	}
	addr := ""
	if len(c.addresses) > 0 {
		addr = c.addresses[attempt%len(c.addresses)]
	}
	return c.connectTo(ctx, addr)
}

// resubscribe subscribes again to every filter the client holds, for a
// server that kept no session. Failures are logged: the handlers stay, and
// a later reconnection tries again.
func (c *Client) resubscribe(ctx context.Context) {
	c.mu.Lock()
	subs := make([]Subscription, 0, len(c.subs))
	for f, q := range c.subs {
		subs = append(subs, Subscription{Filter: f, QoS: q})
	}
	c.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	// The end of cn ends the wait too: it fails every request.
	for _, batch := range packets(c.cfg.MaxPacketSize, subs, func(s Subscription) int { return 2 + len(s.Filter) + 1 }) {
		p := packet.Subscribe{PacketID: 1, Filters: make([]packet.Subscription, len(batch))}
		for i, s := range batch {
			p.Filters[i] = packet.Subscription{Filter: []byte(s.Filter), QoS: s.QoS}
		}
		b, err := p.AppendBinary(nil)
		if err == nil {
			_, err = c.request(ctx, b, packet.TypeSubscribe, len(batch), nil)
		}
		if err != nil {
			c.log.Warn("mqtt: subscribing again after reconnecting", "client_id", c.cfg.ClientID, "error", err)
			return
		}
	}
	c.log.Info("mqtt: subscribed again after reconnecting", "client_id", c.cfg.ClientID, "filters", len(subs))
}
