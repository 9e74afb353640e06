package broker

import (
	"bufio"
	"io"
	"sync/atomic"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// outPacket is a packet waiting for the writer: an acknowledgement or
// response made by the reader, or a PUBLISH taken from the session.
type outPacket struct {
	t       packet.Type
	id      uint16
	d       delivery // PUBLISH
	dup     bool     // PUBLISH: a re-send [MQTT-3.3.1-1]
	f       *flight  // PUBLISH at QoS 1 or 2: its flight, marked sent once written
	present bool     // CONNACK: session present
	codes   []packet.SubackCode
}

const (
	// maxOutbox is how many responses may wait for the writer before the
	// reader stops reading from a client that does not read its own.
	maxOutbox = 256
	// maxBatch is how many messages the writer takes from the session at
	// a time, between flushes.
	maxBatch = 64
	// writeBufferSize is the size of each connection's write buffer.
	writeBufferSize = 4096
)

// kick wakes the writer without blocking.
func (c *conn) kick() {
	select {
	case c.kickc <- struct{}{}:
	default:
	}
}

// send queues a response for the writer. While the outbox is full it
// waits, so that a client that sends without reading gets backpressure
// rather than unbounded memory. It reports false if the connection closed.
func (c *conn) send(p outPacket) bool {
	c.mu.Lock()
	for len(c.outbox) >= maxOutbox {
		c.mu.Unlock()
		select {
		case <-c.drained:
		case <-c.done:
			return false
		}
		c.mu.Lock()
	}
	c.outbox = append(c.outbox, p)
	c.mu.Unlock()
	c.kick()
	return true
}

// take moves the waiting responses, then up to maxBatch messages of the
// session, to out. It holds c.mu throughout, so that a response queued
// before a message (SUBACK before the retained messages that follow it)
// is never sent after it.
func (c *conn) take(out []outPacket) []outPacket {
	c.mu.Lock()
	out = append(out, c.outbox...)
	clear(c.outbox)
	c.outbox = c.outbox[:0]
	out = c.sess.take(c, maxBatch, out)
	c.mu.Unlock()
	select {
	case c.drained <- struct{}{}:
	default:
	}
	return out
}

// writeLoop is the connection's writer goroutine: woken by kick, it sends
// the responses in the outbox, then messages from the session (see take), and flushes
// once per batch. It never holds a lock while writing. A write error
// closes the connection.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	bw := bufio.NewWriterSize(&countingWriter{w: c.nc, n: &c.srv.stats.bytesSent}, writeBufferSize)
	w := packet.NewWriter(bw)
	var (
		batch   []outPacket
		enc     encoder
		flights []*flight // the batch's, marked sent once flushed
	)
	for {
		select {
		case <-c.kickc:
		case <-c.done:
			return
		}
		for {
			batch = c.take(batch[:0])
			if len(batch) == 0 {
				break
			}
			c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
			for i := range batch {
				if err := w.WritePacket(enc.packet(&batch[i])); err != nil {
					c.close(err)
					return
				}
				if batch[i].t == packet.TypePublish {
					c.srv.countSent(batch[i].d.qos)
				}
				if batch[i].f != nil {
					flights = append(flights, batch[i].f)
				}
				batch[i] = outPacket{}
			}
			if err := bw.Flush(); err != nil {
				c.close(err)
				return
			}
			for i, f := range flights {
				f.sent.Store(true)
				flights[i] = nil
			}
			flights = flights[:0]
		}
	}
}

// encoder turns outPackets into packets, reusing one struct per type.
type encoder struct {
	connack packet.Connack
	publish packet.Publish
	puback  packet.Puback
	pubrec  packet.Pubrec
	pubrel  packet.Pubrel
	pubcomp packet.Pubcomp
	suback  packet.Suback
	unsub   packet.Unsuback
	pingrsp packet.Pingresp
}

func (e *encoder) packet(p *outPacket) packet.Packet {
	switch p.t {
	case packet.TypePublish:
		e.publish = packet.Publish{
			Dup: p.dup, QoS: p.d.qos, Retain: p.d.retain, PacketID: p.id,
			Topic: p.d.m.tbytes, Payload: p.d.m.payload,
		}
		return &e.publish
	case packet.TypeConnack:
		e.connack = packet.Connack{SessionPresent: p.present}
		return &e.connack
	case packet.TypePuback:
		e.puback.PacketID = p.id
		return &e.puback
	case packet.TypePubrec:
		e.pubrec.PacketID = p.id
		return &e.pubrec
	case packet.TypePubrel:
		e.pubrel.PacketID = p.id
		return &e.pubrel
	case packet.TypePubcomp:
		e.pubcomp.PacketID = p.id
		return &e.pubcomp
	case packet.TypeSuback:
		e.suback = packet.Suback{PacketID: p.id, ReturnCodes: p.codes}
		return &e.suback
	case packet.TypeUnsuback:
		e.unsub.PacketID = p.id
		return &e.unsub
	}
	return &e.pingrsp
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n *atomic.Uint64
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n.Add(uint64(n))
	return n, err
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Uint64
}

func (cr *countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.n.Add(uint64(n))
	return n, err
}
