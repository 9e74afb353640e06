package broker

import (
	"bytes"
	"crypto/tls"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// loginAs connects a client with a user name and password; want is the
// CONNACK return code expected.
func loginAs(t *testing.T, addr, id, user, password string, clean bool, want packet.ConnectReturnCode) *client {
	t.Helper()
	c := dial(t, addr)
	p := &packet.Connect{ClientID: []byte(id), CleanSession: clean}
	if user != "" {
		p.UsernameFlag, p.Username = true, []byte(user)
		p.PasswordFlag, p.Password = true, []byte(password)
	}
	c.connect(p, packet.Connack{ReturnCode: want, SessionPresent: false})
	if want != packet.Accepted {
		c.expectClosed()
	}
	return c
}

// TestSessionBelongsToItsIdentity is the takeover attack: with a password
// file and an ACL, alice connecting with bob's client identifier is
// refused with CONNACK 5, whether she asks for his persistent session or
// a clean one, and so is an anonymous client; bob's session, his queued
// message and his live connection stay his.
func TestSessionBelongsToItsIdentity(t *testing.T) {
	pw := NewPasswordFile()
	pw.SetIterations("alice", "a-pass", testIterations)
	pw.SetIterations("bob", "b-pass", testIterations)
	pw.AllowAnonymous = true
	acl := NewACL()
	acl.Allow("alice", ReadWrite, "a/#")
	acl.Allow("bob", ReadWrite, "b/#")
	acl.Allow("", ReadWrite, "anon/#")
	s, addr := startServer(t, Config{Authenticator: pw, Authorizer: acl})

	bob := loginAs(t, addr, "bob-dev", "bob", "b-pass", false, packet.Accepted)
	bob.subscribe(1, "b/#", packet.QoS1, packet.GrantedQoS1)
	bob.send(&packet.Disconnect{})
	bob.expectClosed()
	eventually(t, "bob's connection to leave", func() bool { return s.Stats().Clients == 0 })

	sender := loginAs(t, addr, "bob-sender", "bob", "b-pass", true, packet.Accepted)
	sender.publish("b/queued", "for bob", packet.QoS1, false, 1)

	// Neither alice nor an anonymous client gets in, with either flag.
	for _, clean := range []bool{false, true} {
		loginAs(t, addr, "bob-dev", "alice", "a-pass", clean, packet.RefusedNotAuthorized)
		loginAs(t, addr, "bob-dev", "", "", clean, packet.RefusedNotAuthorized)
	}

	// Bob's session is intact: present, with his queued message.
	bob = dial(t, addr)
	bob.connect(&packet.Connect{ClientID: []byte("bob-dev"), UsernameFlag: true, Username: []byte("bob"),
		PasswordFlag: true, Password: []byte("b-pass")}, packet.Connack{SessionPresent: true})
	m := bob.expectPublish(pub("b/queued", "for bob", packet.QoS1, false))
	bob.send(&packet.Puback{PacketID: m.PacketID})

	// While bob is connected, alice's attempt does not take his connection
	// over [MQTT-3.1.4-2 applies to the session's owner only].
	loginAs(t, addr, "bob-dev", "alice", "a-pass", false, packet.RefusedNotAuthorized)
	sender.publish("b/live", "still bob's", packet.QoS1, false, 2)
	m = bob.expectPublish(pub("b/live", "still bob's", packet.QoS1, false))
	bob.send(&packet.Puback{PacketID: m.PacketID})

	// Bob himself may take his session over from a second connection.
	bob2 := dial(t, addr)
	bob2.connect(&packet.Connect{ClientID: []byte("bob-dev"), UsernameFlag: true, Username: []byte("bob"),
		PasswordFlag: true, Password: []byte("b-pass")}, packet.Connack{SessionPresent: true})
	bob.expectClosed()

	// An anonymous client's session is anonymous's: a named user cannot
	// take it either.
	anon := loginAs(t, addr, "anon-dev", "", "", false, packet.Accepted)
	anon.subscribe(1, "anon/#", packet.QoS1, packet.GrantedQoS1)
	loginAs(t, addr, "anon-dev", "alice", "a-pass", false, packet.RefusedNotAuthorized)
}

// TestSessionBelongsToItsCertificate: with certificates and no user name,
// a session belongs to the certificate's subject, and another verified
// certificate cannot take it.
func TestSessionBelongsToItsCertificate(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	server := ca.Issue(t, mosquittotest.CertOptions{CommonName: "broker"})
	dev1 := ca.Issue(t, mosquittotest.CertOptions{CommonName: "device-1", Client: true})
	dev2 := ca.Issue(t, mosquittotest.CertOptions{CommonName: "device-2", Client: true})
	s, err := New(Config{Authenticator: &CertAuthenticator{}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tls.NewListener(l, &tls.Config{
		Certificates: []tls.Certificate{server.TLS},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
	})
	served := make(chan error, 1)
	go func() { served <- s.Serve(tl) }()
	defer func() {
		s.Shutdown(t.Context())
		<-served
	}()
	dialTLS := func(cert tls.Certificate) *client {
		nc, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return newClient(t, nc)
	}
	c := dialTLS(dev1.TLS)
	c.connect(&packet.Connect{ClientID: []byte("meter"), CleanSession: false}, packet.Connack{})
	c.subscribe(1, "meter/#", packet.QoS1, packet.GrantedQoS1)

	thief := dialTLS(dev2.TLS)
	thief.connect(&packet.Connect{ClientID: []byte("meter"), CleanSession: true}, packet.Connack{ReturnCode: packet.RefusedNotAuthorized})
	thief.expectClosed()
	c.send(&packet.Pingreq{})
	c.expect(&packet.Pingresp{})

	again := dialTLS(dev1.TLS)
	again.connect(&packet.Connect{ClientID: []byte("meter"), CleanSession: false}, packet.Connack{SessionPresent: true})
	c.expectClosed()
}

// switchAuthorizer allows reading "r/#" while open is set: an ACL that
// changes under a subscription.
type switchAuthorizer struct{ open atomic.Bool }

func (a *switchAuthorizer) CanPublish(Identity, string) bool { return true }
func (a *switchAuthorizer) CanSubscribe(_ Identity, f string) bool {
	return a.open.Load() && matchTopic("r/#", f)
}

// TestDeliveryCheckedAgainstAuthorizer: a subscription never outlives the
// right that granted it. Once the Authorizer stops allowing the topic,
// messages are no longer delivered, live or retained, and each is counted.
func TestDeliveryCheckedAgainstAuthorizer(t *testing.T) {
	a := new(switchAuthorizer)
	a.open.Store(true)
	s, addr := startServer(t, Config{Authorizer: a})
	sub := connectID(t, addr, "sub", true)
	sub.subscribe(1, "r/#", packet.QoS1, packet.GrantedQoS1)
	p := connectID(t, addr, "pub", true)
	p.publish("r/1", "allowed", packet.QoS1, false, 1)
	m := sub.expectPublish(pub("r/1", "allowed", packet.QoS1, false))
	sub.send(&packet.Puback{PacketID: m.PacketID})

	a.open.Store(false)
	p.publish("r/2", "revoked", packet.QoS1, true, 2)
	sub.expectNothing()
	if got := s.Stats().DeniedDeliveries; got != 1 {
		t.Errorf("DeniedDeliveries = %d, want 1", got)
	}
	// A retained message is checked too when a subscription replays it.
	a.open.Store(true)
	sub.subscribe(2, "r/+", packet.QoS1, packet.GrantedQoS1)
	m = sub.expectPublish(pub("r/2", "revoked", packet.QoS1, true))
	sub.send(&packet.Puback{PacketID: m.PacketID})
}

// TestPendingConnectionsDoNotLockOut holds more silent sockets than
// MaxConnections and MaxPending, reopened as the broker closes them, while
// a real client connects, publishes and receives: nothing is lost, and
// the silent sockets are closed oldest first.
func TestPendingConnectionsDoNotLockOut(t *testing.T) {
	s, addr := startServer(t, Config{MaxConnections: 4, MaxPending: 32})
	stop := make(chan struct{})
	done := make(chan int)
	for range 3 {
		go func() {
			opened := 0
			defer func() { done <- opened }()
			var held []net.Conn
			defer func() {
				for _, nc := range held {
					nc.Close()
				}
			}()
			for {
				select {
				case <-stop:
					return
				default:
				}
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					time.Sleep(time.Millisecond)
					continue
				}
				opened++
				held = append(held, nc)
				time.Sleep(200 * time.Microsecond)
				if len(held) > 20 {
					held[0].Close()
					held = held[1:]
				}
			}
		}()
	}
	eventually(t, "the silent sockets to fill the pending connections", func() bool { return s.Stats().PendingClosed > 20 })

	sub := connectID(t, addr, "sub", true)
	if s.Stats().PendingClosed == 0 {
		t.Fatal("no pending connection was closed")
	}
	sub.subscribe(1, "t", packet.QoS1, packet.GrantedQoS1)
	pubc := connectID(t, addr, "pub", true)
	const n = 50
	for i := range n {
		pubc.publish("t", strconv.Itoa(i), packet.QoS1, false, uint16(i+1))
		m := sub.expectPublish(pub("t", strconv.Itoa(i), packet.QoS1, false))
		sub.send(&packet.Puback{PacketID: m.PacketID})
	}
	close(stop)
	opened := 0
	for range 3 {
		opened += <-done
	}
	st := s.Stats()
	t.Logf("%d silent sockets opened, %d closed by the broker to make room; %d messages carried", opened, st.PendingClosed, n)
	if st.Clients != 2 {
		t.Errorf("Clients = %d, want 2", st.Clients)
	}
}

// TestPendingPerIP closes a connection beyond MaxPendingPerIP at once.
func TestPendingPerIP(t *testing.T) {
	s, addr := startServer(t, Config{MaxPendingPerIP: 2})
	for range 2 {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
	}
	eventually(t, "two pending connections", func() bool { return s.Stats().Pending == 2 })
	third := dial(t, addr)
	third.expectClosed()
	if got := s.Stats().PendingClosed; got != 1 {
		t.Errorf("PendingClosed = %d, want 1", got)
	}
}

// TestConnectPacketSizeLimit: before CONNECT is accepted, a packet larger
// than MaxConnectPacketSize closes the connection once its header is read;
// after it, MaxPacketSize applies.
func TestConnectPacketSizeLimit(t *testing.T) {
	_, addr := startServer(t, Config{MaxConnectPacketSize: 1024})
	big := &packet.Connect{ClientID: []byte("big"), CleanSession: true, WillFlag: true,
		WillTopic: []byte("w"), WillMessage: bytes.Repeat([]byte{'x'}, 2000)}
	c := dial(t, addr)
	b := encode(t, big)
	c.write(b[:len(b)-1]) // the header alone condemns it
	c.expectClosed()

	c = connectID(t, addr, "c", true)
	c.subscribe(1, "t", packet.QoS0, packet.GrantedQoS0)
	c.publish("t", string(bytes.Repeat([]byte{'y'}, 4000)), packet.QoS1, false, 2)
	c.expectPublish(pub("t", string(bytes.Repeat([]byte{'y'}, 4000)), packet.QoS0, false))
}

// TestSubscribeDuplicateFilters: a filter given many times in one
// SUBSCRIBE is subscribed once, at the QoS of its last copy, with a return
// code for every copy [MQTT-3.8.4-5], and replays the retained messages
// once.
func TestSubscribeDuplicateFilters(t *testing.T) {
	s, addr := startServer(t, Config{})
	p := connectID(t, addr, "pub", true)
	p.publish("k/1", "one", packet.QoS1, true, 1)
	c := connectID(t, addr, "c", true)
	fs := []packet.Subscription{{Filter: []byte("#"), QoS: 0}, {Filter: []byte("k/+"), QoS: 1}, {Filter: []byte("#"), QoS: 1}}
	for range 1000 {
		fs = append(fs, packet.Subscription{Filter: []byte("#"), QoS: 1})
	}
	c.send(&packet.Subscribe{PacketID: 7, Filters: fs})
	codes := []packet.SubackCode{0, 1}
	for range 1001 {
		codes = append(codes, 1)
	}
	c.expect(&packet.Suback{PacketID: 7, ReturnCodes: codes})
	for range 2 { // once for "#", once for "k/+"
		m := c.expectPublish(pub("k/1", "one", packet.QoS1, true))
		c.send(&packet.Puback{PacketID: m.PacketID})
	}
	c.expectNothing()
	if got := s.Stats().Subscriptions; got != 2 {
		t.Errorf("Subscriptions = %d, want 2", got)
	}
}

// TestRetainedReplayWithinQueue: the retained messages a subscription
// replays go through the session's queue and stop at its room; the cut
// is counted.
func TestRetainedReplayWithinQueue(t *testing.T) {
	s, addr := startServer(t, Config{MaxQueued: 10, MaxInflight: 5})
	p := connectID(t, addr, "pub", true)
	for i := range 40 {
		p.publish("r/"+strconv.Itoa(i), "x", packet.QoS0, true, 0)
	}
	eventually(t, "40 retained messages", func() bool { return s.Stats().Retained == 40 })
	c := connectID(t, addr, "c", true)
	c.subscribe(1, "r/#", packet.QoS1, packet.GrantedQoS1)
	got := 0
	for {
		pk, err := c.read(quiet)
		if err != nil {
			break
		}
		if m, ok := pk.(*packet.Publish); ok {
			got++
			if m.QoS > 0 {
				c.send(&packet.Puback{PacketID: m.PacketID})
			}
		}
	}
	if got != 10 {
		t.Errorf("replayed %d retained messages, want the queue's 10", got)
	}
	if n := s.Stats().RetainedTruncated; n != 1 {
		t.Errorf("RetainedTruncated = %d, want 1", n)
	}
}

// TestSessionOwnerPersisted: a persistent session's owner and user name
// survive a restart, so the owner check and the per-delivery ACL check
// hold for a session loaded from disk.
func TestSessionOwnerPersisted(t *testing.T) {
	dir := t.TempDir()
	pw := NewPasswordFile()
	pw.SetIterations("alice", "a-pass", testIterations)
	pw.SetIterations("bob", "b-pass", testIterations)
	acl := NewACL()
	acl.Allow("alice", ReadWrite, "#")
	acl.Allow("bob", ReadWrite, "b/#")
	run := func() (*Server, string, func()) {
		s, err := New(Config{PersistenceDir: dir, PersistInterval: time.Hour, Authenticator: pw, Authorizer: acl})
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- s.Serve(l) }()
		return s, l.Addr().String(), func() {
			if err := s.Shutdown(t.Context()); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			<-served
		}
	}
	_, addr, stop := run()
	bob := loginAs(t, addr, "bob-dev", "bob", "b-pass", false, packet.Accepted)
	bob.subscribe(1, "b/#", packet.QoS1, packet.GrantedQoS1)
	bob.send(&packet.Disconnect{})
	bob.expectClosed()
	stop()

	s, addr, stop := run()
	defer stop()
	loginAs(t, addr, "bob-dev", "alice", "a-pass", false, packet.RefusedNotAuthorized)
	// Alice may publish anywhere; bob's restored session receives b/x but
	// not c/x, which his subscription cannot match anyway, and the check
	// of each delivery runs as bob.
	alice := loginAs(t, addr, "alice-dev", "alice", "a-pass", true, packet.Accepted)
	alice.publish("b/x", "for bob", packet.QoS1, false, 1)
	bob = dial(t, addr)
	bob.connect(&packet.Connect{ClientID: []byte("bob-dev"), UsernameFlag: true, Username: []byte("bob"),
		PasswordFlag: true, Password: []byte("b-pass")}, packet.Connack{SessionPresent: true})
	m := bob.expectPublish(pub("b/x", "for bob", packet.QoS1, false))
	bob.send(&packet.Puback{PacketID: m.PacketID})
	if got := s.Stats().DeniedDeliveries; got != 0 {
		t.Errorf("DeniedDeliveries = %d, want 0", got)
	}
}
