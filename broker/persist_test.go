package broker

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
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

// TestPersistenceKilled checks that every change is in the file as soon
// as the broker has acted on it, as a SIGKILL would leave the file: a QoS
// 1 message queued for an offline session once its PUBACK is sent, a
// subscription once its SUBACK is; and that a second broker cannot open a
// directory in use.
func TestPersistenceKilled(t *testing.T) {
	dir := t.TempDir()
	_, addr, _ := serveDir(t, dir, time.Hour)
	p := dial(t, addr)
	p.connect(&packet.Connect{ClientID: []byte("p")}, packet.Connack{})
	p.subscribe(1, "t", packet.QoS1, packet.GrantedQoS1)
	p.subscribe(2, "u", packet.QoS2, packet.GrantedQoS2)
	p.send(&packet.Disconnect{})
	p.expectClosed()
	pubr := dial(t, addr)
	pubr.connect(&packet.Connect{ClientID: []byte("pub")}, packet.Connack{})
	pubr.publish("t", "saved", packet.QoS1, false, 1)
	pubr.send(&packet.Publish{Topic: []byte("u"), Payload: []byte("two"), QoS: packet.QoS2, PacketID: 2})
	pubr.expect(&packet.Pubrec{PacketID: 2}) // PUBREL not sent: the identifier is kept
	pubr.publish("keep", "me", packet.QoS0, true, 0)
	pubr.send(&packet.Pingreq{})
	pubr.expect(&packet.Pingresp{}) // the retained message is handled

	if _, err := New(Config{PersistenceDir: dir}); !errors.Is(err, wal.ErrLocked) {
		t.Errorf("second broker on the directory: %v, want wal.ErrLocked", err)
	}

	// Copy the file as a crash would leave it, at once: no interval.
	copyDir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(dir, persistFile))
	if err != nil {
		t.Fatal(err)
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
	sess, pubSess := s2.sessions["p"], s2.sessions["pub"]
	if st.Retained != 1 || sess == nil || sess.queue.len() != 2 || len(sess.subs) != 2 || pubSess == nil || len(pubSess.inbound) != 1 {
		t.Errorf("after a kill: retained %d, session p %v, pub %v; want 1 retained, p with 2 subscriptions and 2 queued, pub with 1 inbound identifier",
			st.Retained, sess, pubSess)
	}
}

// TestPersistenceIncremental checks that what is written is proportional to
// what changed: with an offline session holding 4 MiB, ten more messages
// write about ten records, not the state again; and that compaction keeps
// the file within a few times what is live.
func TestPersistenceIncremental(t *testing.T) {
	dir := t.TempDir()
	s, addr, _ := serveDir(t, dir, time.Hour)
	sub := dial(t, addr)
	sub.connect(&packet.Connect{ClientID: []byte("sub")}, packet.Connack{})
	sub.subscribe(1, "t", packet.QoS1, packet.GrantedQoS1)
	sub.send(&packet.Disconnect{})
	sub.expectClosed()
	pubr := connectID(t, addr, "pub", true)
	big := strings.Repeat("x", 64<<10)
	for i := range 64 {
		pubr.publish("t", big, packet.QoS1, false, uint16(i+1))
	}
	size := func() int64 { return s.store.log.Size() }
	before := size()
	for i := range 10 {
		pubr.publish("t", "small", packet.QoS1, false, uint16(i+100))
	}
	if grown := size() - before; grown > 10*100 {
		t.Errorf("10 small messages grew the log by %d bytes, want under 1,000", grown)
	}
	// Deliver everything: the log records the acknowledgements, and
	// compaction, when due, brings it back near what is live.
	sub = dial(t, addr)
	sub.connect(&packet.Connect{ClientID: []byte("sub")}, packet.Connack{SessionPresent: true})
	for range 74 {
		m := sub.next().(*packet.Publish)
		sub.send(&packet.Puback{PacketID: m.PacketID})
	}
	sub.expectNothing()
	s.store.mu.Lock()
	live := s.store.liveSize()
	s.store.mu.Unlock()
	if live > 4<<10 {
		t.Errorf("live size %d after every message was acknowledged, want a few records", live)
	}
}

// TestPersistenceRecords checks that every record type replays into the
// image, and that malformed records are refused, not trusted.
func TestPersistenceRecords(t *testing.T) {
	st := newStore(nil)
	m := newMessage("a/b", []byte("pl"), packet.QoS2, false)
	id := func(b []byte) []byte { return appendStr(b, "x") }
	recs := []struct {
		typ byte
		b   []byte
	}{
		{recNewSession, encodeOwner(nil, "x", `user "bob"`, "bob")},
		{recNewSession, encodeOwner(nil, "gone", "anonymous", "")},
		{recEnded, appendStr(nil, "gone")},
		{recSub, encodeSub(id(nil), "a/#", packet.QoS1)},
		{recSub, encodeSub(id(nil), "b", packet.QoS2)},
		{recUnsub, encodeSub(id(nil), "b", 0)},
		{recQueued, encodeDelivery(appendUvarint(id(nil), 1), delivery{m: m, qos: 2})},
		{recQueued, encodeDelivery(appendUvarint(id(nil), 2), delivery{m: m, qos: 1, retain: true})},
		{recQueued, encodeDelivery(appendUvarint(id(nil), 3), delivery{m: m, qos: 1})},
		{recSent, appendUvarint(appendUvarint(id(nil), 1), 5)},
		{recReleased, appendUvarint(id(nil), 1)},
		{recDone, appendUvarint(id(nil), 3)},
		{recInbound, appendUvarint(id(nil), 9)},
		{recInbound, appendUvarint(id(nil), 10)},
		{recInboundDone, appendUvarint(id(nil), 10)},
		{recRetained, encodeRetained(nil, newMessage("r", []byte("v"), 1, true))},
		{recDone, appendUvarint(appendStr(nil, "unknown"), 3)}, // names no session: ignored
	}
	for _, r := range recs {
		if err := st.replay(r.typ, r.b); err != nil {
			t.Fatalf("record %c: %v", r.typ, err)
		}
	}
	ds := st.sessions["x"]
	if ds == nil || ds.owner != `user "bob"` || ds.user != "bob" || len(ds.subs) != 1 || ds.subs["a/#"] != 1 ||
		len(ds.inbound) != 1 || len(ds.msgs) != 2 || st.sessions["gone"] != nil || len(st.retained) != 1 {
		t.Fatalf("replayed %+v", ds)
	}
	if f := ds.msgs[1]; f.pid != 5 || !f.released {
		t.Errorf("message 1: %+v, want in flight as 5 and released", f)
	}
	if q := ds.msgs[2]; q.pid != 0 || !q.d.retain {
		t.Errorf("message 2: %+v, want queued with RETAIN", q)
	}
	bad := []struct {
		typ byte
		b   []byte
	}{
		{recNewSession, encodeOwner(nil, "", "", "")},                                  // empty id
		{recSub, encodeSub(id(nil), "a/#/b", 1)},                                       // bad filter
		{recSub, append(encodeSub(id(nil), "a", 1), 0)},                                // trailing byte
		{recQueued, encodeDelivery(appendUvarint(id(nil), 4), delivery{m: m, qos: 0})}, // QoS 0
		{recQueued, encodeDelivery(appendUvarint(id(nil), 4), delivery{m: newMessage("a/+", nil, 1, false), qos: 1})},
		{recSent, appendUvarint(appendUvarint(id(nil), 2), 0)}, // packet identifier 0
		{recReleased, appendUvarint(id(nil), 2)},               // PUBREC for QoS 1
		{recInbound, appendUvarint(id(nil), 0)},
		{recRetained, []byte{3, 1, 'r', 0}}, // QoS 3
		{recRetained, []byte{1, 200, 'r'}},  // string past the end
		{'Z', nil},
	}
	for _, r := range bad {
		if err := st.replay(r.typ, r.b); err == nil {
			t.Errorf("record %c % x accepted", r.typ, r.b)
		}
	}
}

// TestPersistenceLegacy checks that a snapshot written by an earlier
// version is read and converted.
func TestPersistenceLegacy(t *testing.T) {
	dir := t.TempDir()
	l, err := wal.Open(filepath.Join(dir, persistFile), wal.Options{Sync: wal.SyncNone})
	if err != nil {
		t.Fatal(err)
	}
	session := appendUvarint(appendUvarint(appendUvarint(appendStr(nil, "old"), 7), 1), 3) // id, next id, 1 inbound: 3
	flight := appendUvarint(nil, 5)
	flight = appendBool(flight, false)
	flight = encodeDelivery(flight, delivery{m: newMessage("t", []byte("in flight"), 1, false), qos: 1})
	queued := encodeDelivery(nil, delivery{m: newMessage("t", []byte("queued"), 2, false), qos: 2})
	for _, r := range []struct {
		typ byte
		b   []byte
	}{
		{legacySession, session},
		{legacySub, encodeSub(nil, "t", 2)},
		{legacyInflight, flight},
		{legacyQueued, queued},
		{legacyRetained, encodeRetained(nil, newMessage("r", []byte("v"), 1, true))},
	} {
		if err := l.Append(r.typ, r.b); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	_, addr, stop := serveDir(t, dir, time.Hour)
	stop()
	_, addr, _ = serveDir(t, dir, time.Hour) // the converted file, read again
	c := dial(t, addr)
	c.connect(&packet.Connect{ClientID: []byte("old")}, packet.Connack{SessionPresent: true})
	got := c.expectPublish(&packet.Publish{Dup: true, QoS: 1, Topic: []byte("t"), Payload: []byte("in flight"), PacketID: 5})
	c.send(&packet.Puback{PacketID: got.PacketID})
	q := c.expectPublish(pub("t", "queued", 2, false))
	c.send(&packet.Pubrec{PacketID: q.PacketID})
	c.expect(&packet.Pubrel{PacketID: q.PacketID})
	c.send(&packet.Pubcomp{PacketID: q.PacketID})
	_ = addr
}
