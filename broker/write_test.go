package broker

import (
	"fmt"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestBurstInOneRead: a burst that the publisher's reader reads at once is
// routed, then written by that reader in batches of maxBatch and by a
// writer goroutine for the rest: every message arrives, in order, at each
// subscriber, and nothing waits for another message to be written.
func TestBurstInOneRead(t *testing.T) {
	s, addr := startServer(t, Config{})
	subs := []*client{connectID(t, addr, "s1", true), connectID(t, addr, "s2", true)}
	for _, c := range subs {
		c.subscribe(1, "b", packet.QoS0, packet.GrantedQoS0)
	}
	p := connectID(t, addr, "p", true)
	const n = 5 * maxBatch
	var burst []byte
	for i := range n {
		burst = append(burst, encode(t, &packet.Publish{Topic: []byte("b"), Payload: []byte(fmt.Sprint(i))})...)
	}
	p.write(burst)
	for _, c := range subs {
		for i := range n {
			c.expectPublish(pub("b", fmt.Sprint(i), packet.QoS0, false))
		}
	}
	if st := s.Stats(); st.MessagesSent != 2*n {
		t.Errorf("MessagesSent = %d, want %d", st.MessagesSent, 2*n)
	}
}

// TestWritesAfterConnectTimeout: the connect deadline does not outlive
// CONNECT: a client still receives once ConnectTimeout has passed since
// it connected (writes that never wait found the old deadline expired).
func TestWritesAfterConnectTimeout(t *testing.T) {
	_, addr := startServer(t, Config{ConnectTimeout: 100 * time.Millisecond})
	c := connectID(t, addr, "c", true)
	c.subscribe(1, "t", packet.QoS1, packet.GrantedQoS1)
	time.Sleep(300 * time.Millisecond)
	c.publish("t", "late", packet.QoS1, false, 2)
	c.expectPublish(pub("t", "late", packet.QoS1, false))
}
