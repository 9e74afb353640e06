package broker

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/wal"
	"github.com/petrel-mqtt/petrel/packet"
)

// serveDir starts a broker persisting to dir, and returns a function that
// shuts it down.
func serveDir(t *testing.T, dir string, interval time.Duration) (*Server, string, func()) {
	t.Helper()
	s, err := New(Config{PersistenceDir: dir, PersistInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-served
	}
	t.Cleanup(stop)
	return s, l.Addr().String(), stop
}

// TestPersistenceRestart checks that a restart keeps persistent sessions
// (subscriptions, in-flight and queued QoS 1 and 2 messages, incoming QoS 2
// identifiers) and retained messages, and drops clean sessions.
func TestPersistenceRestart(t *testing.T) {
	dir := t.TempDir()
	s, addr, stop := serveDir(t, dir, time.Hour)

	p := dial(t, addr)
	p.connect(&packet.Connect{ClientID: []byte("p")}, packet.Connack{})
	p.subscribe(1, "t/#", packet.QoS2, packet.GrantedQoS2)
	clean := connectID(t, addr, "clean", true)
	clean.subscribe(1, "t/#", packet.QoS1, packet.GrantedQoS1)
	pubr := connectID(t, addr, "pub", false)
	pubr.publish("t/1", "in flight", packet.QoS1, false, 1)
	m1 := p.expectPublish(pub("t/1", "in flight", packet.QoS1, false))
	p.nc.Close() // no PUBACK: stays in flight
	eventually(t, "p offline", func() bool { return s.Stats().Clients == 2 })
	pubr.publish("t/2", "queued qos2", packet.QoS2, false, 2)
	pubr.publish("t/3", "qos0: not queued", packet.QoS0, false, 0)
	pubr.publish("t/4", "queued qos1", packet.QoS1, false, 3)
	pubr.publish("r/x", "retained", packet.QoS1, true, 4)
	pubr.publish("r/gone", "cleared", packet.QoS0, true, 0)
	pubr.publish("r/gone", "", packet.QoS0, true, 0)
	// A QoS 2 message received, not yet released.
	pubr.send(&packet.Publish{QoS: 2, PacketID: 9, Topic: []byte("t/5"), Payload: []byte("once")})
	pubr.expect(&packet.Pubrec{PacketID: 9})
	stop()

	s, addr, _ = serveDir(t, dir, time.Hour)
	if st := s.Stats(); st.Sessions != 2 || st.Retained != 1 || st.Subscriptions != 1 {
		t.Errorf("after restart: %d sessions, %d retained, %d subscriptions; want 2, 1, 1", st.Sessions, st.Retained, st.Subscriptions)
	}
	p = dial(t, addr)
	p.connect(&packet.Connect{ClientID: []byte("p")}, packet.Connack{SessionPresent: true})
	p.expectPublish(&packet.Publish{Dup: true, QoS: 1, PacketID: m1.PacketID, Topic: []byte("t/1"), Payload: []byte("in flight")})
	q2 := p.expectPublish(pub("t/2", "queued qos2", packet.QoS2, false))
	q1 := p.expectPublish(pub("t/4", "queued qos1", packet.QoS1, false))
	q5 := p.expectPublish(pub("t/5", "once", packet.QoS2, false)) // routed when it first arrived
	p.send(&packet.Puback{PacketID: m1.PacketID}, &packet.Pubrec{PacketID: q2.PacketID}, &packet.Puback{PacketID: q1.PacketID})
	p.expect(&packet.Pubrel{PacketID: q2.PacketID})
	p.send(&packet.Pubcomp{PacketID: q2.PacketID}, &packet.Pubrec{PacketID: q5.PacketID})
	p.expect(&packet.Pubrel{PacketID: q5.PacketID})
	p.send(&packet.Pubcomp{PacketID: q5.PacketID})
	if q1.PacketID == m1.PacketID || q2.PacketID == m1.PacketID {
		t.Errorf("packet identifier reused while in flight: %d %d %d", m1.PacketID, q2.PacketID, q1.PacketID)
	}

	// The publisher's QoS 2 message is not routed again when re-sent.
	pubr = dial(t, addr)
	pubr.connect(&packet.Connect{ClientID: []byte("pub")}, packet.Connack{SessionPresent: true})
	pubr.send(&packet.Publish{Dup: true, QoS: 2, PacketID: 9, Topic: []byte("t/5"), Payload: []byte("once")})
	pubr.expect(&packet.Pubrec{PacketID: 9})
	pubr.send(&packet.Pubrel{PacketID: 9})
	pubr.expect(&packet.Pubcomp{PacketID: 9})
	p.expectNothing()

	// The subscription survived; the clean session did not.
	pubr.publish("t/6", "live", packet.QoS1, false, 10)
	m := p.expectPublish(pub("t/6", "live", packet.QoS1, false))
	p.send(&packet.Puback{PacketID: m.PacketID})
	late := connectID(t, addr, "late", true)
	late.subscribe(1, "r/+", packet.QoS1, packet.GrantedQoS1)
	late.expectPublish(pub("r/x", "retained", packet.QoS1, true))
	late.expectNothing()
	c := dial(t, addr)
	c.connect(&packet.Connect{ClientID: []byte("clean")}, packet.Connack{SessionPresent: false})
}

// TestPersistenceInterval checks that the state is saved every
// PersistInterval without Shutdown, as a crash would find it, and that a
// second broker cannot open a directory in use.
func TestPersistenceInterval(t *testing.T) {
	dir := t.TempDir()
	_, addr, _ := serveDir(t, dir, 20*time.Millisecond)
	p := dial(t, addr)
	p.connect(&packet.Connect{ClientID: []byte("p")}, packet.Connack{})
	p.subscribe(1, "t", packet.QoS1, packet.GrantedQoS1)
	p.send(&packet.Disconnect{})
	p.expectClosed()
	pubr := connectID(t, addr, "pub", true)
	pubr.publish("t", "saved", packet.QoS1, false, 1)
	pubr.publish("keep", "me", packet.QoS0, true, 0)

	if _, err := New(Config{PersistenceDir: dir}); !errors.Is(err, wal.ErrLocked) {
		t.Errorf("second broker on the directory: %v, want wal.ErrLocked", err)
	}

	// Copy the file as a crash would leave it once a save has run.
	copyDir := t.TempDir()
	eventually(t, "state saved", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, persistFile))
		if err != nil {
			return false
		}
		os.WriteFile(filepath.Join(copyDir, persistFile), b, 0o600)
		s2, err := New(Config{PersistenceDir: copyDir})
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Shutdown(context.Background())
		st := s2.Stats()
		s2.mu.Lock()
		defer s2.mu.Unlock()
		sess := s2.sessions["p"]
		return st.Retained == 1 && sess != nil && sess.queue.len() == 1
	})
}

// TestPersistenceRecords checks that every record decodes to what was
// encoded, and that malformed records are refused, not trusted.
func TestPersistenceRecords(t *testing.T) {
	s := &Server{sessions: make(map[string]*session)}
	s.cfg.MaxQueued = 10
	ld := &loader{s: s}
	sess := newSession(s, "x", false)
	sess.nextID = 7
	sess.inbound[3] = struct{}{}
	m := newMessage("a/b", []byte("pl"), packet.QoS2, false)
	recs := []struct {
		typ byte
		b   []byte
	}{
		{recSession, encodeSession(nil, sess)},
		{recSub, encodeSub(nil, "a/#", packet.QoS1)},
		{recInflight, encodeFlight(nil, &flight{id: 5, d: delivery{m: m, qos: 2}, released: true})},
		{recQueued, encodeDelivery(nil, delivery{m: m, qos: 1, retain: true})},
		{recRetained, encodeRetained(nil, newMessage("r", []byte("v"), 1, true))},
	}
	for _, r := range recs {
		if err := ld.record(r.typ, r.b); err != nil {
			t.Fatalf("record %c: %v", r.typ, err)
		}
	}
	got := s.sessions["x"]
	if got == nil || got.nextID != 7 || len(got.inbound) != 1 || got.subs["a/#"] != 1 ||
		len(got.inflight) != 1 || !got.inflight[0].released || got.queue.len() != 1 || !got.queue.front().retain ||
		s.retained.len() != 1 {
		t.Fatalf("loaded %+v", got)
	}
	bad := []struct {
		typ byte
		b   []byte
	}{
		{recSession, encodeSession(nil, sess)},                                      // duplicate session
		{recSub, encodeSub(nil, "a/#/b", 1)},                                        // bad filter
		{recSub, append(encodeSub(nil, "a", 1), 0)},                                 // trailing byte
		{recInflight, encodeFlight(nil, &flight{id: 5, d: delivery{m: m, qos: 2}})}, // duplicate id
		{recInflight, encodeFlight(nil, &flight{id: 6, d: delivery{m: m, qos: 0}})}, // QoS 0 in flight
		{recQueued, encodeDelivery(nil, delivery{m: newMessage("a/+", nil, 1, false), qos: 1})},
		{recRetained, []byte{3, 1, 'r', 0}}, // QoS 3
		{recRetained, []byte{1, 200, 'r'}},  // string past the end
		{'Z', nil},
	}
	for _, r := range bad {
		if err := ld.record(r.typ, r.b); err == nil {
			t.Errorf("record %c % x accepted", r.typ, r.b)
		}
	}
}
