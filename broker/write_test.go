package broker

import (
	"fmt"
	"testing"

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
