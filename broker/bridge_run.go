package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	mqtt "github.com/petrel-mqtt/petrel/session"
	cstore "github.com/petrel-mqtt/petrel/store"
)

// A bridge runs three clients of package session: up, connected to the
// remote broker; out, connected to this broker in-process with the
// persistent session LocalClientID, subscribed to the out topics; and in,
// connected in-process with a clean session, which publishes what comes
// in. out is connected only while up is: while the remote broker is
// unreachable, the bridge's session is offline and the broker queues its
// messages (in the session's limits, on disk with persistence), without
// holding back the publishers as it would for a slow client.
type bridge struct {
	srv *Server
	cfg Bridge
	log *slog.Logger
	ctx context.Context // the server's: ends with Shutdown

	up, out, in *mqtt.Client
	outCfg      mqtt.Config    // out's, for a new out client per connection
	outHandler  mqtt.Handler   // out's handler: forward for its generation
	stores      []*cstore.File // closed when the bridge ends
	// waitAck: a message going out is acknowledged to this broker only
	// once the remote one has acknowledged it; otherwise as soon as the
	// up client holds it (in its store, with persistence).
	waitAck bool
	echo    *echoFilter // nil unless a Both topic may come back

	wake      chan struct{} // 1-buffered: the remote connection came, went, or ended
	mu        sync.Mutex
	connected bool  // guarded by mu: up has a connection
	refused   error // guarded by mu: reconnection ended with this refusal
	outNC     net.Conn
	upDone    chan struct{} // closed once up is disconnected, at the end

	qos2    atomic.Int32 // qos2Unknown, qos2OK or qos2Downgraded
	granted sync.Map     // remote filters whose SUBACK downgrade was logged
	notice  string       // the state last notified, "1" or "0"
	// live is set while out is meant to be connected, the remote broker
	// being connected: messages that reach forward otherwise stay
	// unacknowledged. subscribed: the session's subscriptions match the
	// configuration. Both are run's.
	live       atomic.Bool
	subscribed bool
	// liveCtx ends when the remote connection is lost, so that forward
	// stops handing messages to up, which would queue them in memory:
	// they stay in the bridge's session instead.
	liveMu sync.Mutex
	// forwarded holds the packet identifiers of the QoS 2 messages of
	// the bridge's session that forward handed to up: this broker sends
	// such a message again, with DUP, if the connection was lost before
	// its PUBREC; it does not go out twice. Guarded by liveMu.
	forwarded map[uint16]bool
	// gen numbers the out clients, one per connection: forward ignores
	// the messages of an older one, which this broker sends again on the
	// current connection; fwg counts the calls of forward under way, which
	// setLocal waits for before a new client connects, so that two never
	// run at once. gen is guarded by liveMu.
	gen        uint64
	fwg        sync.WaitGroup
	liveCtx    context.Context
	liveCancel context.CancelFunc
}

// bridgeQueue is what the up client queues while it reconnects.
const bridgeQueue = 256

const (
	qos2Unknown = iota
	qos2OK
	qos2Downgraded
)

// bridgeConn is the broker's end of a bridge's in-process connection. The
// mark lets it skip the Authenticator and the Authorizer (a bridge is the
// broker's own, as in Mosquitto), keeps other clients from its ids, and
// keeps what it publishes from going back out through its bridge.
type bridgeConn struct {
	net.Conn
	b *bridge
}

// startBridges starts a goroutine per bridge, ended by Shutdown.
func (s *Server) startBridges() error {
	if len(s.cfg.Bridges) == 0 {
		return nil
	}
	s.bridgeIDs = make(map[string]*bridge)
	var bs []*bridge
	for _, cfg := range s.cfg.Bridges {
		b, err := s.newBridge(cfg)
		if err != nil {
			for _, b := range bs {
				b.closeStores()
			}
			return err
		}
		s.bridgeIDs[cfg.LocalClientID] = b
		s.bridgeIDs[cfg.LocalClientID+"/in"] = b
		bs = append(bs, b)
	}
	// The bridges' sessions subscribe before New returns, so that the
	// out topics' messages are queued for them from the start.
	for i, b := range bs {
		if err := b.startLocal(); err != nil {
			for _, b := range bs[i:] {
				b.closeStores()
			}
			return err
		}
		s.wg.Go(b.run)
	}
	return nil
}

// bridgeOf returns the bridge whose local id is id, or nil.
func (s *Server) bridgeOf(id string) *bridge {
	return s.bridgeIDs[id] // written before any connection
}

// isBridgeConn reports whether c is an in-process connection of bridge b.
func (c *conn) bridge() *bridge {
	if bc, ok := c.nc.(*bridgeConn); ok {
		return bc.b
	}
	return nil
}

func (s *Server) newBridge(cfg Bridge) (*bridge, error) {
	b := &bridge{
		srv: s, cfg: cfg, ctx: s.ctx,
		log:    s.log.With("bridge", cfg.Name),
		wake:   make(chan struct{}, 1),
		upDone: make(chan struct{}),
	}
	var upStore cstore.Store
	persist := s.cfg.PersistenceDir != ""
	if persist && !cfg.CleanSession {
		// The up client's store keeps what it was handed and the remote
		// broker has not acknowledged, across a restart or a SIGKILL.
		dir := filepath.Join(s.cfg.PersistenceDir, "bridge."+url.PathEscape(cfg.Name))
		f, err := cstore.Open(dir, cstore.Options{Sync: cstore.SyncBatch, BatchWindow: s.cfg.PersistInterval, Logger: b.log})
		if err != nil {
			return nil, err
		}
		b.stores = append(b.stores, f)
		upStore = f
	}
	b.waitAck = persist && upStore == nil
	for _, t := range cfg.Topics {
		if t.Direction == Both && !cfg.TryPrivate {
			b.echo = newEchoFilter()
		}
	}
	upCfg := mqtt.Config{
		Address:           cfg.Addresses[0],
		ClientID:          cfg.ClientID,
		PersistentSession: !cfg.CleanSession,
		User:              cfg.Username,
		UserPassword:      cfg.Password,
		TLSConfig:         cfg.TLS,
		KeepAlive:         cfg.KeepAlive,
		ConnectionTimeout: 10 * time.Second,
		Logger:            b.log,
		Store:             upStore,
		DefaultHandler:    mqtt.HandlerFunc(b.bringIn),
		Reconnect: &mqtt.Reconnect{
			MinDelay: cfg.RestartMin, MaxDelay: cfg.RestartMax,
			Addresses: cfg.Addresses[1:],
			QueueQoS0: true,
			// While reconnecting, up queues this much; beyond, forward
			// waits, and the messages stay in the bridge's session.
			QueueMessages: bridgeQueue,
			OnConnect:     func(bool) { b.setConnected(true, nil) },
			OnConnectionLost: func(err error) {
				var ce *mqtt.ConnectError
				if errors.As(err, &ce) {
					b.setConnected(false, err)
					return
				}
				b.setConnected(false, nil)
			},
		},
	}
	if cfg.Notifications == NotifyBoth && !strings.HasPrefix(cfg.NotificationTopic, "$") {
		// Most brokers refuse a will on $SYS (Mosquitto and Petrel
		// take one on $SYS/broker/connection/+/state only): there, only
		// the "1" and the "0" of a clean stop.
		upCfg.Will = &mqtt.Will{Topic: cfg.NotificationTopic, Payload: []byte("0"), QoS: packet.QoS1, Retain: true}
	}
	if cfg.TryPrivate {
		upCfg.Dial = b.dialPrivate()
	}
	var err error
	if b.up, err = mqtt.New(upCfg); err != nil {
		b.closeStores()
		return nil, err
	}
	b.outCfg = mqtt.Config{
		Address: "bridge", ClientID: cfg.LocalClientID, PersistentSession: true,
		KeepAlive: -1, Logger: b.log, Dial: b.dialLocal(true),
	}
	if b.out, err = b.newOut(); err != nil {
		b.closeStores()
		return nil, err
	}
	b.in, err = mqtt.New(mqtt.Config{
		Address: "bridge", ClientID: cfg.LocalClientID + "/in",
		KeepAlive: -1, Logger: b.log, Dial: b.dialLocal(false),
		Reconnect: &mqtt.Reconnect{MinDelay: 10 * time.Millisecond, MaxDelay: time.Second},
	})
	if err != nil {
		b.closeStores()
		return nil, err
	}
	return b, nil
}

func (b *bridge) closeStores() {
	for _, f := range b.stores {
		if err := f.Close(); err != nil {
			b.log.Error("bridge: closing its store", "err", err)
		}
	}
}

// dialLocal returns the Dial of a local client: one end of a net.Pipe, the
// other served by the broker.
func (b *bridge) dialLocal(out bool) func(context.Context) (net.Conn, error) {
	return func(context.Context) (net.Conn, error) {
		cli, srv := net.Pipe()
		c := b.srv.track(&bridgeConn{Conn: srv, b: b})
		if c == nil {
			cli.Close()
			return nil, ErrServerClosed
		}
		go func() {
			defer b.srv.wg.Done()
			c.serve()
		}()
		if out {
			b.mu.Lock()
			b.outNC = cli
			b.mu.Unlock()
		}
		return cli, nil
	}
}

// setConnected records the state of the remote connection and wakes run.
func (b *bridge) setConnected(up bool, refused error) {
	b.mu.Lock()
	b.connected = up
	if refused != nil {
		b.refused = refused
	}
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *bridge) state() (up bool, refused error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.connected, b.refused
}

// run is the bridge's goroutine: it connects to the remote broker, trying
// again while it cannot, keeps the local clients in step with the remote
// connection, and ends them all at Shutdown.
func (b *bridge) run() {
	defer b.closeStores()
	defer b.stop()
	delay := b.cfg.RestartMin
	for {
		if !b.connect(&delay) {
			return
		}
		for {
			up, refused := b.state()
			if refused != nil {
				b.log.Error("bridge: the remote broker refused the connection; trying again later", "err", refused, "delay", b.cfg.RestartMax)
				b.setLocal(false)
				delay = b.cfg.RestartMax
				break
			}
			b.setLocal(up)
			var outDone <-chan struct{}
			if up {
				outDone = b.out.Done()
			}
			select {
			case <-b.ctx.Done():
				return
			case <-b.wake:
			case <-outDone:
				// The local connection ended (a message left
				// unacknowledged, a stall): open it again.
				select {
				case <-b.ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
		select {
		case <-b.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// startLocal connects the in client, and makes the bridge's session on
// this broker, subscribed to the out topics, if it does not exist yet;
// the out client is then offline until the remote broker accepts the
// bridge. (A session kept by persistence is brought up to date with the
// configuration when out first connects.)
func (b *bridge) startLocal() error {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := b.in.Connect(ctx); err != nil {
		return fmt.Errorf("mqtt: bridge %q: connecting in-process: %w", b.cfg.Name, err)
	}
	b.srv.mu.Lock()
	kept := b.srv.sessions[b.cfg.LocalClientID] != nil
	b.srv.mu.Unlock()
	if kept {
		return nil
	}
	_, err := b.out.Connect(ctx)
	if err == nil {
		err = b.subscribeLocal(false)
		b.subscribed = err == nil
	}
	// Retained messages that the subscriptions replay stay in the session,
	// unacknowledged (see forward): the disconnection may report it.
	b.out.Disconnect(ctx)
	if err != nil {
		b.in.Disconnect(ctx)
		return fmt.Errorf("mqtt: bridge %q: subscribing in-process: %w", b.cfg.Name, err)
	}
	return nil
}

// subscribeLocal makes the bridge's session subscribe to the out topics it
// does not have yet, at their QoS, and unsubscribe from those no topic
// names any more (a changed configuration). Subscribing again to what it
// has would send the retained messages out again.
func (b *bridge) subscribeLocal(present bool) error {
	want := map[string]packet.QoS{}
	for _, t := range b.cfg.Topics {
		if t.out() {
			want[t.localFilter()] = max(want[t.localFilter()], t.QoS)
		}
	}
	have := map[string]packet.QoS{}
	if present {
		b.srv.mu.Lock()
		if s := b.srv.sessions[b.cfg.LocalClientID]; s != nil {
			s.mu.Lock()
			for f, q := range s.subs {
				have[f] = q
			}
			s.mu.Unlock()
		}
		b.srv.mu.Unlock()
	}
	var subs []mqtt.Subscription
	for f, q := range want {
		if hq, ok := have[f]; !ok || hq != q {
			subs = append(subs, mqtt.Subscription{Filter: f, QoS: q})
		}
	}
	var stale []string
	for f := range have {
		if _, ok := want[f]; !ok {
			stale = append(stale, f)
		}
	}
	if len(stale) > 0 {
		b.log.Info("bridge: unsubscribing from topics no longer configured", "filters", stale)
		if err := b.out.Unsubscribe(b.ctx, stale...); err != nil {
			return err
		}
	}
	if len(subs) > 0 {
		if _, err := b.out.Subscribe(b.ctx, b.outHandler, subs...); err != nil {
			return err
		}
	}
	return nil
}

// connect connects up, trying again after *delay, doubled each time up to
// RestartMax, until it succeeds or Shutdown. Then it subscribes to the in
// topics on the remote broker.
func (b *bridge) connect(delay *time.Duration) bool {
	for {
		b.mu.Lock()
		b.refused = nil
		b.mu.Unlock()
		_, err := b.up.Connect(b.ctx)
		if err == nil {
			break
		}
		if b.ctx.Err() != nil {
			return false
		}
		b.log.Warn("bridge: cannot connect to the remote broker; trying again", "err", err, "delay", *delay)
		b.notify("0")
		select {
		case <-b.ctx.Done():
			return false
		case <-time.After(*delay):
		}
		*delay = min(2**delay, b.cfg.RestartMax)
	}
	*delay = b.cfg.RestartMin
	b.log.Info("bridge: connected to the remote broker", "addresses", b.cfg.Addresses)
	b.setConnected(true, nil)
	var subs []mqtt.Subscription
	for _, t := range b.cfg.Topics {
		if t.in() {
			subs = append(subs, mqtt.Subscription{Filter: t.remoteFilter(), QoS: t.QoS})
		}
	}
	if len(subs) > 0 {
		codes, err := b.up.Subscribe(b.ctx, mqtt.HandlerFunc(b.bringIn), subs...)
		if err != nil && b.ctx.Err() == nil {
			// The connection was lost meanwhile: the client subscribes
			// again when it reconnects without a session.
			b.log.Warn("bridge: subscribing on the remote broker", "err", err)
		}
		b.checkGranted(subs, codes)
	}
	return true
}

// checkGranted logs, once per filter, a subscription the remote broker
// refused or granted at a lower QoS (RabbitMQ 3.10 grants QoS 1 for 2).
func (b *bridge) checkGranted(subs []mqtt.Subscription, codes []packet.SubackCode) {
	for i, c := range codes {
		if i >= len(subs) || c == packet.SubackCode(subs[i].QoS) {
			continue
		}
		if _, logged := b.granted.LoadOrStore(subs[i].Filter, true); logged {
			continue
		}
		if c == packet.Failure {
			b.log.Error("bridge: the remote broker refused the subscription of an in topic", "filter", subs[i].Filter)
		} else {
			b.log.Warn("bridge: the remote broker granted a lower QoS to an in topic; its messages come in at that QoS",
				"filter", subs[i].Filter, "asked", subs[i].QoS, "granted", int(c))
		}
	}
}

// newOut makes an out client, of a new generation.
func (b *bridge) newOut() (*mqtt.Client, error) {
	b.liveMu.Lock()
	b.gen++
	gen := b.gen
	b.liveMu.Unlock()
	cfg := b.outCfg
	b.outHandler = mqtt.HandlerFunc(func(m *mqtt.Message) { b.forward(gen, m) })
	cfg.DefaultHandler = b.outHandler
	return mqtt.New(cfg)
}

// setLocal connects the out client while the remote broker is connected,
// and disconnects it while it is not, and publishes the state.
func (b *bridge) setLocal(up bool) {
	if up == b.out.Connected() {
		b.notifyState(up)
		return
	}
	if !up {
		b.live.Store(false)
		b.liveMu.Lock()
		if b.liveCancel != nil {
			b.liveCancel()
		}
		b.liveMu.Unlock()
		b.out.Disconnect(b.ctx)
		b.notifyState(false)
		return
	}
	b.liveMu.Lock()
	b.liveCtx, b.liveCancel = context.WithCancel(b.ctx)
	b.liveMu.Unlock()
	b.live.Store(true)
	// A new client each time: the last one remembers the QoS 2 messages
	// it was handed, and would not hand over again those that forward
	// left unacknowledged (see forwarded).
	out, err := b.newOut()
	if err != nil {
		b.log.Error("bridge: in-process client", "err", err)
		return
	}
	b.fwg.Wait() // the last client's forward calls
	b.out = out
	present, err := b.out.Connect(b.ctx)
	if err == nil && !b.subscribed {
		err = b.subscribeLocal(present)
		b.subscribed = err == nil
	}
	if err != nil && b.ctx.Err() == nil {
		b.log.Warn("bridge: connecting in-process", "err", err)
	}
	b.notifyState(true)
}

func (b *bridge) notifyState(up bool) {
	if up {
		b.notify("1")
	} else {
		b.notify("0")
	}
}

// notify publishes the bridge's state, "1" or "0", when it changes:
// retained on this broker, and on the remote one when connected.
func (b *bridge) notify(state string) {
	if b.cfg.Notifications == NotifyNone || state == b.notice {
		return
	}
	b.notice = state
	b.log.Info("bridge: state", "connected", state == "1")
	b.srv.publish(newMessage(b.cfg.NotificationTopic, []byte(state), packet.QoS1, true), nil)
	if state == "1" && b.cfg.Notifications == NotifyBoth {
		if _, err := b.up.PublishAsync(b.ctx, mqtt.Message{Topic: b.cfg.NotificationTopic, Payload: []byte(state), QoS: packet.QoS1, Retain: true}); err != nil && b.ctx.Err() == nil {
			b.log.Warn("bridge: publishing the state on the remote broker", "err", err)
		}
	}
}

// stop ends the clients at Shutdown: the remote broker is told the
// bridge's state, "0", and the up client's unacknowledged messages stay
// in its store for the next start.
func (b *bridge) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if b.cfg.Notifications != NotifyNone && b.notice == "1" {
		b.srv.publish(newMessage(b.cfg.NotificationTopic, []byte("0"), packet.QoS1, true), nil)
		if b.cfg.Notifications == NotifyBoth && b.up.Connected() {
			b.up.Publish(ctx, mqtt.Message{Topic: b.cfg.NotificationTopic, Payload: []byte("0"), QoS: packet.QoS1, Retain: true})
		}
	}
	b.out.Disconnect(ctx)
	b.in.Disconnect(ctx)
	b.up.Disconnect(ctx)
	close(b.upDone)
}
