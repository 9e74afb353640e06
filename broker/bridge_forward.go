package broker

import (
	"errors"
	"strings"

	"github.com/petrel-mqtt/petrel/packet"
	mqtt "github.com/petrel-mqtt/petrel/session"
)

// The path of a message through a bridge: forward, out; bringIn, in.

// forward is the out client's handler: it publishes a local message on the
// remote broker. When forward returns, the out client acknowledges the
// message to this broker, so it returns once the message is safe: in the
// up client's store, or acknowledged by the remote broker (waitAck). A
// message it cannot hand over is kept unacknowledged by closing the local
// connection first; the broker sends it again on the next.
//
// gen is the generation of the out client that got m: a message of an
// older one is left to this broker to send again on the current one.
func (b *bridge) forward(gen uint64, m *mqtt.Message) {
	b.liveMu.Lock()
	if gen != b.gen {
		b.liveMu.Unlock()
		return // its connection is closed: the acknowledgement will not go
	}
	b.fwg.Add(1)
	b.liveMu.Unlock()
	defer b.fwg.Done()
	if !b.live.Load() {
		b.keepUnacked(m, nil)
		return
	}
	t, ok := b.cfg.outTopic(m.Topic)
	if !ok {
		return // a subscription of an older configuration, being removed
	}
	if m.QoS == packet.QoS2 {
		b.liveMu.Lock()
		if b.forwarded == nil {
			b.forwarded = make(map[uint16]bool)
		}
		again := m.Duplicate && b.forwarded[m.PacketID]
		b.forwarded[m.PacketID] = true
		b.liveMu.Unlock()
		if again {
			return // handed over before; its PUBREC was lost
		}
	}
	msg := mqtt.Message{Topic: t.toRemote(m.Topic), Payload: m.Payload, QoS: m.QoS, Retain: m.Retain}
	if msg.QoS == packet.QoS2 && b.qos2.Load() == qos2Downgraded {
		msg.QoS = packet.QoS1
	}
	if b.echo != nil && t.Direction == Both {
		b.echo.add(msg.Topic, msg.Payload)
	}
	b.liveMu.Lock()
	ctx := b.liveCtx
	b.liveMu.Unlock()
	a, err := b.up.PublishAsync(ctx, msg)
	if err != nil {
		if b.unsendable(msg, err) {
			return
		}
		b.keepUnacked(m, err)
		return
	}
	wait := b.waitAck || (msg.QoS == packet.QoS2 && b.qos2.Load() == qos2Unknown)
	if !wait {
		return
	}
	err = a.Wait(ctx)
	switch {
	case err != nil && ctx.Err() != nil && !b.waitAck:
		// The connection was lost: up holds the message, and sends it
		// again on the next.
	case err == nil:
		if msg.QoS == packet.QoS2 {
			b.qos2.Store(qos2OK)
		}
	case msg.QoS == packet.QoS2 && isQoS2Downgrade(err):
		// Detected once: from now on QoS 2 goes out at QoS 1.
		b.qos2.Store(qos2Downgraded)
		b.log.Warn("bridge: the remote broker does not support QoS 2 (it answered PUBACK); QoS 2 messages go out at QoS 1 from now on", "err", err)
		msg.QoS = packet.QoS1
		if a, err = b.up.PublishAsync(ctx, msg); err == nil && b.waitAck {
			err = a.Wait(ctx)
		}
		if err != nil && !b.unsendable(msg, err) {
			b.keepUnacked(m, err)
		}
	case !b.unsendable(msg, err):
		b.keepUnacked(m, err)
	}
}

// unsendable reports whether err says that msg can never be sent (too
// large, a topic the spec forbids): it is then dropped, and logged.
func (b *bridge) unsendable(msg mqtt.Message, err error) bool {
	var pe *packet.ProtocolError
	if errors.Is(err, mqtt.ErrTooLarge) || errors.As(err, &pe) {
		b.srv.stats.dropped.Add(1)
		b.log.Warn("bridge: message dropped: the remote broker cannot take it", "topic", msg.Topic, "size", len(msg.Payload), "err", err)
		return true
	}
	return false
}

// keepUnacked closes the out client's connection so that m, which its
// handler got, is not acknowledged: this broker sends it again.
func (b *bridge) keepUnacked(m *mqtt.Message, err error) {
	if b.ctx.Err() == nil && err != nil && b.live.Load() {
		b.log.Warn("bridge: message not handed to the remote broker; kept for the next connection", "err", err)
	}
	if m.QoS == packet.QoS2 {
		b.liveMu.Lock()
		delete(b.forwarded, m.PacketID)
		b.liveMu.Unlock()
	}
	b.mu.Lock()
	nc := b.outNC
	b.mu.Unlock()
	if nc != nil {
		nc.Close()
	}
}

// isQoS2Downgrade reports whether err is the failure of a QoS 2 publish
// answered with PUBACK (session's wrongAck).
func isQoS2Downgrade(err error) bool {
	return errors.Is(err, mqtt.ErrProtocolViolation) && strings.Contains(err.Error(), "QoS 2 PUBLISH") &&
		strings.Contains(err.Error(), "with PUBACK")
}

// bringIn is the up client's handler: it publishes a remote message on
// this broker through the in client, and returns, for the up client to
// acknowledge it, once this broker has it.
func (b *bridge) bringIn(m *mqtt.Message) {
	t, ok := b.cfg.inTopic(m.Topic)
	if !ok {
		return
	}
	if b.echo != nil && t.Direction == Both && b.echo.take(m.Topic, m.Payload) {
		return // our own, sent back by a remote broker that does not know bridges
	}
	err := b.in.Publish(b.ctx, mqtt.Message{Topic: t.toLocal(m.Topic), Payload: m.Payload, QoS: m.QoS, Retain: m.Retain})
	switch {
	case err == nil:
	case b.ctx.Err() != nil:
		// Shutdown: leave the message unacknowledged, for the remote
		// broker to send again, by returning only once up is closed.
		<-b.upDone
	default:
		b.log.Warn("bridge: incoming message dropped", "topic", m.Topic, "err", err)
	}
}

// bridgeAuthorizer lets the bridges' in-process connections publish and
// subscribe to anything, and asks the configured Authorizer about every
// other client. Only those connections can have the bridges' client ids
// (conn.connect refuses them to others).
type bridgeAuthorizer struct {
	s *Server
	Authorizer
}

func (a bridgeAuthorizer) CanPublish(id Identity, topic string) bool {
	return a.s.bridgeOf(id.ClientID) != nil || a.Authorizer.CanPublish(id, topic)
}

func (a bridgeAuthorizer) CanSubscribe(id Identity, filter string) bool {
	return a.s.bridgeOf(id.ClientID) != nil || a.Authorizer.CanSubscribe(id, filter)
}
