package broker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// generatedIDPrefix starts the ClientIds the broker assigns to clients that
// send an empty one with CleanSession=1 [MQTT-3.1.3-6].
const generatedIDPrefix = "petrel-"

// maxClientIDLength31 is the longest ClientId of MQTT 3.1, in characters;
// Petrel counts bytes, as for MaxClientIDLength.
const maxClientIDLength31 = 23

// refusedSubscription is the SUBACK return code of a filter the
// Authorizer refuses: 0x80 [MQTT-3.9.3-2]. MQTT 3.1's SUBACK holds granted
// QoS levels only, so a 3.1 client is granted the QoS it asked for while
// nothing is subscribed (Mosquitto does the same).
func (c *conn) refusedSubscription(q packet.QoS) packet.SubackCode {
	if c.mqtt31 {
		return packet.SubackCode(q)
	}
	return packet.Failure
}

// connect handles the CONNECT packet (section 3.1.4): it checks the
// ClientId, authenticates and authorizes the client, takes over any
// connection with the same ClientId, attaches the session and answers
// CONNACK. It reports whether the connection goes on.
func (c *conn) connect(p *packet.Connect) bool {
	cfg := &c.srv.cfg
	id := string(p.ClientID)
	c.mqtt31 = p.MQTT31
	switch {
	case p.MQTT31 && (id == "" || len(id) > min(maxClientIDLength31, cfg.MaxClientIDLength)):
		// MQTT 3.1 (section 3.1, Client Identifier): 1 to 23 characters,
		// CONNACK 2 otherwise; it has no server-assigned identifiers.
		c.refuse(packet.RefusedIdentifierRejected, fmt.Errorf("MQTT 3.1 client identifier of %d bytes, not 1 to %d", len(id), min(maxClientIDLength31, cfg.MaxClientIDLength)))
		return false
	case id == "" && cfg.RefuseEmptyClientID:
		c.refuse(packet.RefusedIdentifierRejected, errors.New("empty client identifier: Config.RefuseEmptyClientID"))
		return false
	case id == "" && !p.CleanSession:
		c.refuse(packet.RefusedIdentifierRejected, errors.New("empty client identifier with CleanSession=0 [MQTT-3.1.3-8]"))
		return false
	case id == "":
		var b [8]byte
		rand.Read(b[:])
		id = cfg.GeneratedClientIDPrefix + hex.EncodeToString(b[:])
	case len(id) > cfg.MaxClientIDLength:
		c.refuse(packet.RefusedIdentifierRejected, fmt.Errorf("client identifier longer than %d bytes [MQTT-3.1.3-9]", cfg.MaxClientIDLength))
		return false
	}

	if b := c.srv.bridgeOf(id); b != c.bridge() {
		c.refuse(packet.RefusedIdentifierRejected, fmt.Errorf("client identifier reserved for bridge %q (Bridge.LocalClientID)", b.cfg.Name))
		return false
	}

	if cfg.MaxKeepAlive > 0 && int(p.KeepAlive) > cfg.MaxKeepAlive {
		c.refuse(packet.RefusedIdentifierRejected, fmt.Errorf("keep alive %d s: not 1 to %d (Config.MaxKeepAlive)", p.KeepAlive, cfg.MaxKeepAlive))
		return false
	}

	info := ConnInfo{
		ClientID: id, Username: string(p.Username), Password: bytes.Clone(p.Password),
		RemoteAddr: c.nc.RemoteAddr(), TLS: c.tls,
	}
	user, err := c.authenticate(info)
	if err != nil {
		c.srv.stats.authFailures.Add(1)
		code := packet.RefusedServerUnavailable
		switch {
		case errors.Is(err, ErrBadUsernameOrPassword), errors.Is(err, ErrNotAuthorized):
			code = packet.RefusedNotAuthorized
		case errors.Is(err, ErrMalformedCredentials):
			code = packet.RefusedBadUserNameOrPassword
		case errors.Is(err, ErrLoginDelayed):
			// Under a guessing attack: refused with 3, logged by refuse.
		default:
			c.srv.log.Error("authenticator failed", "client", id, "remote", c.remote, "err", err)
		}
		c.refuse(code, err)
		return false
	}
	if !c.srv.admit(c) {
		c.refuse(packet.RefusedServerUnavailable, fmt.Errorf("%d clients connected: Config.MaxConnections", cfg.MaxConnections))
		return false
	}
	c.ident = Identity{ClientID: id, Username: user}
	if !c.storeWill(p) {
		return false
	}
	c.keepAlive = time.Duration(p.KeepAlive) * time.Second

	present, owner, err := c.srv.attach(c, id, p.CleanSession)
	if errors.Is(err, errTooManySessions) {
		c.refuse(packet.RefusedServerUnavailable, err)
		return false
	}
	if errors.Is(err, errClientIDOwned) {
		c.srv.log.Warn("connection refused: the client identifier's session belongs to another identity",
			"client", id, "remote", c.remote, "identity", c.owner(), "owner", owner)
		c.refuse(packet.RefusedNotAuthorized, err)
		return false
	}
	if err != nil {
		c.close(err)
		return false
	}
	if c.mqtt31 {
		present = false // attach sent none: see there
	}
	c.sess.peerBridge.Store(p.Bridge)
	c.srv.stats.clients.Add(1)
	attrs := []any{"client", id, "remote", c.remote, "user", user,
		"clean", p.CleanSession, "present", present, "keepalive", p.KeepAlive, "mqtt31", c.mqtt31}
	if p.Bridge {
		attrs = append(attrs, "bridge", true)
	}
	c.srv.log.Info("client connected", attrs...)
	return true
}

// authenticate asks the Authenticator, if any, within the connect timeout;
// its context also ends if the connection is closed meanwhile (evicted
// from the pending connections, say).
func (c *conn) authenticate(info ConnInfo) (string, error) {
	a := c.srv.cfg.Authenticator
	if b := c.bridge(); b != nil {
		return "bridge:" + b.cfg.Name, nil // the broker's own
	}
	if a == nil {
		return info.Username, nil
	}
	c.handoff() // the caller's Authenticator may take its time
	ctx, cancel := context.WithTimeout(c.srv.ctx, c.srv.cfg.ConnectTimeout)
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return a.Authenticate(ctx, info)
}

// owner names the identity a session created by c belongs to: the user
// name the Authenticator returned; else, for a client with a verified
// certificate, the certificate's subject; else "anonymous", an identity
// too.
func (c *conn) owner() string {
	if c.ident.Username != "" {
		return "user " + strconv.Quote(c.ident.Username)
	}
	if c.tls != nil && len(c.tls.VerifiedChains) > 0 && len(c.tls.VerifiedChains[0]) > 0 {
		return "certificate " + strconv.Quote(c.tls.VerifiedChains[0][0].Subject.String())
	}
	return "anonymous"
}

// canPublish asks the Authorizer whether the client may publish to topic.
// Nobody publishes to $SYS/ but the broker, except to
// $SYS/broker/connection/+/state, where a bridge (Mosquitto's, or
// Petrel's) says whether it is connected, as Mosquitto allows.
func (c *conn) canPublish(topic string) bool {
	if (strings.HasPrefix(topic, "$SYS/") || topic == "$SYS") && !isBridgeState(topic) {
		return false
	}
	return c.srv.cfg.Authorizer.CanPublish(c.ident, topic)
}

// isBridgeState reports whether topic matches
// $SYS/broker/connection/+/state, a bridge's notification topic.
func isBridgeState(topic string) bool {
	id, ok := strings.CutPrefix(topic, "$SYS/broker/connection/")
	if !ok {
		return false
	}
	id, ok = strings.CutSuffix(id, "/state")
	return ok && !strings.Contains(id, "/")
}

// attach makes c the connection of the session of id, first disconnecting
// a connection that holds it [MQTT-3.1.4-2] and waiting until that one has
// left it. With clean set, or if the session held was a clean one, it
// starts a new session [MQTT-3.1.2-6]. It queues CONNACK, then the
// re-sends of a resumed session [MQTT-4.4.0-1], for the writer. It
// reports the Session Present flag [MQTT-3.2.2-1..3].
//
// With an Authenticator, a session belongs to the identity that created
// it (see conn.owner): another identity gets errClientIDOwned, with the
// owner's name, and neither takes over the connection nor reads or ends
// the session. Without an Authenticator user names are claims, not
// proofs, and are not compared. A new persistent session at
// Config.MaxSessions ends the one offline the longest, or, if every one
// has a client, gets errTooManySessions. It returns ErrServerClosed if c
// or the server closed meanwhile.
func (s *Server) attach(c *conn, id string, clean bool) (present bool, owner string, err error) {
	me := c.owner()
	enforce := s.cfg.Authenticator != nil
	for {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			return false, "", ErrServerClosed
		}
		sess := s.sessions[id]
		if sess != nil {
			sess.mu.Lock()
			old, owner := sess.conn, sess.owner
			sess.mu.Unlock()
			if enforce && owner != "" && owner != me {
				s.mu.Unlock()
				return false, owner, errClientIDOwned
			}
			if old != nil {
				s.mu.Unlock()
				c.handoff() // the old connection's end may take its time
				old.close(errTakenOver)
				select {
				case <-old.detached:
				case <-c.done:
					return false, "", ErrServerClosed
				}
				continue
			}
			if clean || sess.clean {
				s.discardLocked(sess)
				sess = nil
			}
		}
		present = sess != nil
		if sess == nil {
			if !clean {
				if s.persistent >= s.cfg.MaxSessions && !s.evictOfflineLocked(id) {
					s.mu.Unlock()
					return false, "", errTooManySessions
				}
				s.persistent++
			}
			sess = newSession(s, id, clean)
			s.sessions[id] = sess
			s.sessionsPeak.grew(len(s.sessions))
		}
		if sess.offline != nil {
			s.offline.Remove(sess.offline)
			sess.offline = nil
		}
		c.sess = sess
		sess.mu.Lock()
		sess.conn = c
		sess.owner = me
		sess.setUser(c.ident.Username)
		if st := sess.store(); st != nil {
			st.session(id, me, c.ident.Username, !present)
		}
		// MQTT 3.1's CONNACK has no Session Present flag: that byte is
		// reserved.
		c.outbox = append(c.outbox, outPacket{t: packet.TypeConnack, present: present && !c.mqtt31})
		c.outbox = sess.resendLocked(c.outbox)
		sess.mu.Unlock()
		s.mu.Unlock()
		c.later(c)
		return present, "", nil
	}
}

// detach takes c off its session; a clean session ends with it.
func (s *Server) detach(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := c.sess
	sess.mu.Lock()
	left := sess.conn == c
	if left {
		sess.conn = nil
		sess.wakeLocked() // publishers do not wait for an offline session
	}
	discarded := sess.discarded
	sess.mu.Unlock()
	switch {
	case sess.clean:
		s.discardLocked(sess)
	case left && !discarded && sess.offline == nil:
		sess.offline = s.offline.PushBack(sess)
	}
}

// evictOfflineLocked ends the persistent session that has been offline
// the longest, to make room for a new one of id at Config.MaxSessions, and
// reports whether there was one. The caller holds s.mu.
func (s *Server) evictOfflineLocked(id string) bool {
	e := s.offline.Front()
	if e == nil {
		return false
	}
	old := e.Value.(*session)
	s.discardLocked(old)
	n := s.stats.sessionsEvicted.Add(1)
	if isPowerOf10(n) {
		s.log.Warn("offline session ended to make room: persistent sessions at Config.MaxSessions",
			"client", old.id, "for", id, "max", s.cfg.MaxSessions, "evicted", n)
	}
	return true
}

// discardLocked ends a session: it leaves the session table and the
// subscription index, and what it held is dropped. The caller holds s.mu.
func (s *Server) discardLocked(sess *session) {
	if s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
		s.sessions = shrink(s.sessions, &s.sessionsPeak)
		if !sess.clean {
			s.persistent--
		}
	}
	if sess.offline != nil {
		s.offline.Remove(sess.offline)
		sess.offline = nil
	}
	sess.mu.Lock()
	if sess.discarded {
		sess.mu.Unlock()
		return
	}
	sess.discarded = true
	if st := sess.store(); st != nil {
		st.ended(sess.id)
	}
	filters := make([]string, 0, len(sess.subs))
	for f := range sess.subs {
		filters = append(filters, f)
	}
	sess.queue = fifo{}
	sess.inflight, sess.byID = nil, nil
	s.release(sess.bytes)
	sess.bytes = 0
	sess.wakeLocked()
	sess.mu.Unlock()
	for _, f := range filters {
		s.subs.remove(f, sess)
	}
}
