package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/petrel-mqtt/petrel/packet"
)

// Subscription is a topic filter and the largest QoS at which the client
// wants its messages.
type Subscription struct {
	Filter string
	QoS    packet.QoS
}

// Subscribe subscribes to the filters and routes their messages to h. It
// returns the server's return code for each filter, in order: the QoS it
// granted, or packet.Failure. If the server refused some filters, the
// error is a *SubscribeError naming them, and the codes are returned too;
// h stays registered for the granted ones only.
//
// h is registered before SUBSCRIBE is sent, since the server may deliver
// before SUBACK. A filter already subscribed gets h as its new handler. If
// ctx or the connection ends before SUBACK, h stays registered (the server
// may have subscribed); Unsubscribe removes it.
//
// A filter "$share/group/filter" is a shared subscription: its messages
// are routed to h by filter.
func (c *Client) Subscribe(ctx context.Context, h Handler, subs ...Subscription) ([]packet.SubackCode, error) {
	if h == nil {
		return nil, errors.New("mqtt: Subscribe: nil Handler")
	}
	if len(subs) == 0 {
		return nil, errors.New("mqtt: Subscribe: no filter [MQTT-3.8.3-3]")
	}
	p := packet.Subscribe{PacketID: 1, Filters: make([]packet.Subscription, len(subs))}
	for i, s := range subs {
		if err := checkFilter(s.Filter); err != nil {
			return nil, err
		}
		p.Filters[i] = packet.Subscription{Filter: []byte(s.Filter), QoS: s.QoS}
	}
	b, err := p.AppendBinary(nil) // validates; the packet id is set in send
	if err != nil {
		return nil, err
	}
	codes, err := c.request(ctx, b, packet.TypeSubscribe, len(subs), func() {
		// Called once there is a connection to send on: a Subscribe that
		// fails with ErrNotConnected leaves no handler behind.
		for _, s := range subs {
			c.router.add(s.Filter, h)
		}
	})
	if err != nil {
		return nil, err
	}
	var failed []string
	c.mu.Lock()
	for i, code := range codes {
		if _, ok := code.Granted(); ok {
			c.subs[subs[i].Filter] = subs[i].QoS
			continue
		}
		failed = append(failed, subs[i].Filter)
	}
	c.mu.Unlock()
	for _, f := range failed {
		c.router.remove(f)
	}
	if failed != nil {
		return codes, &SubscribeError{Filters: failed}
	}
	return codes, nil
}

// checkFilter validates a filter, shared subscriptions included.
func checkFilter(f string) error {
	if err := packet.ValidateTopicFilter(f); err != nil {
		return err
	}
	if len(f) >= len("$share/") && f[:len("$share/")] == "$share/" {
		if _, _, ok := splitShared(f); !ok {
			return fmt.Errorf("mqtt: shared subscription %q: want $share/<group>/<filter>", f)
		}
	}
	return nil
}

// Unsubscribe ends the subscriptions to the filters, compared character
// for character with those subscribed [MQTT-3.10.4-1], and removes their
// handlers once UNSUBACK has arrived.
func (c *Client) Unsubscribe(ctx context.Context, filters ...string) error {
	r, err := c.sendUnsubscribe(ctx, filters)
	if err != nil {
		return err
	}
	if _, err := r.wait(ctx); err != nil {
		return err
	}
	c.unsubscribed(filters)
	return nil
}

func (c *Client) sendUnsubscribe(ctx context.Context, filters []string) (*request, error) {
	if len(filters) == 0 {
		return nil, errors.New("mqtt: Unsubscribe: no filter [MQTT-3.10.3-2]")
	}
	p := packet.Unsubscribe{PacketID: 1, Filters: make([][]byte, len(filters))}
	for i, f := range filters {
		if err := checkFilter(f); err != nil {
			return nil, err
		}
		p.Filters[i] = []byte(f)
	}
	b, err := p.AppendBinary(nil) // validates; the packet id is set in send
	if err != nil {
		return nil, err
	}
	return c.send(ctx, b, packet.TypeUnsubscribe, len(filters), nil)
}

// unsubscribed forgets filters that the server has unsubscribed.
func (c *Client) unsubscribed(filters []string) {
	c.mu.Lock()
	for _, f := range filters {
		delete(c.subs, f)
	}
	c.mu.Unlock()
	for _, f := range filters {
		c.router.remove(f)
	}
}

// UnsubscribeAll ends every subscription this client holds, in as few
// UNSUBSCRIBE packets as Config.MaxPacketSize allows. It sends them all,
// then waits for their acknowledgements.
func (c *Client) UnsubscribeAll(ctx context.Context) error {
	batches := packets(c.cfg.MaxPacketSize, c.router.filters(), func(f string) int { return 2 + len(f) })
	reqs := make([]*request, 0, len(batches))
	var errs error
	for _, b := range batches {
		r, err := c.sendUnsubscribe(ctx, b)
		if err != nil {
			errs = errors.Join(errs, err)
			break
		}
		reqs = append(reqs, r)
	}
	for i, r := range reqs {
		if _, err := r.wait(ctx); err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		c.unsubscribed(batches[i])
	}
	return errs
}

// packets splits items into groups, each small enough for one SUBSCRIBE or
// UNSUBSCRIBE of at most maxPacket bytes, size giving the bytes of each
// item in the packet.
func packets[T any](maxPacket int, items []T, size func(T) int) [][]T {
	var out [][]T
	n, limit := 0, maxPacket-5-2 // fixed header and packet id
	for _, it := range items {
		s := size(it)
		if len(out) == 0 || n+s > limit {
			out = append(out, nil)
			n = 0
		}
		out[len(out)-1] = append(out[len(out)-1], it)
		n += s
	}
	return out
}

// request sends a SUBSCRIBE or UNSUBSCRIBE and waits for its
// acknowledgement.
func (c *Client) request(ctx context.Context, b []byte, kind packet.Type, filters int, registered func()) ([]packet.SubackCode, error) {
	r, err := c.send(ctx, b, kind, filters, registered)
	if err != nil {
		return nil, err
	}
	return r.wait(ctx)
}

// send sends b, an encoded SUBSCRIBE or UNSUBSCRIBE, with a fresh packet
// identifier written into it. registered, if not nil, runs with c.mu held
// once the connection and the identifier are secured, and only then.
func (c *Client) send(ctx context.Context, b []byte, kind packet.Type, filters int, registered func()) (*request, error) {
	r := &request{kind: kind, filters: filters, done: make(chan []packet.SubackCode, 1)}
	cn, err := c.register(ctx, false, func(pid uint16) {
		setPacketID(b, pid)
		if registered != nil {
			registered()
		}
		c.requests[pid] = r
	})
	if err != nil {
		return nil, err
	}
	cn.enqueue(outgoing{b: b})
	return r, nil
}

// setPacketID writes id into b, an encoded SUBSCRIBE or UNSUBSCRIBE, where
// the packet identifier follows the fixed header.
func setPacketID(b []byte, id uint16) {
	i := 1
	for b[i]&0x80 != 0 { // the Remaining Length's continuation bytes
		i++
	}
	b[i+1], b[i+2] = byte(id>>8), byte(id)
}

// wait waits for the acknowledgement of r: the SUBACK's return codes, or
// nil for UNSUBACK.
func (r *request) wait(ctx context.Context) ([]packet.SubackCode, error) {
	select {
	case codes, ok := <-r.done:
		if !ok {
			return nil, r.err
		}
		return codes, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
