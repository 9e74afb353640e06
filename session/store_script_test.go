package session

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/testbroker"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/store"
)

// TestStoreCarriesSession checks that Config.Store carries a session from
// one Client to the next, as from a process to its restart. Client 1 is
// cut off with a QoS 1 message awaiting PUBACK, a QoS 2 message awaiting
// PUBCOMP (its PUBREC came) and an inbound QoS 2 message awaiting PUBREL.
// Client 2, made with the same store, re-sends on Connect the PUBLISH with
// DUP set, then the PUBREL, in that order [MQTT-4.4.0-1] [MQTT-3.3.1-1];
// it answers the server's re-sent inbound PUBLISH with PUBREC and does not
// deliver it again [MQTT-4.3.3-2]. Once every flow completes the store is
// empty, and the next message takes the seq after the old ones.
func TestStoreCarriesSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		// open returns the store for the next client; reopen closes the
		// File first, as a process that ends does.
		open func(t *testing.T) func() store.Store
	}{
		{"Memory", func(t *testing.T) func() store.Store {
			m := store.NewMemory()
			return func() store.Store { return m }
		}},
		{"File", func(t *testing.T) func() store.Store {
			dir := t.TempDir()
			var f *store.File
			return func() store.Store {
				if f != nil {
					if err := f.Close(); err != nil {
						t.Fatal(err)
					}
				}
				var err error
				if f, err = store.Open(dir, store.Options{}); err != nil {
					t.Fatal(err)
				}
				if r := f.Recovered(); r != nil {
					t.Errorf("Recovered() = %v after a clean Close", r)
				}
				t.Cleanup(func() { f.Close() })
				return f
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaktest.Check(t)
			next := tc.open(t)
			testStoreCarriesSession(t, next)
		})
	}
}

func testStoreCarriesSession(t *testing.T, next func() store.Store) {
	in1 := newInbox()
	cfg := keptConfig()
	cfg.DefaultHandler = in1
	cfg.Store = next()
	c1, b := newScripted(t, cfg)
	done := connectAsync(c1)
	b.Expect(connectKept)
	b.Send(hx("20 02 00 00"))
	if r := wait(t, done); r.err != nil {
		t.Fatal(r.err)
	}
	q1 := publishAsync(c1, Message{Topic: "a", Payload: []byte("1"), QoS: packet.QoS1})
	b.Expect(hx("32 06 00 01 61 00 01 31")) // PUBLISH 1, QoS 1
	q2 := publishAsync(c1, Message{Topic: "b", Payload: []byte("2"), QoS: packet.QoS2})
	b.Expect(hx("34 06 00 01 62 00 02 32")) // PUBLISH 2, QoS 2
	b.Send(hx("50 02 00 02"))               // PUBREC 2
	b.Expect(hx("62 02 00 02"))             // PUBREL 2
	b.Send(hx(`34 07 00 01 63 00 07 68 69   PUBLISH 7, QoS 2, "c", "hi"`))
	checkMessage(t, in1.next(t), "c", "hi", packet.QoS2)
	b.Expect(hx("50 02 00 07")) // PUBREC 7
	b.Close()
	for i, q := range []<-chan error{q1, q2} {
		if err := wait(t, q); !errors.Is(err, ErrConnectionLost) {
			t.Errorf("client 1: Publish %d: %v, want ErrConnectionLost", i+1, err)
		}
	}
	waitDone(t, c1)
	if err := c1.Disconnect(context.Background()); err != nil {
		t.Errorf("client 1: Disconnect: %v", err)
	}

	// What client 1 left: the QoS 1 PUBLISH, the QoS 2 flow past PUBREC,
	// the inbound identifier.
	st := next()
	checkLoad(t, st, []store.Outgoing{
		{Seq: 1, PacketID: 1, QoS: 1, Packet: hx("32 06 00 01 61 00 01 31")},
		{Seq: 2, PacketID: 2, QoS: 2, Released: true},
	}, []uint16{7}, 2)

	in2 := newInbox()
	cfg.DefaultHandler = in2
	cfg.Store = st
	cfg.Dial = b.Dial
	c2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	done = connectAsync(c2)
	b.Expect(connectKept)
	b.Send(hx("20 02 01 00")) // session present
	if r := wait(t, done); r.err != nil || !r.present {
		t.Fatalf("client 2: Connect = %v, %v; want true, nil", r.present, r.err)
	}
	b.Expect(hx("3a 06 00 01 61 00 01 31")) // PUBLISH 1, DUP
	b.Expect(hx("62 02 00 02"))             // PUBREL 2, never the PUBLISH [MQTT-4.3.3-1]
	b.ExpectNothing(50 * time.Millisecond)
	b.Send(hx("3c 07 00 01 63 00 07 68 69")) // PUBLISH 7 again, DUP
	b.Expect(hx("50 02 00 07"))              // PUBREC 7
	// PUBACK 1 and PUBCOMP 2 before PUBREL 7: the client reads in order,
	// so its PUBCOMP 7 tells that it has handled all three.
	b.Send(hx("40 02 00 01")) // PUBACK 1
	b.Send(hx("70 02 00 02")) // PUBCOMP 2
	b.Send(hx("62 02 00 07")) // PUBREL 7
	b.Expect(hx("70 02 00 07"))
	in2.none(t, 50*time.Millisecond)
	checkLoad(t, st, nil, nil, 2)

	// The next message goes on from the old seqs.
	q3 := publishAsync(c2, Message{Topic: "d", Payload: []byte("3"), QoS: packet.QoS1})
	b.Expect(hx("32 06 00 01 64 00 01 33")) // PUBLISH 1, QoS 1: the identifier is free again
	checkLoad(t, st, []store.Outgoing{{Seq: 3, PacketID: 1, QoS: 1, Packet: hx("32 06 00 01 64 00 01 33")}}, nil, 3)
	b.Send(hx("40 02 00 01"))
	if err := wait(t, q3); err != nil {
		t.Fatalf("client 2: Publish: %v", err)
	}
	checkLoad(t, st, nil, nil, 3)

	dis := async(func() error { return c2.Disconnect(context.Background()) })
	b.Expect(hx("e0 00"))
	b.ExpectClosed()
	if err := wait(t, dis); err != nil {
		t.Errorf("client 2: Disconnect: %v", err)
	}
}

// checkLoad fails t unless s.Load returns out, inbound and lastSeq.
func checkLoad(t *testing.T, s store.Store, out []store.Outgoing, inbound []uint16, lastSeq uint64) {
	t.Helper()
	gotOut, gotIn, gotLast, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	same := len(gotOut) == len(out) && len(gotIn) == len(inbound) && gotLast == lastSeq
	for i := 0; same && i < len(out); i++ {
		g, w := gotOut[i], out[i]
		same = g.Seq == w.Seq && g.PacketID == w.PacketID && g.QoS == w.QoS && g.Released == w.Released && bytes.Equal(g.Packet, w.Packet)
	}
	for i := 0; same && i < len(inbound); i++ {
		same = gotIn[i] == inbound[i]
	}
	if !same {
		t.Errorf("Load = %+v, %v, %d; want %+v, %v, %d", gotOut, gotIn, gotLast, out, inbound, lastSeq)
	}
}

// gateStore is a Store whose PutOutgoing waits, once called, until release
// is closed.
type gateStore struct {
	store.Store
	entered chan struct{} // receives when PutOutgoing is called
	release chan struct{}
}

func (s *gateStore) PutOutgoing(o store.Outgoing) error {
	s.entered <- struct{}{}
	<-s.release
	return s.Store.PutOutgoing(o)
}

// failStore is a Store whose PutOutgoing fails while fail is set.
type failStore struct {
	store.Store
	fail atomic.Bool
}

var errStoreFull = errors.New("test: disk full")

func (s *failStore) PutOutgoing(o store.Outgoing) error {
	if s.fail.Load() {
		return errStoreFull
	}
	return s.Store.PutOutgoing(o)
}

// TestStoreBeforeFirstWrite checks that a QoS 1 or 2 message is in the
// Store before its PUBLISH is first written, and that a message the Store
// could not keep is never sent: Publish fails with the Store's error, and
// gives back the message's place in the window and its identifier.
func TestStoreBeforeFirstWrite(t *testing.T) {
	t.Run("Wait", func(t *testing.T) {
		leaktest.Check(t)
		for _, qos := range []packet.QoS{packet.QoS1, packet.QoS2} {
			st := &gateStore{Store: store.NewMemory(), entered: make(chan struct{}, 1), release: make(chan struct{})}
			cfg := keptConfig()
			cfg.Store = st
			c, b := connected(t, cfg)
			q := publishAsync(c, Message{Topic: "a", Payload: []byte("1"), QoS: qos})
			wait(t, st.entered)
			b.ExpectNothing(100 * time.Millisecond)
			close(st.release)
			p := b.ExpectType(packet.TypePublish).(*packet.Publish)
			if p.Dup || p.QoS != qos {
				t.Errorf("QoS %d: PUBLISH with DUP %v, QoS %v", qos, p.Dup, p.QoS)
			}
			if qos == packet.QoS1 {
				b.SendPacket(&packet.Puback{PacketID: p.PacketID})
			} else {
				b.SendPacket(&packet.Pubrec{PacketID: p.PacketID})
				b.ExpectPacket(&packet.Pubrel{PacketID: p.PacketID})
				b.SendPacket(&packet.Pubcomp{PacketID: p.PacketID})
			}
			if err := wait(t, q); err != nil {
				t.Errorf("QoS %d: Publish: %v", qos, err)
			}
			closeScripted(t, c, b)
		}
	})
	t.Run("Fail", func(t *testing.T) {
		leaktest.Check(t)
		st := &failStore{Store: store.NewMemory()}
		st.fail.Store(true)
		cfg := keptConfig()
		cfg.Store = st
		cfg.MaxInflight = 1
		c, b := connected(t, cfg)
		for _, qos := range []packet.QoS{packet.QoS1, packet.QoS2} {
			err := wait(t, publishAsync(c, Message{Topic: "a", QoS: qos}))
			if !errors.Is(err, errStoreFull) {
				t.Errorf("QoS %d: Publish = %v, want an error wrapping %v", qos, err, errStoreFull)
			}
		}
		b.ExpectNothing(100 * time.Millisecond)
		checkLoad(t, st, nil, nil, 0)

		// The window of one is free, and the store works again.
		st.fail.Store(false)
		q := publishAsync(c, Message{Topic: "a", QoS: packet.QoS1})
		p := b.ExpectType(packet.TypePublish).(*packet.Publish)
		b.SendPacket(&packet.Puback{PacketID: p.PacketID})
		if err := wait(t, q); err != nil {
			t.Errorf("Publish once the store works: %v", err)
		}
		closeScripted(t, c, b)
	})
}

// closeScripted disconnects c from the scripted broker b.
func closeScripted(t *testing.T, c *Client, b *testbroker.Broker) {
	t.Helper()
	disconnect(t, c, b)
}
