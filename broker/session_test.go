package broker

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestTakeover checks that a second connection with the same ClientId
// closes the first [MQTT-3.1.4-2] and that a persistent session's queued
// and in-flight QoS 1 and 2 messages reach the new connection, the
// in-flight ones again with DUP=1 and their identifiers [MQTT-4.4.0-1].
func TestTakeover(t *testing.T) {
	_, addr := startServer(t, Config{})
	first := dial(t, addr)
	first.connect(&packet.Connect{ClientID: []byte("p"), KeepAlive: 60}, packet.Connack{})
	first.subscribe(1, "q/#", packet.QoS2, packet.GrantedQoS2)

	pubr := connectID(t, addr, "publisher", true)
	pubr.publish("q/1", "one", packet.QoS1, false, 1)
	pubr.publish("q/2", "two", packet.QoS2, false, 2)
	// The first connection receives both and acknowledges neither.
	m1 := first.expectPublish(pub("q/1", "one", packet.QoS1, false))
	m2 := first.expectPublish(pub("q/2", "two", packet.QoS2, false))

	second := dial(t, addr)
	second.connect(&packet.Connect{ClientID: []byte("p"), KeepAlive: 60}, packet.Connack{SessionPresent: true})
	first.expectClosed()
	second.expectPublish(&packet.Publish{Dup: true, QoS: 1, Topic: []byte("q/1"), Payload: []byte("one"), PacketID: m1.PacketID})
	second.expectPublish(&packet.Publish{Dup: true, QoS: 2, Topic: []byte("q/2"), Payload: []byte("two"), PacketID: m2.PacketID})
	second.send(&packet.Puback{PacketID: m1.PacketID}, &packet.Pubrec{PacketID: m2.PacketID})
	second.expect(&packet.Pubrel{PacketID: m2.PacketID})

	// Taken over again before PUBCOMP: the PUBREL is re-sent, not the
	// PUBLISH [MQTT-4.3.3-1].
	third := dial(t, addr)
	third.connect(&packet.Connect{ClientID: []byte("p"), KeepAlive: 60}, packet.Connack{SessionPresent: true})
	second.expectClosed()
	third.expect(&packet.Pubrel{PacketID: m2.PacketID})
	third.send(&packet.Pubcomp{PacketID: m2.PacketID})

	// Offline: QoS 1 and 2 messages are queued, QoS 0 ones are not
	// [MQTT-3.1.2-5].
	third.send(&packet.Disconnect{})
	third.expectClosed()
	pubr.publish("q/3", "three", packet.QoS0, false, 0)
	pubr.publish("q/4", "four", packet.QoS1, false, 4)
	pubr.publish("q/5", "five", packet.QoS2, false, 5)
	fourth := dial(t, addr)
	fourth.connect(&packet.Connect{ClientID: []byte("p"), KeepAlive: 60}, packet.Connack{SessionPresent: true})
	m4 := fourth.expectPublish(pub("q/4", "four", packet.QoS1, false))
	m5 := fourth.expectPublish(pub("q/5", "five", packet.QoS2, false))
	fourth.send(&packet.Puback{PacketID: m4.PacketID}, &packet.Pubrec{PacketID: m5.PacketID})
	fourth.expect(&packet.Pubrel{PacketID: m5.PacketID})
	fourth.send(&packet.Pubcomp{PacketID: m5.PacketID})
	fourth.expectNothing()
}

// TestInboundQoS2 checks that a QoS 2 PUBLISH re-sent before PUBREL is
// acknowledged again but delivered once [MQTT-4.3.3-2], and that its
// identifier is new again after PUBCOMP.
func TestInboundQoS2(t *testing.T) {
	_, addr := startServer(t, Config{})
	sub := connectID(t, addr, "sub", true)
	sub.subscribe(1, "x", packet.QoS0, packet.GrantedQoS0)
	c := connectID(t, addr, "c", false)
	p := &packet.Publish{QoS: 2, PacketID: 7, Topic: []byte("x"), Payload: []byte("once")}
	c.send(p)
	c.expect(&packet.Pubrec{PacketID: 7})
	dup := *p
	dup.Dup = true
	c.send(&dup)
	c.expect(&packet.Pubrec{PacketID: 7})
	sub.expectPublish(pub("x", "once", 0, false))
	sub.expectNothing()

	// The identifier survives a reconnect of the persistent session.
	c.nc.Close()
	c = dial(t, addr)
	c.connect(&packet.Connect{ClientID: []byte("c")}, packet.Connack{SessionPresent: true})
	c.send(&dup)
	c.expect(&packet.Pubrec{PacketID: 7})
	c.send(&packet.Pubrel{PacketID: 7})
	c.expect(&packet.Pubcomp{PacketID: 7})
	sub.expectNothing()

	// After PUBCOMP, 7 is a new message.
	c.send(p)
	c.expect(&packet.Pubrec{PacketID: 7})
	c.send(&packet.Pubrel{PacketID: 7})
	c.expect(&packet.Pubcomp{PacketID: 7})
	sub.expectPublish(pub("x", "once", 0, false))
}

// TestQueueLimit checks that messages beyond the in-flight window wait in
// the queue, and that beyond MaxQueued they are dropped and counted.
func TestQueueLimit(t *testing.T) {
	s, addr := startServer(t, Config{MaxInflight: 2, MaxQueued: 3})
	sub := dial(t, addr)
	sub.connect(&packet.Connect{ClientID: []byte("slow")}, packet.Connack{})
	sub.subscribe(1, "t", packet.QoS1, packet.GrantedQoS1)
	sub.send(&packet.Disconnect{})
	sub.expectClosed()

	p := connectID(t, addr, "p", true)
	for i := range 8 {
		p.publish("t", fmt.Sprint(i), packet.QoS1, false, uint16(i+1))
	}
	eventually(t, "drops counted", func() bool { return s.Stats().Dropped == 5 })

	sub = dial(t, addr)
	sub.connect(&packet.Connect{ClientID: []byte("slow")}, packet.Connack{SessionPresent: true})
	// Window of 2: two messages, then nothing until an ack.
	m0 := sub.expectPublish(pub("t", "0", 1, false))
	m1 := sub.expectPublish(pub("t", "1", 1, false))
	sub.expectNothing()
	sub.send(&packet.Puback{PacketID: m0.PacketID})
	m2 := sub.expectPublish(pub("t", "2", 1, false))
	sub.expectNothing()
	sub.send(&packet.Puback{PacketID: m1.PacketID}, &packet.Puback{PacketID: m2.PacketID})
	sub.expectNothing()
}

// TestSlowSubscriber checks that a connected subscriber that does not
// read holds the publisher back for at most StallTimeout: it is then
// disconnected and counted, and the publisher and the other subscribers
// go on with nothing lost.
func TestSlowSubscriber(t *testing.T) {
	s, addr := startServer(t, Config{MaxQueued: 8, StallTimeout: 300 * time.Millisecond})
	a, b := net.Pipe() // no buffer: the broker's writer blocks at once
	go s.ServeConn(b)
	slow := newClient(t, a)
	t.Cleanup(func() { a.Close() })
	slow.connect(&packet.Connect{ClientID: []byte("slow"), CleanSession: true}, packet.Connack{})
	slow.subscribe(1, "t", packet.QoS0, packet.GrantedQoS0)
	fast := connectID(t, addr, "fast", true)
	fast.subscribe(1, "t", packet.QoS0, packet.GrantedQoS0)
	p := connectID(t, addr, "p", true)
	const n = 200
	for i := range n {
		p.publish("t", fmt.Sprint(i), packet.QoS0, false, 0)
		fast.expectPublish(pub("t", fmt.Sprint(i), packet.QoS0, false))
	}
	st := s.Stats()
	if st.Stalled != 1 {
		t.Errorf("Stalled = %d, want 1", st.Stalled)
	}
	if st.Dropped > 4 { // at most the few that came while above high water
		t.Errorf("Dropped = %d, want at most 4", st.Dropped)
	}
	// What the slow client's writer held is there to read, then the end.
	for {
		_, err := slow.read(wait)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatal("the stalled client's connection is still open")
		}
		break
	}
}
