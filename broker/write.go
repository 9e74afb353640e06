package broker

import (
	"io"
	"net"
	"sync"
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
	// maxBatch is how many messages a write takes from the session at a
	// time.
	maxBatch = 64
	// writeChunkSize is the size of the pooled buffers packets are
	// encoded into.
	writeChunkSize = 4096
	// vectorThreshold is the payload size from which a PUBLISH payload is
	// written from the message rather than copied.
	vectorThreshold = 16 << 10
	// inlineWriteTimeout bounds a write made by a reader (see below) on a
	// connection whose descriptor it cannot write without waiting (TLS,
	// WebSocket); what it leaves is written by a writer goroutine.
	inlineWriteTimeout = 2 * time.Millisecond
)

// send queues a response for the writer. While the outbox is full it
// waits, so that a client that sends without reading gets backpressure
// rather than unbounded memory. It reports false if the connection
// closed. Only c's reader calls it.
func (c *conn) send(p outPacket) bool {
	c.mu.Lock()
	for len(c.outbox) >= maxOutbox {
		c.handoff()
		if c.drained == nil {
			c.drained = make(chan struct{}, 1)
		}
		drained := c.drained
		c.mu.Unlock()
		c.kick()
		select {
		case <-drained:
		case <-c.done:
			return false
		}
		c.mu.Lock()
	}
	c.outbox = append(c.outbox, p)
	c.mu.Unlock()
	c.later(c)
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
	if c.sess != nil {
		out = c.sess.take(c, maxBatch, out)
	}
	drained := c.drained
	c.mu.Unlock()
	if drained != nil {
		select {
		case drained <- struct{}{}:
		default:
		}
	}
	return out
}

// Writing.
//
// A connection has no writer goroutine while it has nothing to send. What
// is queued for it (a response in its outbox, a message in its session's
// queue) is written by one of:
//
//   - a reader: the reader that queued it, the connection's own or a
//     publisher's, notes the connection (later) and, once it has handled
//     every packet it has read (packet.Reader.Buffered is zero) or before
//     it waits, writes what is queued for each connection it noted
//     (flushLater), within inlineWriteTimeout. So at a low rate a message
//     crosses the broker on the publisher's reader alone, with no thread
//     woken, and a burst read at once is written in one batch per
//     subscriber, as nats-server does.
//   - a writer goroutine (writeLoop), started when something is queued
//     with no reader to write it (a will, $SYS, a message the window let
//     through on an acknowledgement), when a reader's write did not
//     finish in time, or when more came while it wrote; it ends when
//     nothing is left.
//
// The writing flag, under wmu, makes one of them at a time the writer;
// one that finds another writing sets wpending, and the writer goes round
// again before it stops. Buffers come from a pool and go back after each
// write, so an idle connection holds none.

// chunkPool holds the buffers writes are encoded into.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, writeChunkSize); return &b }}

// later notes that c has something to write, for from's reader to write
// once it has handled what it read; with no reader (from nil), a writer
// goroutine writes it.
func (c *conn) later(from *conn) {
	if from == nil {
		c.kick()
		return
	}
	// noted marks c as in from's list, so that a fan-out to many
	// subscribers notes each once per batch. Two readers noting c at once
	// may both list it: a second write then finds nothing to do.
	if c.noted.Load() == from {
		return
	}
	c.noted.Store(from)
	from.flushq = append(from.flushq, c)
}

// flushLater writes what is queued for the connections c's reader noted.
func (c *conn) flushLater() {
	for i, t := range c.flushq {
		c.flushq[i] = nil
		t.noted.CompareAndSwap(c, nil)
		if t.raw == nil {
			c.handoff() // a write that may wait (TLS, WebSocket)
		}
		t.writeInline()
	}
	c.flushq = c.flushq[:0]
	if cap(c.flushq) > 64 {
		c.flushq = nil
	}
}

// claim makes the caller the writer, or reports false if another is (it
// will go round again) or the connection is closed.
func (c *conn) claim() bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.writing || c.wclosed {
		c.wpending = true
		return false
	}
	c.writing = true
	c.writers.Add(1)
	return true
}

// release gives up the writer's role, or keeps it and reports true if
// more was queued while it wrote.
func (c *conn) release() (more bool) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.wpending && !c.wclosed {
		c.wpending = false
		return true
	}
	c.writing = false
	c.writers.Done()
	return false
}

// kick has what is queued for c written by a writer goroutine, unless a
// writer is at work already.
func (c *conn) kick() {
	if c.claim() {
		go c.writeLoop(nil)
	}
}

// writeInline writes what is queued for c on the calling reader's
// goroutine, one batch within inlineWriteTimeout; a writer goroutine
// takes over what is left or what comes meanwhile.
func (c *conn) writeInline() {
	if !c.claim() {
		return
	}
	w := writePool.Get().(*write)
	if w.fill(c) {
		if !w.sendNow(c) {
			if w.failed {
				w.put()
			} else {
				go c.writeLoop(w) // the rest, within the full WriteTimeout
			}
			return
		}
		if w.full {
			go c.writeLoop(w) // more than one batch was queued
			return
		}
	}
	w.put()
	if c.release() {
		go c.writeLoop(nil)
	}
}

// writeLoop is a writer goroutine: it writes w's rest, if any, then what
// is queued for c until nothing is, and ends. A write error closes the
// connection.
func (c *conn) writeLoop(w *write) {
	if w == nil {
		w = writePool.Get().(*write)
	}
	defer w.put()
	for {
		if w.pending() && !w.send(c, c.srv.cfg.WriteTimeout) {
			return
		}
		if w.fill(c) {
			continue
		}
		if !c.release() {
			return
		}
	}
}

// stopWriting waits for the writer at work, if any, and keeps any other
// from starting; finish calls it once the connection is closed.
func (c *conn) stopWriting() {
	c.wmu.Lock()
	c.wclosed = true
	busy := c.writing
	c.wmu.Unlock()
	if busy {
		c.handoff() // the writer may take up to WriteTimeout
		c.writers.Wait()
	}
}

// write is one batch on its way to the network: packets encoded into
// pooled chunks, and large payloads by reference, as one vectored write.
type write struct {
	batch   []outPacket
	bufs    net.Buffers
	chunks  []*[]byte
	flights []*flight // marked sent once written
	enc     encoder
	failed  bool
	full    bool // the last fill took a whole batch: more may be queued
}

// writePool holds writes between batches with the slices they grew, so
// that a batch allocates nothing once the pool is warm: at a low rate
// every message is a batch of its own, and its PUBACK another.
var writePool = sync.Pool{New: func() any { return new(write) }}

// put gives w back to writePool, empty: no packet, message or flight of
// the batch stays reachable from the pool.
func (w *write) put() {
	w.free()
	clear(w.batch)
	clear(w.flights)
	*w = write{batch: w.batch[:0], bufs: w.bufs[:0], chunks: w.chunks[:0], flights: w.flights[:0]}
	writePool.Put(w)
}

func (w *write) pending() bool { return len(w.bufs) > 0 }

// fill takes what is queued for c and encodes it; it reports false if
// nothing was.
func (w *write) fill(c *conn) bool {
	w.batch = c.take(w.batch[:0])
	w.full = len(w.batch) >= maxBatch
	if len(w.batch) == 0 {
		return false
	}
	chunk := w.chunk()
	start := 0
	for i := range w.batch {
		p := &w.batch[i]
		if p.t == packet.TypePublish {
			c.srv.countSent(p.d.qos)
			if p.f != nil {
				w.flights = append(w.flights, p.f)
			}
		}
		if p.t == packet.TypePublish && len(p.d.m.payload) >= vectorThreshold {
			pub := w.enc.publish(p)
			*chunk, _ = pub.AppendPrefix(*chunk)
			w.bufs = append(w.bufs, (*chunk)[start:], pub.Payload)
			start = len(*chunk)
		} else {
			*chunk, _ = w.enc.packet(p).AppendBinary(*chunk)
		}
		if len(*chunk) >= writeChunkSize-512 {
			if start < len(*chunk) {
				w.bufs = append(w.bufs, (*chunk)[start:])
			}
			chunk, start = w.chunk(), 0
		}
		*p = outPacket{}
	}
	if start < len(*chunk) {
		w.bufs = append(w.bufs, (*chunk)[start:])
	}
	return true
}

// chunk takes a buffer from the pool.
func (w *write) chunk() *[]byte {
	b := chunkPool.Get().(*[]byte)
	*b = (*b)[:0]
	w.chunks = append(w.chunks, b)
	return b
}

// send writes the batch within timeout. It reports false if it did not
// finish: on a timeout shorter than WriteTimeout, with the rest kept in
// w for a writer goroutine; or on an error, which closes the connection
// and ends the caller's role as the writer (w.failed).
func (w *write) send(c *conn, timeout time.Duration) bool {
	c.nc.SetWriteDeadline(time.Now().Add(timeout))
	n, err := w.bufs.WriteTo(c.nc)
	c.srv.stats.bytesSent.Add(uint64(n))
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() && timeout < c.srv.cfg.WriteTimeout {
			return false
		}
		w.fail(c, err)
		return false
	}
	w.sent()
	return true
}

// sendNow writes the batch without waiting for the client: what the
// socket does not take at once is left in w for a writer goroutine, and it
// reports false. A connection without descriptor access is written with
// inlineWriteTimeout instead: a deadline per write costs timer work, so
// plain TCP avoids it.
func (w *write) sendNow(c *conn) bool {
	if c.raw == nil {
		return w.send(c, inlineWriteTimeout)
	}
	bufs, n, err := c.raw.Write(w.bufs)
	w.bufs = bufs
	c.srv.stats.bytesSent.Add(uint64(n))
	if err != nil {
		w.fail(c, err)
		return false
	}
	if len(w.bufs) > 0 {
		return false
	}
	w.sent()
	return true
}

// fail ends a write that got an error: it gives the buffers back, closes
// the connection and gives up the writer's role (w.failed).
func (w *write) fail(c *conn, err error) {
	w.failed = true
	w.free()
	c.close(err)
	c.wmu.Lock()
	c.writing = false
	c.writers.Done()
	c.wmu.Unlock()
}

// sent marks the batch's flights sent and gives its buffers back.
func (w *write) sent() {
	for i, f := range w.flights {
		f.sent.Store(true)
		w.flights[i] = nil
	}
	w.flights = w.flights[:0]
	w.free()
}

// free gives the write's buffers back.
func (w *write) free() {
	for _, b := range w.chunks {
		if cap(*b) <= 4*writeChunkSize {
			chunkPool.Put(b)
		}
	}
	clear(w.chunks)
	w.chunks = w.chunks[:0]
	clear(w.bufs)
	w.bufs = w.bufs[:0]
}

// encoder turns outPackets into packets, reusing one struct per type.
type encoder struct {
	connack packet.Connack
	pub     packet.Publish
	puback  packet.Puback
	pubrec  packet.Pubrec
	pubrel  packet.Pubrel
	pubcomp packet.Pubcomp
	suback  packet.Suback
	unsub   packet.Unsuback
	pingrsp packet.Pingresp
}

// publish returns the PUBLISH of p.
func (e *encoder) publish(p *outPacket) *packet.Publish {
	e.pub = packet.Publish{
		Dup: p.dup, QoS: p.d.qos, Retain: p.d.retain, PacketID: p.id,
		Topic: p.d.m.tbytes, Payload: p.d.m.payload,
	}
	return &e.pub
}

func (e *encoder) packet(p *outPacket) packet.Packet {
	switch p.t {
	case packet.TypePublish:
		return e.publish(p)
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
