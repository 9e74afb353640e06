package broker

import (
	"fmt"
	"slices"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestSharedSubscriptions checks $share/NAME/FILTER as Mosquitto serves
// it to MQTT 3.1.1 clients: each message goes to one member of each
// group, in turn, besides the ordinary subscribers; the retained messages
// are replayed to each new member, as Mosquitto 2.0 does; a member that
// unsubscribes gets no more; malformed shared filters and ones the Authorizer refuses on
// FILTER get 0x80.
func TestSharedSubscriptions(t *testing.T) {
	srv, addr := startServer(t, Config{Authorizer: denyPrefix("secret/")})
	p := connectID(t, addr, "pub", true)
	p.publish("jobs/retained", "r", packet.QoS1, true, 1)

	s1 := connectID(t, addr, "s1", true)
	s2 := connectID(t, addr, "s2", true)
	plain := connectID(t, addr, "plain", true)
	other := connectID(t, addr, "other", true)
	for _, s := range []*client{s1, s2} {
		s.subscribe(1, "$share/g/jobs/#", packet.QoS1, packet.GrantedQoS1)
		m := s.expectPublish(pub("jobs/retained", "r", packet.QoS1, true))
		s.send(&packet.Puback{PacketID: m.PacketID})
	}
	other.subscribe(1, "$share/h/jobs/+", packet.QoS0, packet.GrantedQoS0)
	other.expectPublish(pub("jobs/retained", "r", packet.QoS0, true))
	plain.subscribe(1, "jobs/#", packet.QoS0, packet.GrantedQoS0)
	plain.expectPublish(pub("jobs/retained", "r", packet.QoS0, true))

	const n = 6
	for i := range n {
		p.publish(fmt.Sprint("jobs/", i), "m", packet.QoS1, false, uint16(i+2))
	}
	var got []string
	for _, s := range []*client{s1, s2} {
		for range n / 2 {
			m, ok := s.next().(*packet.Publish)
			if !ok || m.Retain {
				t.Fatalf("got %+v; want a PUBLISH, not retained", m)
			}
			got = append(got, string(m.Topic))
			s.send(&packet.Puback{PacketID: m.PacketID})
		}
		s.expectNothing() // in turn: half each
	}
	slices.Sort(got)
	if want := []string{"jobs/0", "jobs/1", "jobs/2", "jobs/3", "jobs/4", "jobs/5"}; !slices.Equal(got, want) {
		t.Errorf("group g got %v; want each message once: %v", got, want)
	}
	for i := range n {
		plain.expectPublish(pub(fmt.Sprint("jobs/", i), "m", packet.QoS0, false))
		other.expectPublish(pub(fmt.Sprint("jobs/", i), "m", packet.QoS0, false))
	}

	s1.send(&packet.Unsubscribe{PacketID: 9, Filters: [][]byte{[]byte("$share/g/jobs/#")}})
	s1.expect(&packet.Unsuback{PacketID: 9})
	for range 2 {
		p.publish("jobs/late", "m", packet.QoS0, false, 0)
		for _, cl := range []*client{s2, other, plain} {
			cl.expectPublish(pub("jobs/late", "m", packet.QoS0, false))
		}
	}
	s1.expectNothing()

	c := connectID(t, addr, "bad", true)
	c.send(&packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{
		{Filter: []byte("$share/+/x")}, {Filter: []byte("$share/g")}, {Filter: []byte("$share//x")},
		{Filter: []byte("$share/g/secret/#")}, {Filter: []byte("$share/g/open/#")},
	}})
	c.expect(&packet.Suback{PacketID: 1, ReturnCodes: []packet.SubackCode{packet.Failure, packet.Failure, packet.Failure, packet.Failure, packet.GrantedQoS0}})

	for _, cl := range []*client{s1, s2, other, plain, c, p} {
		cl.send(&packet.Disconnect{})
		cl.expectClosed()
	}
	eventually(t, "the subscriptions to end", func() bool { return srv.subs.len() == 0 && srv.subs.tree.Empty() })
}
