package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/petrel-mqtt/petrel/auth"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/transport"
)

// Client is an MQTT 3.1.1 client. Its methods may be called from any
// number of goroutines at once.
//
// The session state (outgoing QoS 1 and 2 messages awaiting their
// acknowledgements, incoming QoS 2 identifiers awaiting PUBREL, and the
// subscriptions) belongs to the Client and outlives each connection, so that
// a later Connect with PersistentSession resumes it.
type Client struct {
	cfg       Config
	creds     auth.Credentials
	addresses []string // for the transport dialer, Address first; none with cfg.Dial
	log       *slog.Logger
	router    router
	maxOut    int // the largest packet Publish sends: Config.MaxPacketSize as given, 0 for no limit

	// inflight limits outgoing QoS 1 and 2 flows to cfg.MaxInflight.
	inflight chan struct{}

	// connectMu serialises Connect and Disconnect.
	connectMu sync.Mutex

	// mu guards the fields below. It is never held across network I/O.
	// Lock order: mu, then a conn's qmu (enqueueing while holding mu) or
	// the router's lock (Subscribe registers handlers so); never the
	// reverse.
	mu       sync.Mutex
	conn     *conn                 // the live connection, or nil
	last     *conn                 // the latest connection, live or ended, to join
	ids      idSet                 // packet identifiers in use
	idFreed  chan struct{}         // closed when an id is freed, if someone waits (see freed)
	flows    map[uint16]*flow      // outgoing QoS 1 and 2 messages by packet id
	seq      uint64                // order of flows, for re-sending
	requests map[uint16]*request   // SUBSCRIBE and UNSUBSCRIBE awaiting their ack
	inbound  map[uint16]received   // QoS 2 messages received, until PUBREL
	released releasedSet           // QoS 2 messages released, until the server has read PUBCOMP
	subs     map[string]packet.QoS // the filters this client holds, with the QoS it asked for
	sup      *supervisor           // reconnects while not nil (Config.Reconnect)
	fatal    error                 // why reconnection gave up, if it did
	queued   int                   // messages queued while reconnecting, not yet sent
	queuedB  int                   // their bytes
	refused  refusals              // the message the server keeps closing the connection after
	maxAcked int                   // the largest PUBLISH acknowledged, in bytes
	conns    atomic.Uint64         // connections made, to number them (conn.id)

	stats stats // counters, read by Stats
}

// New validates cfg and returns a Client for it. It does no network I/O; it
// reads the private key, if cfg.PrivateKey names files.
func New(cfg Config) (*Client, error) {
	c := &Client{cfg: cfg.withDefaults(), maxOut: cfg.MaxPacketSize}
	if err := c.cfg.validate(); err != nil {
		return nil, err
	}
	creds, err := auth.Resolve(c.cfg.User, []byte(c.cfg.UserPassword), c.cfg.PrivateKey)
	if err != nil {
		return nil, err
	}
	c.creds = creds
	if c.cfg.Dial == nil {
		a, err := address(&c.cfg, c.cfg.Address, len(creds.Certificates) > 0)
		if err != nil {
			return nil, err
		}
		c.addresses = append(c.addresses, a)
		if r := c.cfg.Reconnect; r != nil {
			for i, more := range r.Addresses {
				a, err := address(&c.cfg, more, len(creds.Certificates) > 0)
				if err != nil {
					err.(*ConfigError).Field = fmt.Sprintf("Reconnect.Addresses[%d]", i)
					return nil, err
				}
				c.addresses = append(c.addresses, a)
			}
		}
	}
	c.log = c.cfg.Logger
	c.inflight = make(chan struct{}, c.cfg.MaxInflight)
	c.flows = make(map[uint16]*flow)
	c.requests = make(map[uint16]*request)
	c.inbound = make(map[uint16]received)
	c.subs = make(map[string]packet.QoS)
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// address builds the transport address from addr (Config.Address or one
// of Reconnect.Addresses), Port and Option; a key turns TLS on. A port in
// addr (host:port, [IPv6]:port) wins over Port.
func address(cfg *Config, addr string, useKey bool) (string, error) {
	if u, err := transport.ParseAddress(addr); err == nil && u.Scheme != "" && hasScheme(addr) {
		if cfg.Port != 0 || cfg.Option != Plain {
			return "", &ConfigError{Field: "Address", Reason: "is a URL, so Port and Option must be left zero"}
		}
		return u.String(), nil
	}
	host, port := addr, cfg.Port
	if h, p, err := net.SplitHostPort(addr); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			host, port = h, n
		}
	}
	a, err := transport.Address(host, port, cfg.Option == TLS || useKey)
	if err != nil {
		return "", &ConfigError{Field: "Address", Reason: "is not a host name or IP address", Err: err}
	}
	return a, nil
}

func hasScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ':':
			return i+2 < len(s) && s[i+1] == '/' && s[i+2] == '/'
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		default:
			return false
		}
	}
	return false
}

// Connect dials the broker, sends CONNECT and waits for CONNACK, all within
// cfg.ConnectionTimeout and ctx. It returns whether the server holds a
// session for this client (Session Present). A refusal is a *ConnectError
// naming the return code; a failure to dial or a broken handshake says
// which step failed.
//
// With PersistentSession, Connect re-sends the messages whose
// acknowledgement was outstanding when the last connection ended (or, with
// a Config.Store, when the last process ended), in their original order
// [MQTT-4.4.0-1].
//
// With Config.Reconnect, Connect tries Address, then each of
// Reconnect.Addresses, until one accepts; once connected, the client
// reconnects by itself until Disconnect.
func (c *Client) Connect(ctx context.Context) (sessionPresent bool, err error) {
	c.connectMu.Lock()
	defer c.connectMu.Unlock()

	c.mu.Lock()
	live, last, sup := c.current(), c.last, c.sup
	c.mu.Unlock()
	if live != nil || sup != nil {
		return false, ErrAlreadyConnected
	}
	if last != nil {
		last.wait() // the previous connection's goroutines have ended or are ending
	}
	if !c.cfg.PersistentSession {
		if err := c.resetStore(); err != nil {
			return false, err
		}
	}

	addrs := c.addresses
	if len(addrs) == 0 {
		addrs = []string{""} // cfg.Dial
	}
	var errs []error
	for _, a := range addrs {
		cn, present, err := c.connectTo(ctx, a)
		if err == nil {
			if c.cfg.Reconnect != nil {
				c.startSupervisor(cn)
			}
			return present, nil
		}
		if len(addrs) == 1 {
			return false, err
		}
		errs = append(errs, fmt.Errorf("%s: %w", a, err))
		if ctx.Err() != nil || permanent(err) {
			break
		}
	}
	return false, errors.Join(errs...)
}

// connectTo dials addr (or calls Config.Dial, if addr is empty), makes the
// MQTT handshake and starts the connection, within ConnectionTimeout.
func (c *Client) connectTo(ctx context.Context, addr string) (*conn, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectionTimeout)
	defer cancel()
	nc, err := c.dial(ctx, addr)
	if err != nil {
		return nil, false, err
	}
	nc = c.stats.count(nc)
	r, fb, ack, err := c.handshake(ctx, nc, plain(addr))
	if err != nil {
		nc.Close()
		return nil, false, err
	}
	if ack.ReturnCode != packet.Accepted {
		nc.Close()
		return nil, false, &ConnectError{Code: ack.ReturnCode}
	}
	c.log.Info("mqtt: connected", "client_id", c.cfg.ClientID, "session_present", ack.SessionPresent)
	cn := c.start(nc, r, fb, ack.SessionPresent)
	return cn, ack.SessionPresent, nil
}

func (c *Client) dial(ctx context.Context, addr string) (net.Conn, error) {
	if c.cfg.Dial != nil {
		nc, err := c.cfg.Dial(ctx)
		if err != nil {
			return nil, fmt.Errorf("mqtt: dial: %w", err)
		}
		return nc, nil
	}
	d := transport.Dialer{TLSConfig: c.tlsConfig(), Timeout: -1}
	return d.Dial(ctx, addr)
}

func (c *Client) tlsConfig() *tls.Config {
	if len(c.creds.Certificates) == 0 {
		return c.cfg.TLSConfig
	}
	return c.creds.TLSConfig(c.cfg.TLSConfig)
}

// plain reports whether addr, a transport address, is plain MQTT over
// TCP, without TLS.
func plain(addr string) bool {
	return strings.HasPrefix(addr, "mqtt://") || strings.HasPrefix(addr, "tcp://")
}

// firstBytes is a net.Conn that keeps the first bytes read from it: a
// server that answers CONNECT with TLS bytes is a TLS port.
//
// It is the reader's source for the life of the connection: once cn is
// set, each read, which may wait for the network, first hands the
// messages decoded so far to the dispatcher (see conn.flushDeliveries).
type firstBytes struct {
	net.Conn
	b  [2]byte
	n  int
	cn *conn
}

func (f *firstBytes) Read(p []byte) (int, error) {
	if f.cn != nil && len(f.cn.pending) > 0 {
		f.cn.flushDeliveries()
	}
	n, err := f.Conn.Read(p)
	f.n += copy(f.b[f.n:], p[:n])
	return n, err
}

// tls reports whether the bytes read look like a TLS record: an alert
// (0x15) or a handshake (0x16), of version 3.x.
func (f *firstBytes) tls() bool {
	return f.n == 2 && (f.b[0] == 0x15 || f.b[0] == 0x16) && f.b[1] == 0x03
}

// errTLSPort is the advice for a plain connection to a TLS port.
const errTLSPort = "use TLS (Option TLS / --cafile) or the plain port 1883"

// handshake sends CONNECT on nc and reads the CONNACK, within ctx. If
// plain, nc is plain MQTT over TCP, and a server that closes it on
// CONNECT may be a TLS port.
func (c *Client) handshake(ctx context.Context, nc net.Conn, plain bool) (*packet.Reader, *firstBytes, *packet.Connack, error) {
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		nc.SetDeadline(d)
	}

	b, err := c.connectPacket().AppendBinary(nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("mqtt: CONNECT: %w", err)
	}
	if _, err := nc.Write(b); err != nil {
		return nil, nil, nil, c.handshakeErr(ctx, "sending CONNECT", err)
	}
	fb := &firstBytes{Conn: nc}
	r := packet.NewReader(fb, c.cfg.MaxPacketSize)
	p, err := r.ReadPacket()
	switch {
	case fb.tls():
		return nil, nil, nil, fmt.Errorf("mqtt: waiting for CONNACK: the server answered with TLS: %s: %w", errTLSPort, ErrProtocolViolation)
	case err == nil:
	case plain && ctx.Err() == nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
		return nil, nil, nil, fmt.Errorf("mqtt: waiting for CONNACK: %w (the server closed the connection without answering CONNECT: if this is a TLS port, %s)", err, errTLSPort)
	default:
		return nil, nil, nil, c.handshakeErr(ctx, "waiting for CONNACK", err)
	}
	ack, ok := p.(*packet.Connack)
	if !ok {
		return nil, nil, nil, fmt.Errorf("mqtt: the server sent %v instead of CONNACK [MQTT-3.2.0-1]: %w", p.Type(), ErrProtocolViolation)
	}
	if !stop() {
		return nil, nil, nil, c.handshakeErr(ctx, "waiting for CONNACK", ctx.Err())
	}
	nc.SetDeadline(time.Time{})
	a := *ack
	return r, fb, &a, nil
}

// handshakeErr describes a failed step of the handshake. The connection's
// deadline, set from ctx's, can pass a moment before ctx reports that it
// has ended: an I/O timeout is the connection timeout all the same.
func (c *Client) handshakeErr(ctx context.Context, step string, err error) error {
	switch cerr := ctx.Err(); {
	case errors.Is(cerr, context.Canceled):
		return fmt.Errorf("mqtt: %s: %w", step, cerr)
	case cerr != nil || errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("mqtt: %s: no answer within the connection timeout (%v): %w", step, c.cfg.ConnectionTimeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("mqtt: %s: %w", step, err)
}

// connectPacket builds CONNECT from the configuration.
func (c *Client) connectPacket() *packet.Connect {
	p := &packet.Connect{
		ClientID:     []byte(c.cfg.ClientID),
		CleanSession: !c.cfg.PersistentSession, // the CleanSession parameter
		KeepAlive:    c.cfg.keepAliveSeconds(),
		UsernameFlag: c.creds.UsernameFlag,
		PasswordFlag: c.creds.PasswordFlag,
	}
	if p.UsernameFlag {
		p.Username = []byte(c.creds.Username)
	}
	if p.PasswordFlag {
		p.Password = c.creds.Password
	}
	if w := c.cfg.Will; w != nil {
		p.WillFlag, p.WillQoS, p.WillRetain = true, w.QoS, w.Retain
		p.WillTopic, p.WillMessage = []byte(w.Topic), w.Payload
	}
	return p
}

// Disconnect ends the connection cleanly: it lets outstanding
// acknowledgements arrive until ctx ends, sends DISCONNECT, so that the
// server discards the will, and closes the connection. It always returns;
// it returns ctx's error if ctx ended first, after closing all the same.
// Disconnect on a Client that is not connected returns nil.
//
// DISCONNECT is sent even if ctx ended while acknowledgements were
// outstanding, but it waits at most half a second to be written, whatever
// ctx: a server that no longer reads must not hold Disconnect up.
// Then Disconnect closes the connection without it and says so.
//
// Messages already received are still handed to their handlers; Disconnect
// waits for that too, until ctx ends, and sends DISCONNECT only after their
// acknowledgements, so that a persistent session does not get them again.
// It stops waiting for a handler that runs for half a second without
// returning, as one that called Disconnect itself would.
//
// With Config.Reconnect, Disconnect ends reconnection first; a Publish
// waiting for a connection returns an error matching ErrDisconnected, its
// message kept in the session (and the Store) for a later Connect.
func (c *Client) Disconnect(ctx context.Context) error {
	if err := c.stopSupervisor(ctx, ErrDisconnected); err != nil {
		return err
	}
	c.connectMu.Lock()
	defer c.connectMu.Unlock()
	c.mu.Lock()
	cn := c.current()
	c.mu.Unlock()
	if cn == nil {
		c.mu.Lock()
		last := c.last
		c.mu.Unlock()
		if last != nil {
			return last.waitCtx(ctx)
		}
		return nil
	}

	c.settle(ctx, cn)
	err := c.drain(ctx, cn)
	if serr := c.sendDisconnect(ctx, cn); err == nil {
		err = serr
	}
	cn.close(ErrDisconnected)
	if werr := c.waitExit(ctx, cn); err == nil {
		err = werr
	}
	if errors.Is(err, ErrDisconnected) {
		err = nil
	}
	c.log.Info("mqtt: disconnected", "client_id", c.cfg.ClientID)
	return err
}

// disconnectTimeout is the longest Disconnect waits for DISCONNECT to be
// written: long enough for a server that reads, short enough not to hold
// up a program that ends.
const disconnectTimeout = 500 * time.Millisecond

// sendDisconnect writes DISCONNECT on cn, waiting at most
// disconnectTimeout, even if ctx has ended.
func (c *Client) sendDisconnect(ctx context.Context, cn *conn) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), disconnectTimeout)
	defer cancel()
	err := cn.send(ctx, []byte{byte(packet.TypeDisconnect) << 4, 0})
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("mqtt: DISCONNECT not sent: the server did not take it within %v: %w", disconnectTimeout, err)
	}
	return err
}

// settleStall is how long a handler may run, with no other message
// handled meanwhile, before settle stops waiting for it: a handler that
// called Disconnect itself would never return while Disconnect waits.
const settleStall = 500 * time.Millisecond

// settle waits until the messages received before it was called have been
// handled and their acknowledgements queued, so that DISCONNECT follows
// them and the server does not send them again. It gives up when ctx ends,
// when the connection ends, or when one handler has run for settleStall
// without returning.
func (c *Client) settle(ctx context.Context, cn *conn) {
	mark := make(chan struct{})
	tick := time.NewTicker(settleStall)
	defer tick.Stop()
	stalled := cn.stallWatch()
	queue := cn.deliveries
	var settled <-chan struct{}
	for {
		select {
		case queue <- delivery{settled: mark}:
			queue, settled = nil, mark
		case <-settled:
			return
		case <-cn.done:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
			if stalled() {
				c.log.Debug("mqtt: Disconnect not waiting any longer for a handler", "client_id", c.cfg.ClientID)
				return
			}
		}
	}
}

// waitExit waits, until ctx ends, for cn's goroutines to return; but not
// for a dispatcher stalled in a handler (see settle), which may be the
// caller's own goroutine: it returns once that handler does.
func (c *Client) waitExit(ctx context.Context, cn *conn) error {
	tick := time.NewTicker(settleStall)
	defer tick.Stop()
	stalled := cn.stallWatch()
	for {
		select {
		case <-cn.exited:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			if stalled() && cn.running.Load() == 1 { // the dispatcher alone
				return nil
			}
		}
	}
}

// drain waits until no flow or request awaits an acknowledgement, the
// connection ends, or ctx ends.
func (c *Client) drain(ctx context.Context, cn *conn) error {
	for {
		c.mu.Lock()
		idle := len(c.flows) == 0 && len(c.requests) == 0
		var freed <-chan struct{}
		if !idle {
			freed = c.freed()
		}
		c.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-freed:
		case <-cn.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Ping sends PINGREQ and waits for PINGRESP, the connection's end, or
// ctx's. As the server handles a connection's packets in order, PINGRESP
// also says that it has read every packet sent before the PINGREQ, QoS 0
// messages included, without closing the connection for one of them: a
// program that publishes at QoS 0 and exits may Ping before Disconnect to
// learn whether the server took its messages. Without a connection Ping
// fails with ErrNotConnected; if the connection ends first, with an error
// matching ErrConnectionLost.
func (c *Client) Ping(ctx context.Context) error {
	c.mu.Lock()
	cn := c.current()
	c.mu.Unlock()
	if cn == nil {
		return ErrNotConnected
	}
	// A PINGREQ unanswered for PingTimeout ends the connection, as the
	// keepalive's does.
	cn.pingSent.CompareAndSwap(0, time.Now().UnixNano())
	cn.pingReqs.Add(1)
	if err := cn.send(ctx, pingreq); err != nil {
		return err
	}
	ch := cn.awaitPong()
	select {
	case <-ch:
		return nil
	case <-cn.done:
		return cn.lostErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Connected reports whether the Client has a live connection.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current() != nil
}

// current returns the live connection, or nil. A connection counts as
// ended as soon as its done channel is closed, before connLost has cleared
// c.conn, so that Connected, Connect and the operations agree with Done.
// c.mu must be held.
func (c *Client) current() *conn {
	if c.conn == nil || c.conn.cause() != nil {
		return nil
	}
	return c.conn
}

// Done returns a channel closed when the current connection ends, and nil
// when there is none.
func (c *Client) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		return nil
	}
	return c.last.done
}

// Err returns why the latest connection ended, or nil while it is live.
// When reconnection gave up for a refusal, Err returns the refusal.
func (c *Client) Err() error {
	c.mu.Lock()
	last, fatal := c.last, c.fatal
	c.mu.Unlock()
	if fatal != nil {
		return fatal
	}
	if last == nil {
		return nil
	}
	return last.cause()
}
