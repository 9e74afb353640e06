package session

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/petrel-mqtt/petrel/internal/nowait"
	"github.com/petrel-mqtt/petrel/packet"
)

// conn is one network connection of a Client and its three goroutines: the
// reader decodes packets and updates the session, the writer drains the
// send queue and keeps the connection alive, the dispatcher runs handlers
// in arrival order. One idempotent close path ends all three.
type conn struct {
	c  *Client
	nc net.Conn
	r  *packet.Reader
	id uint64 // its number among the Client's connections, from 1

	done      chan struct{} // closed by close
	closeOnce sync.Once
	err       error         // why the connection ended; written once, before done is closed
	exited    chan struct{} // closed when all three goroutines have returned
	readDone  chan struct{} // closed when the reader has returned
	running   atomic.Int32

	// qmu guards queue and pings. Lock order: Client.mu, then qmu; never
	// the reverse.
	qmu     sync.Mutex
	queue   []outgoing
	qclosed bool          // the writer has ended: what is queued is failed (abandon)
	pings   []pingWait    // Ping calls awaiting PINGRESP
	kick    chan struct{} // 1-buffered: wakes the writer

	// wmu is held by whoever writes to nc: the writer goroutine, from
	// taking a batch until it is flushed, or a caller writing the queue
	// itself while the writer is idle (see writeDirect). Whoever holds
	// it takes from queue, so packets go out in the order queued. Lock
	// order: qmu may be taken while holding wmu, never the reverse.
	wmu      sync.Mutex
	bw       *bufio.Writer  // on nc; wmu
	raw      *nowait.Writer // for writeDirect; nil if nc is not plain TCP or Unix
	wbuf     []byte         // writeDirect's copy; wmu
	vec      [1][]byte      // writeDirect's vector: wbuf; wmu
	direct   []outgoing     // writeDirect's batch; wmu
	deadline time.Time      // the write deadline set last; wmu
	lastSend atomic.Int64   // UnixNano of the latest write

	pingReqs  atomic.Uint64 // PINGREQs written or being written
	pingResps atomic.Uint64 // PINGRESPs read

	deliveries    chan delivery // to the dispatcher, bounded by Config.MessageQueue
	pending       []delivery    // the reader's: decoded, not yet handed to the dispatcher
	msgs          []Message     // the reader's: a chunk of Messages being filled (see newMessage)
	payloads      []byte        // the reader's: a chunk of payloads being filled
	topic         string        // the reader's: the topic of the latest message, reused while it repeats
	readerBlocked atomic.Bool   // the reader waits for room in deliveries
	unblocked     atomic.Int64  // UnixNano when the reader last stopped waiting so, or 0
	pingSent      atomic.Int64  // UnixNano of the unanswered PINGREQ, or 0
	lastIn        atomic.Int64  // UnixNano of the latest packet read
	packetsIn     atomic.Uint64 // packets read, for refusals (see Client.refusal)
	progress      atomic.Bool   // an acknowledgement or a message came: a success for the backoff
	inHandler     atomic.Bool   // the dispatcher is running handlers
	dispatched    atomic.Uint64 // messages the dispatcher has finished with
	inGap         atomic.Int64  // nanoseconds between the latest two packets read
	lastAsync     atomic.Int64  // UnixNano of the latest PublishAsync at QoS 0
}

// outgoing is an encoded packet waiting for the writer.
type outgoing struct {
	b    []byte
	done chan error // receives the write's outcome; nil if nobody waits
	sent *Ack       // finished with the write's outcome: PublishAsync at QoS 0
	pool bool       // return b to bufPool once written
	hold hold       // whether the writer may hold it back a moment
	ack  [4]byte    // PUBACK, PUBREC, PUBREL or PUBCOMP, when b is nil
}

// hold says when the writer may hold a packet back a moment, to send it
// with the next ones (see holdMax).
type hold uint8

const (
	holdNever   hold = iota
	holdInbound      // an answer to the server's flows, while they stream in
	holdOwn          // a step of the client's own flows, while many are outstanding
)

// ackOut is an outgoing PUBACK, PUBREC, PUBREL or PUBCOMP. PUBREL is a step
// of the client's own QoS 2 flow; the others answer the server's.
func ackOut(t packet.Type, id uint16) outgoing {
	flags, h := byte(0), holdInbound
	if t == packet.TypePubrel {
		flags, h = 0b0010, holdOwn
	}
	return outgoing{hold: h, ack: [4]byte{byte(t)<<4 | flags, 2, byte(id >> 8), byte(id)}}
}

// bytes returns the encoded packet.
func (o *outgoing) bytes() []byte {
	if o.b == nil {
		return o.ack[:]
	}
	return o.b
}

// delivery is a received message on its way to the handlers, with the
// acknowledgement to send once they have returned.
type delivery struct {
	msg *Message
	ack packet.Type // 0, TypePuback or TypePubrec
	id  uint16
	// settled, if not nil, marks no message but a point in the queue: the
	// dispatcher closes it on reaching it (see Client.settle).
	settled chan struct{}
}

func (c *Client) newConn(nc net.Conn, r *packet.Reader) *conn {
	return &conn{
		c: c, nc: nc, r: r, id: c.conns.Add(1),
		done:       make(chan struct{}),
		exited:     make(chan struct{}),
		readDone:   make(chan struct{}),
		kick:       make(chan struct{}, 1),
		deliveries: make(chan delivery, c.cfg.MessageQueue),
		bw:         bufio.NewWriterSize(nc, 32<<10),
		raw:        nowait.New(unwrap(nc)),
	}
}

// unwrap returns the connection under the byte counting of Client.Stats.
func unwrap(nc net.Conn) net.Conn {
	if cc, ok := nc.(*countConn); ok {
		return cc.Conn
	}
	return nc
}

// run starts the three goroutines.
func (cn *conn) run() {
	cn.running.Store(3)
	go cn.goroutine(cn.readLoop)
	go cn.goroutine(cn.writeLoop)
	go cn.goroutine(cn.dispatchLoop)
}

func (cn *conn) goroutine(loop func()) {
	defer func() {
		if cn.running.Add(-1) == 0 {
			close(cn.exited)
		}
	}()
	loop()
}

// close ends the connection with err, once: it records err, closes done and
// the network connection (which unblocks the reader), and fails the waiters
// of the session. Later calls do nothing.
func (cn *conn) close(err error) {
	cn.closeOnce.Do(func() {
		cn.err = err
		close(cn.done)
		cn.nc.Close()
		cn.c.connLost(cn, err)
	})
}

// cause returns why the connection ended, or nil while it is live.
func (cn *conn) cause() error {
	select {
	case <-cn.done:
		return cn.err
	default:
		return nil
	}
}

// lostErr is the error for an operation cut short by the end of cn.
func (cn *conn) lostErr() error {
	err := cn.cause()
	if errors.Is(err, ErrDisconnected) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrConnectionLost, err)
}

func (cn *conn) wait() { <-cn.exited }

func (cn *conn) waitCtx(ctx context.Context) error {
	select {
	case <-cn.exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue hands b to the writer without waiting. After the connection has
// ended it drops b: the session state, not the queue, is what survives.
func (cn *conn) enqueue(o outgoing) {
	cn.add(o)
	cn.wake()
}

// add queues o without waking the writer: the caller then calls push, or
// wake.
func (cn *conn) add(o outgoing) {
	cn.qmu.Lock()
	cn.queue = append(cn.queue, o)
	cn.qmu.Unlock()
}

// maxQueuedAsync is how many packets may wait for the writer before a
// PublishAsync at QoS 0 waits for its own to be written: the queue of a
// caller that publishes faster than the network takes stays bounded.
const maxQueuedAsync = 256

// addAsync queues o, whose sent Ack the writer finishes, and reports
// whether the queue is past maxQueuedAsync (full); or, if the writer has
// ended, it queues nothing and reports ok false.
func (cn *conn) addAsync(o outgoing) (ok, full bool) {
	cn.qmu.Lock()
	defer cn.qmu.Unlock()
	if cn.qclosed {
		return false, false
	}
	cn.queue = append(cn.queue, o)
	return true, len(cn.queue) > maxQueuedAsync
}

// abandon fails what is left in the queue once the writer has ended, and
// keeps anything more from being queued by addAsync: a PublishAsync's Ack
// learns that the connection was lost. A caller of send finds its packet
// gone from the queue (queued) and waits for done.
func (cn *conn) abandon() {
	cn.qmu.Lock()
	cn.qclosed = true
	q := cn.queue
	cn.queue = nil
	cn.qmu.Unlock()
	err := cn.lostErr()
	for _, o := range q {
		if o.done != nil {
			o.done <- err
		}
		if o.sent != nil {
			o.sent.finish(err)
		}
		if o.pool {
			putBuf(o.b)
		}
	}
}

// wake wakes the writer.
func (cn *conn) wake() {
	select {
	case cn.kick <- struct{}{}:
	default:
	}
}

// push sends what is queued: from the calling goroutine if nobody is
// writing, else by waking the writer, which is busy and sends it with its
// next batch. Only a caller of the API calls it, holding no lock of the
// client: never the reader, which must not wait on the network to write
// while the server may be waiting for it to read.
func (cn *conn) push() {
	if !cn.writeDirect() {
		cn.wake()
	}
}

// directMax bounds the bytes a caller writes itself at once (see
// writeDirect): larger packets go to the writer, and the copy a caller
// makes stays small.
const directMax = 16 << 10

// writeDirect writes the queue from the calling goroutine, if nobody else
// is writing, and reports whether it wrote all of it. A message then
// crosses no goroutine on its way out: a Publish at a low rate costs no
// wake-up of the writer, while under load the writer is busy, callers
// queue behind it, and it sends their packets in batches.
//
// It never waits: it copies the packets (at most directMax bytes) and
// writes what the socket takes at once (package nowait); the rest goes
// back to the front of the queue, for the writer. So a caller is never
// stuck on a server that does not read, whatever its context. Only plain
// TCP and Unix connections allow it; on others the writer writes.
func (cn *conn) writeDirect() bool {
	if cn.raw == nil || !cn.wmu.TryLock() {
		return false
	}
	defer cn.wmu.Unlock()
	if cn.cause() != nil {
		// Ended: what is queued stays unwritten, as the writer leaves it.
		// The session re-sends its flows on the next connection, and
		// acknowledged ones may have given their buffers back already.
		return true
	}
	batch, more := cn.takeSome(cn.direct[:0], directMax)
	if len(batch) == 0 {
		cn.direct = batch
		return !more
	}
	// A copy is written, not the packets: once written, a flow may be
	// acknowledged and its buffer reused before the write returns.
	buf := cn.wbuf[:0]
	for i := range batch {
		cn.c.stats.wrote(batch[i].bytes())
		buf = append(buf, batch[i].bytes()...)
	}
	cn.wbuf = buf
	cn.vec[0] = buf
	_, n, err := cn.raw.Write(cn.vec[:])
	cn.vec[0] = nil
	cn.c.stats.bytesSent.Add(uint64(n))
	if n > 0 {
		cn.lastSend.Store(time.Now().UnixNano())
	}
	done := batch
	if err == nil && n < len(buf) {
		done = cn.requeue(batch, n) // the socket is full
		more = true
	}
	cn.finishBatch(done, err)
	clear(batch)
	cn.direct = batch[:0]
	return !more
}

// takeSome moves queued packets to batch, in order, as long as their
// bytes stay within max, and reports whether any are left in the queue.
func (cn *conn) takeSome(batch []outgoing, max int) ([]outgoing, bool) {
	cn.qmu.Lock()
	defer cn.qmu.Unlock()
	n, size := 0, 0
	for n < len(cn.queue) {
		size += len(cn.queue[n].bytes())
		if size > max {
			break
		}
		n++
	}
	batch = append(batch, cn.queue[:n]...)
	rest := copy(cn.queue, cn.queue[n:])
	clear(cn.queue[rest:])
	cn.queue = cn.queue[:rest]
	return batch, rest > 0
}

// requeue puts back at the front of the queue the packets of batch that
// the first n bytes of its copy do not cover: the rest of one cut short,
// copied, then those not begun. It returns the packets written whole.
func (cn *conn) requeue(batch []outgoing, n int) []outgoing {
	k, off := 0, 0
	for ; k < len(batch); k++ {
		l := len(batch[k].bytes())
		if off+l > n {
			break
		}
		off += l
	}
	whole := k
	back := make([]outgoing, 0, len(batch)-k)
	if off < n { // packet k was cut short
		o := &batch[k]
		back = append(back, outgoing{b: slices.Clone(o.bytes()[n-off:]), done: o.done, sent: o.sent})
		if o.pool {
			putBuf(o.b)
		}
		k++
	}
	back = append(back, batch[k:]...)
	cn.qmu.Lock()
	cn.queue = append(back, cn.queue...)
	cn.qmu.Unlock()
	return batch[:whole]
}

// extendDeadline moves the write deadline to the keep alive plus
// PingTimeout from now, when less than half of that is left: a write that
// long stuck means the server is gone. Setting a deadline costs a timer
// change in the runtime, so most writes keep the one they find. wmu must
// be held.
func (cn *conn) extendDeadline(now time.Time) {
	cfg := &cn.c.cfg
	if cfg.KeepAlive <= 0 {
		return
	}
	d := cfg.KeepAlive + cfg.PingTimeout
	if cn.deadline.Sub(now) < d/2 {
		cn.deadline = now.Add(d)
		cn.nc.SetWriteDeadline(cn.deadline)
	}
}

// finishBatch reports the outcome of writing batch: to its waiters, and,
// if it failed, by ending the connection. It gives the pooled buffers back
// and clears batch's entries.
func (cn *conn) finishBatch(batch []outgoing, err error) error {
	if err != nil {
		// The waiters learn that the connection is lost, and why.
		cn.close(fmt.Errorf("mqtt: write: %w", err))
		err = cn.lostErr()
	}
	for i := range batch {
		if batch[i].done != nil {
			batch[i].done <- err
		}
		if batch[i].sent != nil {
			batch[i].sent.finish(err)
		}
		if batch[i].pool {
			putBuf(batch[i].b)
		}
		batch[i] = outgoing{}
	}
	return err
}

var errChanPool = sync.Pool{New: func() any { return make(chan error, 1) }}

// send hands b to the writer and waits until it is written, the connection
// ends, or ctx ends.
func (cn *conn) send(ctx context.Context, b []byte) error {
	return cn.sendPooled(ctx, b, false)
}

func (cn *conn) sendPooled(ctx context.Context, b []byte, pool bool) error {
	done := errChanPool.Get().(chan error)
	cn.add(outgoing{b: b, done: done, pool: pool})
	cn.push()
	select {
	case err := <-done:
		errChanPool.Put(done)
		return err
	case <-cn.done:
		if cn.queued(done) {
			return cn.lostErr()
		}
		// The writer has taken b, so it reports the outcome, which may be
		// a write done just before the connection ended: the server closes
		// it once it has read DISCONNECT.
		select {
		case err := <-done:
			errChanPool.Put(done)
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// queued reports whether the packet whose waiter is done is still in the
// queue, not taken by the writer. Once taken, it is written, or its write
// fails, and the writer reports on done either way.
func (cn *conn) queued(done chan error) bool {
	cn.qmu.Lock()
	defer cn.qmu.Unlock()
	for _, o := range cn.queue {
		if o.done == done {
			return true
		}
	}
	return false
}

// take moves the queued packets to batch.
func (cn *conn) take(batch []outgoing) []outgoing {
	cn.qmu.Lock()
	batch = append(batch, cn.queue...)
	clear(cn.queue)
	cn.queue = cn.queue[:0]
	cn.qmu.Unlock()
	return batch
}

// maxCoalesce bounds how many times the writer looks for more packets
// before it writes a batch.
const maxCoalesce = 8

// While messages stream, the writer may hold a batch of packets nobody
// waits on (QoS 1 and 2 PUBLISH, acknowledgements) for a moment before
// flushing it, so that one system call carries many: at tens of thousands
// of messages a second this halves the client's CPU time per message,
// while a lone message or a Publish at a low rate is flushed at once.
const (
	holdMax     = 200 * time.Microsecond // the longest a batch is held
	holdPackets = 16                     // a batch this long is flushed
	holdBytes   = 8 << 10                // so is one this big
	holdFlows   = 8                      // outgoing flows outstanding that count as streaming
	streamGap   = 20 * time.Microsecond  // packets received closer than this count as streaming
)

var pingreq = []byte{byte(packet.TypePingreq) << 4, 0}

// mayHold reports whether a batch whose packets have the hold kinds in
// kinds (a bit set) may be held, as more of the same are due soon: the
// answers to the server's flows while packets arrive close together, the
// client's own flows while many await their acknowledgements. Holding the
// only outstanding flow would gain nothing and cost its latency.
func (cn *conn) mayHold(kinds uint8, now time.Time) bool {
	if kinds&(1<<holdNever) != 0 {
		return false
	}
	if kinds&(1<<holdOwn) != 0 && !cn.c.streaming() {
		return false
	}
	if kinds&(1<<holdInbound) != 0 {
		last := cn.lastIn.Load()
		return cn.inGap.Load() < int64(streamGap) && now.UnixNano()-last < int64(holdMax)
	}
	return true
}

// streaming reports whether enough of the client's own flows are in
// flight that more of their packets are due soon: the writer then batches
// them, and callers leave their writing to it.
func (c *Client) streaming() bool { return len(c.inflight) >= holdFlows }

// noteIn records the arrival of a packet, for streaming.
func (cn *conn) noteIn() {
	now := time.Now().UnixNano()
	cn.inGap.Store(now - cn.lastIn.Swap(now))
}

// writeLoop writes queued packets, coalescing them into batches with one
// flush each, and sends PINGREQ when nothing was sent for the keepalive
// interval [MQTT-3.1.2-23]. A PINGREQ unanswered for PingTimeout ends the
// connection, except while the reader is held back by slow handlers: then
// PINGRESP may be waiting unread in the socket, behind the messages the
// server sent meanwhile. So the ping timeout runs from the PINGREQ or from
// when the reader last went on reading, whichever is later.
func (cn *conn) writeLoop() {
	defer cn.abandon()
	cfg := &cn.c.cfg
	bw := cn.bw
	keepAlive := cfg.KeepAlive
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	if keepAlive <= 0 {
		timer.Stop()
	} else {
		timer.Reset(keepAlive)
	}
	cn.lastSend.Store(time.Now().UnixNano())
	var (
		batch []outgoing // written to bw, not yet flushed; wmu is held while it is not empty
		held  time.Time  // when the held batch was first held, or zero
		kinds uint8      // the hold kinds of the batch's packets, a bit each
	)
	for {
		select {
		case <-cn.done:
			return
		case <-cn.kick:
		case <-timer.C:
		}
		n := len(batch)
		if n == 0 {
			cn.wmu.Lock() // after a caller's own write, if one is under way
		}
		batch = cn.take(batch)
		var err error
		if len(batch) > n {
			cn.extendDeadline(time.Now())
			// Let the goroutines woken by the last write (publishers, the
			// reader's acknowledgements) queue more: one system call then
			// carries many packets.
			for round := 0; ; round++ {
				for _, o := range batch[n:] {
					kinds |= 1 << o.hold
					if o.done != nil {
						kinds |= 1 << holdNever // somebody waits for it
					}
					if err == nil {
						cn.c.stats.wrote(o.bytes())
						_, err = bw.Write(o.bytes())
					}
				}
				n = len(batch)
				if err != nil || round == maxCoalesce {
					break
				}
				runtime.Gosched()
				if batch = cn.take(batch); len(batch) == n {
					break
				}
			}
		}
		now := time.Now()
		if err == nil && len(batch) > 0 && len(batch) < holdPackets && bw.Buffered() < holdBytes && cn.mayHold(kinds, now) {
			if held.IsZero() {
				held = now
			}
			if wait := held.Add(holdMax).Sub(now); wait > 0 {
				timer.Reset(wait)
				continue
			}
		}
		if len(batch) > 0 {
			if err == nil {
				err = bw.Flush()
			}
			cn.lastSend.Store(now.UnixNano())
			err = cn.finishBatch(batch, err)
			batch, held, kinds = batch[:0], time.Time{}, 0
			if err != nil {
				return
			}
		}
		cn.wmu.Unlock()
		if keepAlive <= 0 {
			continue
		}
		lastSend := time.Unix(0, cn.lastSend.Load())
		sent := cn.pingSent.Load()
		if sent != 0 && !cn.readerBlocked.Load() && now.Sub(time.Unix(0, max(sent, cn.unblocked.Load()))) >= cfg.PingTimeout {
			cn.close(ErrPingTimeout)
			return
		}
		if now.Sub(lastSend) >= keepAlive {
			// Record the PINGREQ before writing it: the reader may handle
			// the PINGRESP before the write returns.
			if sent == 0 {
				sent = now.UnixNano()
				cn.pingSent.Store(sent)
			}
			cn.pingReqs.Add(1)
			cn.wmu.Lock()
			cn.extendDeadline(now)
			_, err := cn.nc.Write(pingreq)
			cn.wmu.Unlock()
			if err != nil {
				cn.close(fmt.Errorf("mqtt: write PINGREQ: %w", err))
				return
			}
			lastSend = now
			cn.lastSend.Store(now.UnixNano())
		}
		wait := lastSend.Add(keepAlive).Sub(now)
		if sent != 0 && !cn.readerBlocked.Load() {
			wait = min(wait, time.Unix(0, max(sent, cn.unblocked.Load())).Add(cfg.PingTimeout).Sub(now))
		}
		timer.Reset(max(wait, time.Millisecond))
	}
}

// readLoop reads packets until the connection ends.
func (cn *conn) readLoop() {
	defer close(cn.readDone)
	for {
		p, err := cn.r.ReadPacket()
		cn.noteIn()
		if err != nil {
			cn.flushDeliveries() // what came whole before the end
			switch {
			case cn.cause() != nil: // closed on purpose; keep the first error
			case err == io.EOF:
				err = errors.New("mqtt: the server closed the connection")
			default:
				err = fmt.Errorf("mqtt: read: %w", err)
			}
			cn.close(err)
			return
		}
		cn.packetsIn.Add(1)
		cn.c.stats.read(p)
		if p.Type() != packet.TypePingresp && !cn.progress.Load() {
			cn.progress.Store(true)
		}
		if err := cn.c.handle(cn, p); err != nil {
			cn.flushDeliveries()
			cn.c.log.Warn("mqtt: closing the connection", "error", err)
			cn.close(err)
			return
		}
		if len(cn.pending) > 0 && cn.r.Buffered() == 0 {
			stream := streamQoS0(cn.pending)
			cn.flushDeliveries()
			if stream {
				time.Sleep(coalesceWait)
			}
		}
	}
}

// While QoS 0 messages stream in, the reader waits coalesceWait after
// each read of at least coalesceMin of them, so that the next read finds
// many: a reader that empties the socket at every packet sleeps on it,
// and the server's every write must then wake it, which costs the server
// more than the write (Mosquitto spent a third more CPU per message on a
// subscriber that kept up so). Acknowledged messages are never held so.
const (
	coalesceMin  = 8
	coalesceWait = 100 * time.Microsecond
)

// streamQoS0 reports whether the deliveries of one read are a stream of
// QoS 0 messages (see coalesceWait).
func streamQoS0(ds []delivery) bool {
	if len(ds) < coalesceMin {
		return false
	}
	for i := range ds {
		if ds[i].ack != 0 || ds[i].settled != nil {
			return false
		}
	}
	return true
}

// maxBatch is the most messages the reader holds before handing them to
// the dispatcher.
const maxBatch = 64

// queueDelivery queues d for the dispatcher. The reader hands its messages
// over in batches: when no whole packet more is buffered (before a read
// from the network, which may wait: see firstBytes), or maxBatch are
// waiting. So a stream of messages wakes the dispatcher once a batch, not
// once a message, while a lone message goes at once.
func (cn *conn) queueDelivery(d delivery) {
	cn.pending = append(cn.pending, d)
	if len(cn.pending) >= maxBatch {
		cn.flushDeliveries()
	}
}

// flushDeliveries hands the reader's pending messages to the dispatcher.
func (cn *conn) flushDeliveries() {
	for i := range cn.pending {
		cn.deliver(cn.pending[i])
		cn.pending[i] = delivery{}
	}
	cn.pending = cn.pending[:0]
}

// Messages are made in chunks, so that a stream of them costs an
// allocation every msgChunk messages, and one every payloadChunk bytes of
// payloads, instead of three a message. A handler that keeps a message
// keeps its chunks alive; they start small on each connection and double
// while messages come, so that what a few messages kept hold besides is
// small, and a stream's, at most a few KiB.
const (
	msgChunk         = 64
	payloadChunk     = 16 << 10
	firstMsgChunk    = 4
	firstPayloadSize = 256
)

// newMessage returns the Message of p, its payload copied out of the
// reader's buffer.
func (cn *conn) newMessage(p *packet.Publish) *Message {
	if len(cn.msgs) == cap(cn.msgs) {
		cn.msgs = make([]Message, 0, min(max(2*cap(cn.msgs), firstMsgChunk), msgChunk))
	}
	cn.msgs = cn.msgs[:len(cn.msgs)+1]
	m := &cn.msgs[len(cn.msgs)-1]
	if string(p.Topic) != cn.topic {
		cn.topic = string(p.Topic)
	}
	var payload []byte
	switch n := len(p.Payload); {
	case n == 0:
	case n > payloadChunk/8:
		payload = append([]byte(nil), p.Payload...)
	default:
		if len(cn.payloads)+n > cap(cn.payloads) {
			cn.payloads = make([]byte, 0, max(min(2*cap(cn.payloads), payloadChunk), firstPayloadSize, n))
		}
		i := len(cn.payloads)
		cn.payloads = append(cn.payloads, p.Payload...)
		payload = cn.payloads[i : i+n : i+n] // its own capacity: an append copies
	}
	*m = Message{Topic: cn.topic, Payload: payload, QoS: p.QoS, Retain: p.Retain, Duplicate: p.Dup, PacketID: p.PacketID}
	return m
}

// deliver queues d for the dispatcher. When the queue is full the reader
// waits here, and so stops reading: the server's sends back up while
// keepalive goes on.
func (cn *conn) deliver(d delivery) {
	select {
	case cn.deliveries <- d:
		return
	default:
	}
	cn.readerBlocked.Store(true)
	select {
	case cn.deliveries <- d:
	case <-cn.done:
		// Not handed over: the server sends it again on the next
		// connection, and a QoS 2 one must then be delivered, not taken
		// for a duplicate.
		if d.ack == packet.TypePubrec {
			cn.c.mu.Lock()
			if cn.c.inbound[d.id].st == inboundPending {
				delete(cn.c.inbound, d.id)
			}
			cn.c.mu.Unlock()
		}
	}
	cn.unblocked.Store(time.Now().UnixNano()) // before readerBlocked: the writer reads them in the other order
	cn.readerBlocked.Store(false)
}

// dispatchLoop runs handlers in arrival order. When the connection ends it
// still delivers what was received, then returns.
//
// Whenever no message is left waiting, it calls Config.DispatchIdle.
func (cn *conn) dispatchLoop() {
	idle := cn.c.cfg.DispatchIdle
	for {
		select {
		case d := <-cn.deliveries:
			cn.dispatch(d)
			if idle != nil && len(cn.deliveries) == 0 {
				idle()
			}
		case <-cn.done:
			// The reader may queue one last message as the connection
			// ends: deliver it too, or its QoS 2 identifier would stay
			// pending, and its re-delivery be taken for a duplicate.
			<-cn.readDone
			for {
				select {
				case d := <-cn.deliveries:
					cn.dispatch(d)
				default:
					if idle != nil {
						idle()
					}
					return
				}
			}
		}
	}
}

// stallWatch returns a function that, called once a settleStall, reports
// whether the dispatcher has been in the same handler since the last call.
func (cn *conn) stallWatch() func() bool {
	last := cn.dispatched.Load()
	return func() bool {
		n := cn.dispatched.Load()
		stalled := n == last && cn.inHandler.Load()
		last = n
		return stalled
	}
}

// dispatch runs the handlers of d, or marks the point d stands for.
func (cn *conn) dispatch(d delivery) {
	if d.settled != nil {
		close(d.settled)
		return
	}
	cn.inHandler.Store(true)
	cn.c.dispatch(cn, d)
	cn.inHandler.Store(false)
	cn.dispatched.Add(1)
}

// pingWait is a Ping call awaiting the PINGRESP that answers the
// target-th PINGREQ: PINGRESPs come in the order of the PINGREQs.
type pingWait struct {
	target uint64
	ch     chan struct{}
}

// pinged counts a PINGRESP and wakes the Ping calls it answers.
func (cn *conn) pinged() {
	n := cn.pingResps.Add(1)
	cn.qmu.Lock()
	defer cn.qmu.Unlock()
	keep := cn.pings[:0]
	for _, w := range cn.pings {
		if w.target <= n {
			close(w.ch)
		} else {
			keep = append(keep, w)
		}
	}
	cn.pings = keep
}

// awaitPong returns a channel closed once the PINGREQs written so far are
// answered.
func (cn *conn) awaitPong() <-chan struct{} {
	ch := make(chan struct{})
	target := cn.pingReqs.Load()
	cn.qmu.Lock()
	defer cn.qmu.Unlock()
	if cn.pingResps.Load() >= target {
		close(ch)
	} else {
		cn.pings = append(cn.pings, pingWait{target, ch})
	}
	return ch
}
