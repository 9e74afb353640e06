package session

import (
	"context"
	"fmt"

	"github.com/petrel-mqtt/petrel/packet"
)

// Publish sends m.Payload to m.Topic at m.QoS and returns once the outcome
// is known: for QoS 0 when the PUBLISH is written, for QoS 1 when PUBACK
// arrives, for QoS 2 when PUBCOMP arrives. A topic or QoS the spec forbids
// is refused before anything is sent, with a *packet.ProtocolError.
//
// Many goroutines may publish at once; their QoS 1 and 2 messages are
// pipelined, up to Config.MaxInflight awaiting acknowledgement. Publish
// waits for room in that window, and for a free packet identifier.
//
// If ctx ends after the message was handed to the connection, Publish
// returns ctx's error but the exchange goes on: the message may still be
// delivered. If the connection ends first, Publish returns an error
// matching ErrConnectionLost: with CleanSession false the message stays in
// the session and is sent again, with DUP set, by the next Connect.
//
// Publish must not be called with QoS 1 or 2 from a handler with a context
// that never ends: while the handler waits, the client may be holding back
// the very acknowledgement it waits for behind a full MessageQueue.
func (c *Client) Publish(ctx context.Context, m Message) error {
	p := packet.Publish{QoS: m.QoS, Retain: m.Retain, Topic: []byte(m.Topic), Payload: m.Payload}
	if m.QoS != packet.QoS0 {
		p.PacketID = 1 // validated now, assigned below
	}
	buf, err := p.AppendBinary(getBuf())
	if err != nil {
		return err
	}
	if m.QoS == packet.QoS0 {
		cn := c.live()
		if cn == nil {
			putBuf(buf)
			return ErrNotConnected
		}
		return cn.sendPooled(ctx, buf, true)
	}

	select {
	case c.inflight <- struct{}{}:
	case <-ctx.Done():
		putBuf(buf)
		return ctx.Err()
	}
	// done, not f.done: finish clears f.done under c.mu, maybe before the
	// select below is reached.
	done := make(chan error, 1)
	f := &flow{qos: m.QoS, buf: buf, done: done}
	cn, err := c.register(ctx, func(id uint16) {
		f.id = id
		buf[len(buf)-len(m.Payload)-2] = byte(id >> 8)
		buf[len(buf)-len(m.Payload)-1] = byte(id)
		c.seq++
		f.seq = c.seq
		c.flows[id] = f
	})
	if err != nil {
		<-c.inflight
		putBuf(buf)
		return err
	}
	// The writer may send buf while the session keeps it for re-sending;
	// neither writes to it.
	cn.enqueue(outgoing{b: buf, hold: holdOwn})
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// live returns the live connection, or nil.
func (c *Client) live() *conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current()
}

// register takes a free packet identifier, waiting for one if all are in
// use, and calls add with it while holding c.mu, so that the flow or
// request is in the session before its packet can be answered. It returns
// the live connection.
func (c *Client) register(ctx context.Context, add func(id uint16)) (*conn, error) {
	for {
		c.mu.Lock()
		cn := c.current()
		if cn == nil {
			c.mu.Unlock()
			return nil, ErrNotConnected
		}
		if id, ok := c.ids.take(); ok {
			add(id)
			c.mu.Unlock()
			return cn, nil
		}
		freed := c.freed()
		c.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, fmt.Errorf("mqtt: waiting for a free packet identifier: %w", ctx.Err())
		}
	}
}

// receive handles a PUBLISH from the server (section 4.3): the message is
// copied out of the reader's buffer and queued for the handlers, which
// acknowledge it once they have returned. A QoS 2 message whose identifier
// is still awaiting PUBREL is a re-delivery, never handed over twice
// [MQTT-4.3.3-2].
func (c *Client) receive(cn *conn, p *packet.Publish) error {
	d := delivery{id: p.PacketID}
	switch p.QoS {
	case packet.QoS1:
		d.ack = packet.TypePuback
	case packet.QoS2:
		d.ack = packet.TypePubrec
		c.mu.Lock()
		switch c.inbound[p.PacketID] {
		case inboundHandled:
			c.mu.Unlock()
			cn.enqueue(ackOut(packet.TypePubrec, p.PacketID))
			return nil
		case inboundPending:
			c.mu.Unlock() // PUBREC follows when the handlers return
			return nil
		}
		c.inbound[p.PacketID] = inboundPending
		c.mu.Unlock()
	}
	d.msg = &Message{
		Topic:     string(p.Topic),
		Payload:   append([]byte(nil), p.Payload...),
		QoS:       p.QoS,
		Retain:    p.Retain,
		Duplicate: p.Dup,
	}
	cn.deliver(d)
	return nil
}

// dispatch runs the handlers of d's message on the dispatcher goroutine,
// then sends its acknowledgement.
func (c *Client) dispatch(cn *conn, d delivery) {
	matched := false
	c.router.match(d.msg.Topic, func(h Handler) {
		matched = true
		h.HandleMessage(d.msg)
	})
	if !matched {
		if h := c.cfg.DefaultHandler; h != nil {
			h.HandleMessage(d.msg)
		} else {
			c.log.Warn("mqtt: no handler for a message", "topic", d.msg.Topic)
		}
	}
	switch d.ack {
	case packet.TypePuback:
		cn.enqueue(ackOut(packet.TypePuback, d.id))
	case packet.TypePubrec:
		c.mu.Lock()
		c.inbound[d.id] = inboundHandled
		c.mu.Unlock()
		cn.enqueue(ackOut(packet.TypePubrec, d.id))
	}
}
