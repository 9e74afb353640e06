package session

import (
	"fmt"

	"github.com/petrel-mqtt/petrel/packet"
)

// The Client calls its Config.Store as flows move on (see package store):
// PutOutgoing before a PUBLISH is first written, Release on PUBREC before
// PUBREL is sent, DeleteOutgoing on PUBACK or PUBCOMP, PutInbound before
// PUBREC is sent, DeleteInbound before PUBCOMP is sent, Reset when Connect
// starts a clean session. Never with c.mu held across a call that may wait
// for the disk, but for DeleteOutgoing, which does not wait.

// load fills the session from Config.Store: the outgoing messages (sent,
// as far as the Client can tell, so sent again with DUP set), the inbound
// QoS 2 identifiers awaiting PUBREL, and the sequence to go on from.
func (c *Client) load() error {
	st := c.cfg.Store
	if st == nil {
		return nil
	}
	out, inbound, lastSeq, err := st.Load()
	if err != nil {
		return fmt.Errorf("mqtt: loading the session from the store: %w", err)
	}
	c.seq = lastSeq
	for _, o := range out {
		if o.PacketID == 0 || c.flows[o.PacketID] != nil {
			c.log.Error("mqtt: store: skipping a message whose packet identifier is in use", "seq", o.Seq, "packet_id", o.PacketID)
			continue
		}
		f := &flow{seq: o.Seq, id: o.PacketID, qos: packet.QoS(o.QoS), released: o.Released, sent: true}
		if !o.Released {
			f.buf = append(getBuf(), o.Packet...)
		}
		c.flows[o.PacketID] = f
		c.ids.mark(o.PacketID)
	}
	for _, id := range inbound {
		c.inbound[id] = received{st: inboundHandled}
	}
	if len(out) > 0 || len(inbound) > 0 {
		c.log.Info("mqtt: session loaded from the store", "outgoing", len(c.flows), "inbound", len(inbound))
	}
	return nil
}

// resetStore empties Config.Store for a clean session, and the session's
// outgoing flows with it: the server forgets them too [MQTT-3.1.2-6].
func (c *Client) resetStore() error {
	c.mu.Lock()
	for id, f := range c.flows {
		if f.ack != nil {
			continue // a Publish waits for it: not from an earlier process
		}
		delete(c.flows, id)
		c.ids.free(id)
		if f.buf != nil {
			putBuf(f.buf)
		}
	}
	c.mu.Unlock()
	if c.cfg.Store == nil {
		return nil
	}
	if err := c.cfg.Store.Reset(); err != nil {
		return fmt.Errorf("mqtt: emptying the store for a clean session: %w", err)
	}
	return nil
}

// forgetInbound forgets the inbound QoS 2 identifiers awaiting PUBREL: the
// server holds no session, so none of them will be released.
func (c *Client) forgetInbound() {
	c.mu.Lock()
	ids := make([]uint16, 0, len(c.inbound))
	for id := range c.inbound {
		ids = append(ids, id)
	}
	clear(c.inbound)
	c.released = releasedSet{}
	c.mu.Unlock()
	if c.cfg.Store == nil {
		return
	}
	for _, id := range ids {
		if err := c.cfg.Store.DeleteInbound(id); err != nil {
			c.log.Error("mqtt: store: forgetting an inbound QoS 2 identifier", "packet_id", id, "error", err)
		}
	}
}

// storeDelete forgets the outgoing message with seq: its flow completed,
// or ended with a clean session. DeleteOutgoing does not wait for the
// disk, so c.mu may be held.
func (c *Client) storeDelete(seq uint64) {
	if c.cfg.Store == nil {
		return
	}
	if err := c.cfg.Store.DeleteOutgoing(seq); err != nil {
		c.log.Error("mqtt: store: forgetting a message", "seq", seq, "error", err)
	}
}

// storeInbound records that the inbound QoS 2 message id has been handled,
// before its PUBREC is sent: a restarted client then never hands it over
// again [MQTT-4.3.3-2].
func (c *Client) storeInbound(id uint16) {
	if c.cfg.Store == nil {
		return
	}
	if err := c.cfg.Store.PutInbound(id); err != nil {
		c.log.Error("mqtt: store: recording an inbound QoS 2 identifier", "packet_id", id, "error", err)
	}
}

// failWaiters fails with err every Publish waiting for a connection, when
// reconnection ends without one. Their QoS 1 and 2 messages stay in the
// session, for a later Connect; a QoS 0 Publish gives up its message.
func (c *Client) failWaiters(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.current() != nil {
		return // the connection's end tells them
	}
	for _, f := range c.flows {
		f.finish(err)
	}
	c.wakeFreed()
}
