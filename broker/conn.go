package broker

import (
	"container/list"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/petrel-mqtt/petrel/internal/nowait"
	"github.com/petrel-mqtt/petrel/packet"
)

// conn is one client connection. Its reader goroutine (serve) reads and
// handles packets; what the reader and the session queue for it is
// written by a reader or a short-lived writer goroutine (write.go).
//
// The fields set while handling CONNECT (sess, ident, will) are written by
// the reader before the session can route anything to the connection, and
// only read afterwards.
type conn struct {
	srv    *Server
	nc     net.Conn
	remote string
	tls    *tls.ConnectionState // nil without TLS; set before serve
	raw    *nowait.Writer       // for writes that never wait; nil if nc has no descriptor

	// A connection from a nowait.Listener parks while it has nothing to
	// read: its reader goroutine ends, and pc calls resume once bytes
	// come (unpark). Others (TLS, WebSocket, ServeConn) keep a reader
	// goroutine waiting.
	pc     *nowait.Conn        // nc, if it parks; else nil
	src    parkReader          // what r reads from, if it parks
	r      *packet.Reader      // the reader, while parked
	resume func(*nowait.Yield) // runs unpark; bound once
	y      *nowait.Yield       // while the poller's goroutine reads for it (handoff)
	inline int                 // packets read there since it woke
	opened bool                // it has been woken once: its CONNECT was read (start)

	// Guarded by Server.mu: the connection's place among the pending
	// ones (nil once its CONNECT is accepted, or it was evicted), its IP
	// address if Config.MaxPendingPerIP counts it, and whether it holds
	// one of the Config.MaxConnections places.
	pend     *list.Element
	ip       string
	admitted bool

	sess        *session
	ident       Identity
	will        *message // published unless the client sends DISCONNECT
	keepAlive   time.Duration
	deadlineSet time.Time // when the reader last moved the read deadline
	mqtt31      bool      // the client speaks MQTT 3.1 (protocol "MQIsdp")
	disconnect  bool      // the client sent DISCONNECT: discard the will
	overLimit   bool      // a SUBSCRIBE went beyond MaxSubscriptions: logged once at Warn

	done      chan struct{} // closed by close
	closeOnce sync.Once
	reason    error         // why the connection ended; set in closeOnce
	drained   chan struct{} // the writer emptied the outbox; 1-buffered, made when the reader waits; guarded by mu
	detached  chan struct{} // closed when the connection has left its session

	// The writer's role (write.go); wmu guards the three flags.
	wmu      sync.Mutex
	writing  bool // a reader or a writer goroutine is writing to nc
	wpending bool // something was queued while it wrote: it goes round again
	wclosed  bool // finish has run: no writer starts
	writers  sync.WaitGroup
	flushq   []*conn              // for the reader: connections to write to once it has handled what it read
	noted    atomic.Pointer[conn] // the reader whose flushq lists this connection, if any

	// congested holds, for the reader, the sessions its last PUBLISH left
	// above their high-water marks; waiting is set while the reader waits
	// for them (flow.go).
	congested []*session
	waiting   atomic.Bool

	mu     sync.Mutex // guards outbox; taken before session.mu
	outbox []outPacket
}

func newConn(srv *Server, nc net.Conn) *conn {
	c := &conn{
		srv: srv, nc: nc, raw: nowait.New(nc),
		done:     make(chan struct{}),
		detached: make(chan struct{}),
	}
	if a := nc.RemoteAddr(); a != nil {
		c.remote = a.String()
	}
	return c
}

// parks makes c a connection that parks while idle (see pc); Serve
// calls it for what a nowait.Listener accepted, before open.
func (c *conn) parks(pc *nowait.Conn) {
	c.pc = pc
	c.src.conn = c
	c.resume = func(y *nowait.Yield) {
		if y == nil || !c.srv.inline {
			// Not the poller, or a store that writes to disk or
			// an Authorizer of the caller's: a goroutine of its
			// own.
			go c.unpark(nil)
			return
		}
		c.unpark(y)
	}
}

// close ends the connection for reason: the first call records it, closes
// done and the network connection, which stops the reader and the writer.
// It is safe to call from any goroutine, any number of times.
func (c *conn) close(reason error) {
	c.closeOnce.Do(func() {
		c.reason = reason
		close(c.done)
		c.nc.Close()
	})
}

// serve runs the connection on the calling goroutine until it ends, then
// cleans up.
func (c *conn) serve() {
	r := c.open()
	if r == nil {
		c.finish()
		return
	}
	c.run(r)
}

// open runs the TLS handshake and handles CONNECT. It returns the reader
// to go on with, or nil if the connection ended.
func (c *conn) open() *packet.Reader {
	cfg := &c.srv.cfg
	if c.pc == nil {
		c.nc.SetDeadline(time.Now().Add(cfg.ConnectTimeout))
	} // else startParked set the read deadline, and writes never wait

	if tc, ok := c.nc.(*tls.Conn); ok {
		if err := tc.HandshakeContext(c.srv.ctx); err != nil {
			c.close(err)
			return nil
		}
		st := tc.ConnectionState()
		c.tls = &st
	}
	// Until CONNECT is accepted, the packet size limit is the small
	// MaxConnectPacketSize: a client that has not logged in holds little.
	var src io.Reader = c.nc
	if c.pc != nil {
		src = &c.src
	} else if rr := nowait.NewReader(c.nc); rr != nil {
		src = rr // plain TCP or Unix: reads made raw
	}
	r := packet.NewPooledReader(&countingReader{r: src, n: &c.srv.stats.bytesReceived}, cfg.MaxConnectPacketSize)
	p, err := r.ReadPacket()
	if err != nil {
		if errors.Is(err, packet.ErrProtocolLevel) {
			// [MQTT-3.1.2-2]: refuse with return code 1, then close.
			c.refuse(packet.RefusedProtocolVersion, err)
			return nil
		}
		c.close(err)
		return nil
	}
	connect, ok := p.(*packet.Connect)
	if !ok {
		c.close(errConnectFirst)
		return nil
	}
	if connect.WillFlag {
		if err := checkLevels("will topic", connect.WillTopic, cfg.MaxTopicLevels); err != nil {
			c.close(err)
			return nil
		}
	}
	if !c.connect(connect) {
		return nil
	}
	// The connect deadline ends here: the reader keeps its own (keep
	// alive), and a write that never waits must not find an old one.
	c.nc.SetWriteDeadline(time.Time{})
	if c.keepAlive > 0 {
		c.keepDeadline()
	} else {
		c.nc.SetReadDeadline(time.Time{})
	}
	c.flushLater() // CONNACK, and a resumed session's re-sends
	r.SetMaxPacketSize(cfg.MaxPacketSize)
	r.SetMQTT31(c.mqtt31)
	r.Release() // here, where the stack is deep anyway: see Serve
	return r
}

// run reads and handles packets until the connection ends, then cleans
// up and reports false; or until a connection that parks has nothing to
// read, and reports true: it is parked, and unpark goes on.
func (c *conn) run(r *packet.Reader) (parked bool) {
	for {
		if c.pc != nil && r.Buffered() == 0 {
			c.src.try = true // the next read is between packets: it may park
		}
		p, err := r.ReadPacket()
		if err == packet.ErrWouldBlock {
			c.r, c.y = r, nil
			r.Release()
			if c.pc.Park(c.resume) {
				return true
			}
			c.src.drained = false // closed or late: the next read says which
			continue
		}
		if c.y != nil {
			if c.inline++; c.inline > maxInline {
				c.handoff() // a stream: its own goroutine, the poller another
			}
		}
		if err == nil && c.keepAlive > 0 {
			c.keepDeadline()
		}
		if !c.step(r, p, err) {
			c.finish()
			return false
		}
	}
}

// maxInline is how many packets the poller's goroutine reads for one
// connection before it hands off.
const maxInline = 128

// unpark runs a parked connection again: bytes came, the read deadline
// passed or the connection was closed. With y, it runs on the poller's
// goroutine, which reads for every parked connection: as Mosquitto's one
// thread does, it handles a client's few packets with no goroutine
// started and no thread woken. Before anything that may wait or last
// (handoff's callers), it hands the poller's role to a new goroutine and
// goes on as the connection's own.
func (c *conn) unpark(y *nowait.Yield) {
	if !c.opened {
		c.start(y)
		return
	}
	r := c.r
	c.r, c.y, c.inline = nil, y, 0
	c.src.drained = false // woken: read
	if !c.run(r) {
		c.srv.wg.Done()
	}
}

// startParked starts a connection that Serve's poller accepted: parked
// until its first bytes come, within the connect timeout, with no
// goroutine of its own meanwhile.
func (s *Server) startParked(pc *nowait.Conn) {
	c := s.track(pc)
	if c == nil {
		return
	}
	c.parks(pc)
	pc.SetReadDeadline(time.Now().Add(s.cfg.ConnectTimeout))
	if !pc.Park(c.resume) {
		go c.start(nil) // closed already: start ends it
	}
}

// start opens a connection that startParked parked, once its first bytes
// came, its connect timeout passed or it was closed, and goes on as
// unpark does. On the poller's goroutine (y), a client's connection is
// so accepted, read, answered and parked with no goroutine started; what
// may wait on the way hands off first: an Authenticator, a session taken
// over, a refusal, the end.
func (c *conn) start(y *nowait.Yield) {
	c.opened, c.y, c.inline = true, y, 0
	r := c.open()
	if r == nil {
		c.finish()
		c.srv.wg.Done()
		return
	}
	if !c.run(r) {
		c.srv.wg.Done()
	}
}

// handoff makes the goroutine reading for c its own, if it was the
// poller's (unpark).
func (c *conn) handoff() {
	if c.y != nil {
		c.y.Handoff()
		c.y = nil
	}
}

// parkReader is the source of a parking connection's packet.Reader: a
// read between packets (try) never waits, and says so with
// packet.ErrWouldBlock. When the last read took less than it asked for,
// the socket was empty then, and a read between packets is not even
// tried: the connection parks at once, and Park wakes it at once if bytes
// came meanwhile. At a low rate, a client's every packet so costs one
// system call less.
//
// A read within a packet waits for the rest on a goroutine of the
// connection's own: never on the poller's, which alone could wake it.
type parkReader struct {
	conn    *conn
	try     bool
	drained bool // the last read returned less than asked
}

func (p *parkReader) Read(b []byte) (n int, err error) {
	pc := p.conn.pc
	if !p.try {
		if n, err = pc.TryRead(b); err == nowait.ErrWouldBlock {
			p.conn.handoff()
			n, err = pc.Read(b)
		}
	} else {
		p.try = false
		if p.drained {
			return 0, packet.ErrWouldBlock
		}
		if n, err = pc.TryRead(b); err == nowait.ErrWouldBlock {
			return 0, packet.ErrWouldBlock
		}
	}
	p.drained = n < len(b)
	return n, err
}

// keepDeadline keeps the read deadline at 1.5 times the keep alive from
// the last packet [MQTT-3.1.2-24]; the reader calls it once it has read a
// packet. Moving it is timer work, so it moves once it has fallen behind
// by 1/64 of the keep alive, not at every packet: a silent client is
// closed after 1.48 to 1.5 times the keep alive.
func (c *conn) keepDeadline() {
	if now := time.Now(); now.Sub(c.deadlineSet) > c.keepAlive/64 {
		c.nc.SetReadDeadline(now.Add(c.keepAlive * 3 / 2))
		c.deadlineSet = now
	}
}

// step handles what ReadPacket returned, and reports whether the
// connection goes on. It is a function of its own, not inlined, so that
// run's frame stays small: an idle client's reader waits on a 2 KiB
// stack.
//
//go:noinline
func (c *conn) step(r *packet.Reader, p packet.Packet, err error) bool {
	if err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			err = errKeepAlive
		}
		c.flushLater()
		c.leave(err)
		return false
	}
	if err := c.handle(p); err != nil {
		c.flushLater()
		c.leave(err)
		return false
	}
	if r.Buffered() == 0 || len(c.congested) > 0 || len(c.flushq) > 64 {
		c.flushLater() // before waiting, for the stream or for a queue to drain
	}
	if len(c.congested) > 0 {
		c.handoff()
		c.awaitDrain() // flow.go
	}
	return true
}

// leave ends the connection from the reader, for reason: it takes the
// connection off its session before closing it, so that once the client
// sees the connection end (after DISCONNECT, say), a message published is
// the offline session's. finish does the rest.
func (c *conn) leave(reason error) {
	c.srv.detach(c)
	c.close(reason)
}

// handle acts on one packet after CONNECT. An error closes the connection
// without a reply [MQTT-4.8.0-1].
func (c *conn) handle(p packet.Packet) error {
	switch p := p.(type) {
	case *packet.Publish:
		if err := checkLevels("topic name", p.Topic, c.srv.cfg.MaxTopicLevels); err != nil {
			return err
		}
		c.handlePublish(p)
	case *packet.Puback:
		return c.handleAck(packet.TypePuback, p.PacketID)
	case *packet.Pubrec:
		return c.handleAck(packet.TypePubrec, p.PacketID)
	case *packet.Pubcomp:
		return c.handleAck(packet.TypePubcomp, p.PacketID)
	case *packet.Pubrel:
		c.sess.release(p.PacketID)
		c.send(outPacket{t: packet.TypePubcomp, id: p.PacketID}) // [MQTT-4.3.3-2]
	case *packet.Subscribe:
		for _, f := range p.Filters {
			if err := checkLevels("topic filter", f.Filter, c.srv.cfg.MaxTopicLevels); err != nil {
				return err
			}
		}
		c.handoff() // retained messages to send, the ACL to check
		c.handleSubscribe(p)
	case *packet.Unsubscribe:
		c.handoff()
		c.handleUnsubscribe(p)
	case *packet.Pingreq:
		c.send(outPacket{t: packet.TypePingresp}) // [MQTT-3.12.4-1]
	case *packet.Disconnect:
		c.disconnect = true // the will is discarded [MQTT-3.14.4-3]
		return errDisconnected
	case *packet.Connect:
		return errSecondConnect
	default:
		return errServerPacket
	}
	return nil
}

// handleAck applies a PUBACK, PUBREC or PUBCOMP; one that does not fit
// the QoS flow of its message ends the connection.
func (c *conn) handleAck(t packet.Type, id uint16) error {
	pubrel, opened, err := c.sess.ack(t, id)
	if err != nil {
		c.srv.log.Warn("closing the connection: wrong acknowledgement", "client", c.ident.ClientID,
			"remote", c.remote, "err", err)
		return err
	}
	if pubrel {
		c.send(outPacket{t: packet.TypePubrel, id: id})
	}
	if opened {
		c.later(c)
	}
	return nil
}

// refuse sends CONNACK with a refusal code, which ends the connection
// [MQTT-3.2.2-5]; the session present flag is 0 [MQTT-3.2.2-4].
func (c *conn) refuse(code packet.ConnectReturnCode, reason error) {
	c.handoff() // the write may wait
	c.srv.countRefused(code)
	c.srv.log.Info("connection refused", "remote", c.remote, "code", int(code), "reason", reason)
	b, _ := (&packet.Connack{ReturnCode: code}).AppendBinary(nil)
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	if n, err := c.nc.Write(b); err == nil {
		c.srv.stats.bytesSent.Add(uint64(n))
	}
	c.close(errRefused)
}

// finish runs when the reader has stopped: it closes the connection,
// waits for the writer, takes the connection off its session (ending a
// clean session; leave may have done so already), and publishes the will
// unless the client sent DISCONNECT [MQTT-3.1.2-8].
func (c *conn) finish() {
	c.close(io.EOF)
	c.stopWriting()
	if c.sess != nil {
		c.srv.detach(c)
		c.publishWill()
		c.srv.stats.clients.Add(-1)
		c.srv.log.Info("client disconnected", "client", c.sess.id, "remote", c.remote, "reason", c.reason)
	} else {
		c.srv.log.Debug("connection closed", "remote", c.remote, "reason", c.reason)
	}
	close(c.detached)
	c.srv.untrack(c)
}
