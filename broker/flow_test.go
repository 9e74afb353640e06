package broker

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestFlowBackpressure: a burst of QoS 1 messages to a subscriber that
// reads slowly, through a queue of 8, arrives whole and in order: the
// publisher is held back instead of messages being dropped.
func TestFlowBackpressure(t *testing.T) {
	s, addr := startServer(t, Config{MaxQueued: 8, MaxInflight: 4})
	sub := connectID(t, addr, "sub", true)
	sub.subscribe(1, "t", packet.QoS1, packet.GrantedQoS1)
	p := connectID(t, addr, "pub", true)
	const n = 300
	go func() {
		// Pipelined: the publisher sends without waiting for PUBACKs, as
		// mosquitto_pub -l does; the broker stops reading it when the
		// subscriber's queue is above its high-water mark.
		for i := range n {
			p.send(&packet.Publish{Topic: []byte("t"), Payload: []byte(fmt.Sprint(i)), QoS: packet.QoS1, PacketID: uint16(i + 1)})
		}
	}()
	for i := range n {
		m := sub.expectPublish(pub("t", fmt.Sprint(i), packet.QoS1, false))
		if i%50 == 0 {
			time.Sleep(20 * time.Millisecond) // a slow reader
		}
		sub.send(&packet.Puback{PacketID: m.PacketID})
	}
	for i := range n {
		p.expect(&packet.Puback{PacketID: uint16(i + 1)})
	}
	if st := s.Stats(); st.Dropped != 0 || st.Stalled != 0 {
		t.Errorf("Dropped %d, Stalled %d; want 0, 0", st.Dropped, st.Stalled)
	}
}

// TestFlowNoDeadlock: clients that publish to each other, and one that
// publishes to itself, while their queues are above the high-water mark,
// never wait for each other forever [flow.go]; every message is delivered
// or counted as dropped.
func TestFlowNoDeadlock(t *testing.T) {
	s, addr := startServer(t, Config{MaxQueued: 40, MaxInflight: 2, StallTimeout: time.Minute})
	a := connectID(t, addr, "a", true)
	b := connectID(t, addr, "b", true)
	a.subscribe(1, "to/a", packet.QoS1, packet.GrantedQoS1)
	b.subscribe(1, "to/b", packet.QoS1, packet.GrantedQoS1)
	const n = 300
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		received int
	)
	run := func(c *client, to string) {
		defer wg.Done()
		go func() {
			for i := range n {
				c.send(&packet.Publish{Topic: []byte(to), Payload: []byte("x"), QoS: packet.QoS1, PacketID: uint16(i + 1)})
			}
		}()
		// Read everything: n PUBACKs, then the other side's messages
		// until they stop.
		acks, msgs := 0, 0
		for {
			d := wait
			if acks == n {
				d = 4 * quiet
			}
			p, err := c.read(d)
			if err != nil {
				if acks < n {
					t.Errorf("%d PUBACKs of %d: %v", acks, n, err)
				}
				break
			}
			switch p := p.(type) {
			case *packet.Puback:
				acks++
			case *packet.Publish:
				msgs++
				c.send(&packet.Puback{PacketID: p.PacketID})
			}
		}
		mu.Lock()
		received += msgs
		mu.Unlock()
	}
	wg.Add(2)
	go run(a, "to/b")
	go run(b, "to/a")
	wg.Wait()
	// Two clients publishing to each other cannot both be held back: one
	// goes on, and its messages beyond the other's queue are dropped and
	// counted, never lost silently.
	st := s.Stats()
	t.Logf("%d of %d delivered, %d dropped", received, 2*n, st.Dropped)
	if st.Stalled != 0 || received+int(st.Dropped) != 2*n {
		t.Errorf("Stalled %d, %d delivered + %d dropped; want 0, %d in all", st.Stalled, received, st.Dropped, 2*n)
	}

	// A client subscribed to what it publishes is not held back by its own
	// queue (it would wait for its own acknowledgements, unread): what
	// does not fit is dropped and counted.
	before := st.Dropped
	self := connectID(t, addr, "self", true)
	self.subscribe(1, "me", packet.QoS1, packet.GrantedQoS1)
	received = 0
	wg.Add(1)
	run(self, "me")
	if got := s.Stats().Dropped - before; received+int(got) != n {
		t.Errorf("self: %d delivered + %d dropped, want %d in all", received, got, n)
	}
}

// TestFlowByteBudgets: an offline persistent session holds at most
// MaxQueuedBytes, and all sessions together at most
// MaxTotalQueuedBytes; what does not fit is dropped and counted by reason.
func TestFlowByteBudgets(t *testing.T) {
	payload := strings.Repeat("x", 1000) // costs 1,000 + 2 + 96 = 1,098 bytes
	const cost = 1098
	s, addr := startServer(t, Config{MaxQueuedBytes: 5000, MaxTotalQueuedBytes: 6000})
	for _, id := range []string{"t1", "t2"} {
		c := dial(t, addr)
		c.connect(&packet.Connect{ClientID: []byte("off-" + id)}, packet.Connack{})
		c.subscribe(1, id, packet.QoS1, packet.GrantedQoS1)
		c.send(&packet.Disconnect{})
		c.expectClosed()
	}
	eventually(t, "the subscribers to leave", func() bool { return s.Stats().Clients == 0 })
	p := connectID(t, addr, "pub", true)
	for i := range 10 {
		p.publish("t1", payload, packet.QoS1, false, uint16(i+1))
	}
	for i := range 10 {
		p.publish("t2", payload, packet.QoS1, false, uint16(i+1))
	}
	st := s.Stats()
	// off-t1 holds 4 (4,392 bytes; a fifth would pass 5,000), off-t2 one
	// more before the broker's 6,000 are spent.
	if st.QueuedBytes != 5*cost {
		t.Errorf("QueuedBytes = %d, want %d", st.QueuedBytes, 5*cost)
	}
	if st.DroppedSessionBytes != 6 || st.DroppedBrokerBytes != 9 || st.Dropped != 15 {
		t.Errorf("dropped %d by session bytes, %d by broker bytes, %d in all; want 6, 9, 15",
			st.DroppedSessionBytes, st.DroppedBrokerBytes, st.Dropped)
	}
	// Delivered and acknowledged, the bytes are given back.
	c := dial(t, addr)
	c.connect(&packet.Connect{ClientID: []byte("off-t1")}, packet.Connack{SessionPresent: true})
	for range 4 {
		m := c.expectPublish(pub("t1", payload, packet.QoS1, false))
		c.send(&packet.Puback{PacketID: m.PacketID})
	}
	c.expectNothing()
	eventually(t, "off-t1's bytes given back", func() bool { return s.Stats().QueuedBytes == cost })
}

// TestWrongAcknowledgement: an acknowledgement that does not fit the QoS
// flow of its message closes the connection [MQTT-4.8.0-1].
func TestWrongAcknowledgement(t *testing.T) {
	_, addr := startServer(t, Config{})
	p := connectID(t, addr, "pub", true)
	for _, tt := range []struct {
		name string
		qos  packet.QoS
		ack  func(id uint16) []packet.Packet
	}{
		{"PUBREC for QoS 1", packet.QoS1, func(id uint16) []packet.Packet { return []packet.Packet{&packet.Pubrec{PacketID: id}} }},
		{"PUBCOMP for QoS 1", packet.QoS1, func(id uint16) []packet.Packet { return []packet.Packet{&packet.Pubcomp{PacketID: id}} }},
		{"PUBACK for QoS 2", packet.QoS2, func(id uint16) []packet.Packet { return []packet.Packet{&packet.Puback{PacketID: id}} }},
		{"PUBCOMP before PUBREC", packet.QoS2, func(id uint16) []packet.Packet { return []packet.Packet{&packet.Pubcomp{PacketID: id}} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := connectID(t, addr, "sub", true)
			c.subscribe(1, "w", tt.qos, packet.SubackCode(tt.qos))
			p.publish("w", "x", tt.qos, false, 1)
			m := c.expectPublish(pub("w", "x", tt.qos, false))
			c.send(tt.ack(m.PacketID)...)
			c.expectClosed()
		})
	}
	// The right flows still work, and a repeated PUBREC gets its PUBREL
	// again.
	c := connectID(t, addr, "sub", true)
	c.subscribe(1, "w", packet.QoS2, packet.GrantedQoS2)
	p.publish("w", "x", packet.QoS2, false, 1)
	m := c.expectPublish(pub("w", "x", packet.QoS2, false))
	c.send(&packet.Pubrec{PacketID: m.PacketID})
	c.expect(&packet.Pubrel{PacketID: m.PacketID})
	c.send(&packet.Pubrec{PacketID: m.PacketID})
	c.expect(&packet.Pubrel{PacketID: m.PacketID})
	c.send(&packet.Pubcomp{PacketID: m.PacketID})
	c.expectNothing()
}

// TestFlowStallWithWindowFull: a subscriber that reads nothing and whose
// window is full makes no progress, though its writer keeps being woken
// (by QoS 0 messages queued behind): it is disconnected after
// StallTimeout.
func TestFlowStallWithWindowFull(t *testing.T) {
	s, addr := startServer(t, Config{MaxQueued: 20, MaxInflight: 2, StallTimeout: 300 * time.Millisecond})
	stuck := connectID(t, addr, "stuck", true)
	stuck.subscribe(1, "t", packet.QoS1, packet.GrantedQoS1)
	stuck.subscribe(2, "tick", packet.QoS0, packet.GrantedQoS0)
	ticker := connectID(t, addr, "ticker", true)
	// The ticker goroutine must not touch t, and is waited for before the
	// test returns: its connection is closed by the test's cleanup.
	tick := encode(t, &packet.Publish{Topic: []byte("tick"), Payload: []byte("x")})
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(done)
	wg.Add(1)
	go func() { // wakes the stuck client's writer now and then
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
				ticker.nc.SetWriteDeadline(time.Now().Add(wait))
				if _, err := ticker.nc.Write(tick); err != nil {
					return
				}
			}
		}
	}()
	p := connectID(t, addr, "pub", true)
	for i := range 40 {
		p.publish("t", fmt.Sprint(i), packet.QoS1, false, uint16(i+1))
	}
	eventually(t, "the stuck client disconnected", func() bool { return s.Stats().Stalled == 1 })
}
