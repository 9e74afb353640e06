package session

import (
	"context"
	"fmt"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/store"
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
// A server that answers with the acknowledgement of another QoS (PUBACK
// for QoS 2, as brokers without QoS 2 do; PUBREC or PUBCOMP for QoS 1)
// fails the Publish at once with an error matching ErrProtocolViolation
// that names both, and the connection is closed [MQTT-4.8.0-1]; the
// message is not sent again.
//
// A message over Config.MaxPacketSize, if set, fails at once with an error
// matching ErrTooLarge. So does one the server closes the connection right
// after, three times in a row (the acknowledgement of any other message
// starts the count again): brokers do so with a message over their size
// limit, and the client would otherwise send it again on every
// reconnection, for ever.
//
// If ctx ends after the message was handed to the connection, Publish
// returns ctx's error but the exchange goes on: the message may still be
// delivered. If the connection ends first, Publish returns an error
// matching ErrConnectionLost: with PersistentSession the message stays in
// the session and is sent again, with DUP set, by the next Connect.
//
// Publish must not be called with QoS 1 or 2 from a handler with a context
// that never ends: while the handler waits, the client may be holding back
// the very acknowledgement it waits for behind a full MessageQueue.
func (c *Client) Publish(ctx context.Context, m Message) error {
	buf, err := c.encode(m)
	if err != nil {
		return err
	}
	if m.QoS == packet.QoS0 {
		return c.publish0(ctx, buf)
	}
	a, err := c.startFlow(ctx, m.QoS, buf, len(m.Payload))
	if err != nil {
		return err
	}
	select {
	case <-a.done:
		return a.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PublishAsync hands m over for publishing and returns without waiting for
// its acknowledgement: the returned Ack reports the outcome that Publish
// would have returned. It blocks only while Config.MaxInflight QoS 1 and
// QoS 2 messages already await theirs (or, at QoS 0, while many messages
// wait for the writer; or, while reconnecting, while the offline queue is
// full), until ctx ends; ctx bounds that wait and nothing else: once
// PublishAsync has returned, the exchange goes on whatever ctx.
//
// Messages handed over by successive calls from one goroutine are sent in
// that order, up to MaxInflight awaiting acknowledgement at once, and sent
// again in that order after a reconnection [MQTT-4.4.0-1]; the server
// forwards the messages of one client and one topic in the order it
// received them [MQTT-4.6.0-5] [MQTT-4.6.0-6]. So a loop of PublishAsync
// keeps its order on the wire and to subscribers, at the throughput of a
// full window rather than one round trip per message.
//
// A QoS 0 message goes to the connection's writer, after those handed
// over before it, and its Ack is done once it is written (or lost with
// the connection): a loop of PublishAsync at QoS 0 so has its messages
// written many to a system call, at the rate the network takes, where
// Publish writes each before it returns. While many wait for the writer,
// PublishAsync waits for its message to be written before it returns;
// while reconnecting it waits as Publish does.
//
// An error known at once (a topic or QoS the spec forbids, a message over
// Config.MaxPacketSize, no connection and no reconnection, ctx ended while
// waiting for room) is returned with a nil Ack, and nothing is sent.
func (c *Client) PublishAsync(ctx context.Context, m Message) (*Ack, error) {
	buf, err := c.encode(m)
	if err != nil {
		return nil, err
	}
	if m.QoS == packet.QoS0 {
		return c.publish0Async(ctx, buf)
	}
	return c.startFlow(ctx, m.QoS, buf, len(m.Payload))
}

// publish0Async hands a QoS 0 message to the writer without waiting for
// the write, while connected (see PublishAsync).
func (c *Client) publish0Async(ctx context.Context, buf []byte) (*Ack, error) {
	a := newAck()
	c.mu.Lock()
	cn := c.current()
	c.mu.Unlock()
	if cn != nil {
		if ok, full := cn.addAsync(outgoing{b: buf, sent: a, pool: true}); ok {
			// A message alone is written from here if the writer is
			// idle, as Publish does; one that follows another closely
			// is left to the writer, which writes those that come
			// meanwhile with it.
			if now := time.Now().UnixNano(); now-cn.lastAsync.Swap(now) < int64(streamGap) {
				cn.wake()
			} else {
				cn.push()
			}
			if full {
				select {
				case <-a.done:
				case <-ctx.Done():
					// Queued all the same: its Ack tells what became of it.
				}
			}
			return a, nil
		}
	}
	// Not connected, or the connection just ended: as Publish does.
	if err := c.publish0(ctx, buf); err != nil {
		return nil, err
	}
	a.finish(nil)
	return a, nil
}

// Ack is the outcome of a message handed over by PublishAsync: PUBACK for
// QoS 1, PUBCOMP for QoS 2, or the error that ended it.
type Ack struct {
	done chan struct{} // closed once err is set
	err  error
}

func newAck() *Ack { return &Ack{done: make(chan struct{})} }

// finish sets the outcome. Called once: under Client.mu, by the writer
// (QoS 0), or before the Ack is shared.
func (a *Ack) finish(err error) {
	a.err = err
	close(a.done)
}

// Done returns a channel closed once the outcome is known.
func (a *Ack) Done() <-chan struct{} { return a.done }

// Err returns the outcome once Done is closed: nil if the message was
// acknowledged, else what Publish would have returned. Before that it
// returns nil.
func (a *Ack) Err() error {
	select {
	case <-a.done:
		return a.err
	default:
		return nil
	}
}

// Wait waits for the outcome, or for ctx to end, and returns it: Wait(ctx)
// after PublishAsync is Publish.
func (a *Ack) Wait(ctx context.Context) error {
	select {
	case <-a.done:
		return a.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// encode encodes m as a PUBLISH into a pooled buffer, with a placeholder
// packet identifier for QoS 1 and 2, and checks it against the spec and
// Config.MaxPacketSize.
func (c *Client) encode(m Message) ([]byte, error) {
	p := packet.Publish{QoS: m.QoS, Retain: m.Retain, Topic: []byte(m.Topic), Payload: m.Payload}
	if m.QoS != packet.QoS0 {
		p.PacketID = 1 // validated now, assigned by startFlow
	}
	buf, err := p.AppendBinary(getBuf())
	if err != nil {
		return nil, err
	}
	if c.maxOut > 0 && len(buf) > c.maxOut {
		putBuf(buf)
		return nil, fmt.Errorf("mqtt: a PUBLISH of %d bytes (topic %q, %d bytes of payload) is over Config.MaxPacketSize, %d bytes: send a smaller message, or raise MaxPacketSize up to the broker's limit: %w",
			p.Size(), m.Topic, len(m.Payload), c.maxOut, ErrTooLarge)
	}
	return buf, nil
}

// startFlow puts the encoded QoS 1 or 2 PUBLISH buf (whose payload is the
// last n bytes) in the session, waiting for a place in the window, and
// hands it to the connection if there is one. The Ack reports its outcome.
func (c *Client) startFlow(ctx context.Context, qos packet.QoS, buf []byte, n int) (*Ack, error) {
	a := newAck()
	f := &flow{qos: qos, buf: buf, ack: a, storing: c.cfg.Store != nil}
	if err := c.place(ctx, f); err != nil {
		putBuf(buf)
		return nil, err
	}
	var sentOn *conn
	_, err := c.register(ctx, true, func(id uint16) {
		f.id = id
		buf[len(buf)-n-2] = byte(id >> 8)
		buf[len(buf)-n-1] = byte(id)
		c.seq++
		f.seq = c.seq
		c.flows[id] = f
		if cn := c.current(); cn != nil && !f.storing {
			c.sendFlow(cn, f)
			sentOn = cn
		}
	})
	if sentOn != nil {
		if c.streaming() {
			sentOn.wake() // many in flight: the writer batches them
		} else {
			sentOn.push() // written here if the writer is idle
		}
	}
	if err != nil {
		c.mu.Lock()
		c.unplace(f)
		c.mu.Unlock()
		putBuf(buf)
		return nil, err
	}
	if f.storing {
		if err := c.storeFlow(f); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// place finds f a place: in the in-flight window while connected, waiting
// for one if it is full; in the offline queue while reconnecting. A wait
// for the window ends with the connection too, and is then looked at again:
// while reconnecting f goes to the offline queue; if reconnection gave up,
// or there is none, place fails saying so.
func (c *Client) place(ctx context.Context, f *flow) error {
	for {
		c.mu.Lock()
		if cn := c.current(); cn != nil {
			c.mu.Unlock()
			select {
			case c.inflight <- struct{}{}:
				f.slot = true
				return nil
			case <-cn.done:
				continue
			case <-ctx.Done():
				return fmt.Errorf("mqtt: waiting for room in the in-flight window (Config.MaxInflight %d): %w", c.cfg.MaxInflight, ctx.Err())
			}
		}
		if err := c.offlineErr(f.qos); err != nil {
			c.mu.Unlock()
			return err
		}
		if c.roomFor(len(f.buf)) {
			c.reserve(&f.queued, len(f.buf))
			c.mu.Unlock()
			return nil
		}
		if c.cfg.Reconnect.FailWhenFull {
			c.mu.Unlock()
			return c.queueFull()
		}
		freed := c.freed() // woken by a connection, or room in the queue
		c.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return fmt.Errorf("mqtt: waiting for room in the offline queue: %w", ctx.Err())
		}
	}
}

// storeFlow puts f in the Store, then sends it if there is a connection
// (else the next connection will). If the Store fails, the message is
// given up, with an error that says so.
func (c *Client) storeFlow(f *flow) error {
	err := c.cfg.Store.PutOutgoing(store.Outgoing{Seq: f.seq, PacketID: f.id, QoS: byte(f.qos), Packet: f.buf})
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if c.flows[f.id] == f {
			delete(c.flows, f.id)
			c.freeID(f.id)
		}
		c.unplace(f)
		f.ack = nil
		return fmt.Errorf("mqtt: message not sent: the store could not keep it: %w", err)
	}
	f.storing = false
	if cn := c.current(); cn != nil && !f.sent && c.flows[f.id] == f {
		c.sendFlow(cn, f)
		cn.wake()
	}
	return nil
}

// sendFlow queues f's PUBLISH on cn for the first time; the caller then
// has it written (cn.push once c.mu is released, or cn.wake). c.mu must
// be held.
func (c *Client) sendFlow(cn *conn, f *flow) {
	f.sent = true
	f.sentOn, f.inMark = cn, cn.packetsIn.Load()
	c.unqueue(&f.queued)
	// The writer may send buf while the session keeps it for re-sending;
	// neither writes to it.
	cn.add(outgoing{b: f.buf, hold: holdOwn})
}

// publish0 sends a QoS 0 message: at once if connected; while
// reconnecting, if Reconnect.QueueQoS0, once there is a connection again.
func (c *Client) publish0(ctx context.Context, buf []byte) error {
	queued := 0 // its bytes in the offline queue, if it waits there
	for {
		c.mu.Lock()
		if cn := c.current(); cn != nil {
			c.unqueue(&queued)
			c.mu.Unlock()
			return cn.sendPooled(ctx, buf, true)
		}
		err := c.offlineErr(packet.QoS0)
		if err == nil && queued == 0 {
			switch {
			case c.roomFor(len(buf)):
				c.reserve(&queued, len(buf))
			case c.cfg.Reconnect.FailWhenFull:
				err = c.queueFull()
			}
		}
		if err != nil {
			c.unqueue(&queued)
			c.mu.Unlock()
			putBuf(buf)
			return err
		}
		freed := c.freed() // woken by a connection, or room in the queue
		c.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			c.mu.Lock()
			c.unqueue(&queued)
			c.mu.Unlock()
			putBuf(buf)
			return ctx.Err()
		}
	}
}

// offlineErr returns why a message of qos cannot wait for a connection, or
// nil if it can: the client is reconnecting. c.mu must be held.
func (c *Client) offlineErr(qos packet.QoS) error {
	switch {
	case c.fatal != nil:
		return fmt.Errorf("%w: %w", ErrNotConnected, c.fatal)
	case c.sup == nil:
		return ErrNotConnected
	case qos == packet.QoS0 && !c.cfg.Reconnect.QueueQoS0:
		return fmt.Errorf("%w: reconnecting, and QoS 0 messages are not queued (see Reconnect.QueueQoS0)", ErrNotConnected)
	}
	return nil
}

// roomFor reports whether the offline queue has room for a message of n
// bytes. An empty queue takes any one message. c.mu must be held.
func (c *Client) roomFor(n int) bool {
	r := c.cfg.Reconnect
	return c.queued == 0 || c.queued < r.QueueMessages && c.queuedB+n <= r.QueueBytes
}

func (c *Client) queueFull() error {
	r := c.cfg.Reconnect
	return fmt.Errorf("%w: %d messages, %d of %d bytes (Reconnect.QueueMessages %d, QueueBytes %d)",
		ErrQueueFull, c.queued, c.queuedB, r.QueueBytes, r.QueueMessages, r.QueueBytes)
}

// reserve counts a message of n bytes in the offline queue, recording n
// in *queued. c.mu must be held.
func (c *Client) reserve(queued *int, n int) {
	*queued = n
	c.queued++
	c.queuedB += n
}

// unqueue takes the message whose bytes *queued counts out of the offline
// queue, if it is there, and wakes those waiting for room. c.mu must be
// held.
func (c *Client) unqueue(queued *int) {
	if *queued > 0 {
		c.queued--
		c.queuedB -= *queued
		*queued = 0
		c.wakeFreed()
	}
}

// unplace gives back f's place, in the in-flight window or the offline
// queue. c.mu must be held.
func (c *Client) unplace(f *flow) {
	if f.slot {
		f.slot = false
		<-c.inflight
	}
	c.unqueue(&f.queued)
}

// register takes a free packet identifier, waiting for one if all are in
// use, and calls add with it while holding c.mu, so that the flow or
// request is in the session before its packet can be answered. It returns
// the live connection. Without one it fails with ErrNotConnected, unless
// queue is set and the client is reconnecting: then add runs all the same,
// and the connection returned is nil.
func (c *Client) register(ctx context.Context, queue bool, add func(id uint16)) (*conn, error) {
	for {
		c.mu.Lock()
		cn := c.current()
		if cn == nil {
			err := ErrNotConnected
			if queue {
				err = c.offlineErr(packet.QoS1) // nil while reconnecting
			}
			if err != nil {
				c.mu.Unlock()
				return nil, err
			}
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
// copied out of the reader's buffer (see conn.newMessage) and queued for
// the handlers, in batches (see conn.queueDelivery), which
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
		var sig uint64
		if c.cfg.PersistentSession {
			sig = messageSig(p.Topic, p.Payload)
		}
		c.mu.Lock()
		in := c.inbound[p.PacketID]
		if in.st == 0 && c.released.again(p, sig) {
			in = received{st: inboundHandled, sig: sig}
			c.log.Info("mqtt: the server sent again a QoS 2 message it had released (PUBREL); not handed over twice", "packet_id", p.PacketID)
		}
		switch in.st {
		case inboundHandled:
			in.conn, in.mark = cn.id, c.released.n
			c.inbound[p.PacketID] = in
			cn.enqueue(ackOut(packet.TypePubrec, p.PacketID))
			c.mu.Unlock()
			return nil
		case inboundPending:
			c.mu.Unlock() // PUBREC follows when the handlers return
			return nil
		}
		c.inbound[p.PacketID] = received{st: inboundPending, sig: sig}
		c.mu.Unlock()
	}
	d.msg = cn.newMessage(p)
	cn.queueDelivery(d)
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
		in := c.inbound[d.id]
		in.st, in.conn, in.mark = inboundHandled, cn.id, c.released.n
		c.inbound[d.id] = in
		c.mu.Unlock()
		c.storeInbound(d.id)
		cn.enqueue(ackOut(packet.TypePubrec, d.id))
	}
}
