package broker

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestMaxSubscriptions checks Config.MaxSubscriptions and
// MaxSubscriptionBytes: a filter that would take the session beyond
// either gets 0x80 and is not subscribed, the rest of the SUBACK is as
// usual [MQTT-3.8.4-5], a filter the session has already is replaced, an
// UNSUBSCRIBE makes room again, and each refusal is counted and logged,
// at Warn once a connection.
func TestMaxSubscriptions(t *testing.T) {
	var logs lockedBuffer
	// Room for three filters of three bytes and two levels, as "a/1".
	room := 3 * subscriptionCost("a/1")
	srv, addr := startServer(t, Config{MaxSubscriptions: 3, MaxSubscriptionBytes: room,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c := connectID(t, addr, "subs", true)
	subscribe := func(id uint16, want []packet.SubackCode, filters ...string) {
		t.Helper()
		p := &packet.Subscribe{PacketID: id}
		for _, f := range filters {
			p.Filters = append(p.Filters, packet.Subscription{Filter: []byte(f), QoS: packet.QoS1})
		}
		c.send(p)
		c.expect(&packet.Suback{PacketID: id, ReturnCodes: want})
	}
	const ok, no = packet.SubackCode(1), packet.Failure
	// Three filters fit, the fourth does not; a copy of a granted one
	// within the packet is the same subscription.
	subscribe(1, []packet.SubackCode{ok, ok, ok, no, ok}, "a/1", "a/2", "a/3", "a/4", "a/2")
	// At the bound, a filter the session has is replaced; a new one is not.
	subscribe(2, []packet.SubackCode{ok, no}, "a/1", "a/5")
	c.send(&packet.Unsubscribe{PacketID: 3, Filters: [][]byte{[]byte("a/3")}})
	c.expect(&packet.Unsuback{PacketID: 3})
	// A place again, but "a/444" costs 2 bytes more than "a/3" did: too
	// much; "b", of one level, fits.
	subscribe(4, []packet.SubackCode{no, ok}, "a/444", "b")

	// What was refused gets nothing; what was granted does.
	c.publish("a/4", "x", packet.QoS0, false, 0)
	c.publish("a/5", "x", packet.QoS0, false, 0)
	c.publish("b", "y", packet.QoS0, false, 0)
	c.expectPublish(pub("b", "y", packet.QoS0, false))
	if st := srv.Stats(); st.SubscriptionsOverLimit != 3 || st.Subscriptions != 3 {
		t.Errorf("SubscriptionsOverLimit %d, Subscriptions %d; want 3 and 3", st.SubscriptionsOverLimit, st.Subscriptions)
	}
	warn := fmt.Sprintf(`level=WARN msg="subscriptions refused: the session is at Config.MaxSubscriptions or Config.MaxSubscriptionBytes" client=subs refused=1 filter=a/4 subscriptions=3 max=3 bytes=%d max_bytes=%d`, room, room)
	if got := strings.Count(logs.String(), "subscriptions refused"); got != 1 || !strings.Contains(logs.String(), warn) {
		t.Errorf("%d warnings; want one: %s\nlog:\n%s", got, warn, logs.String())
	}

	for _, cfg := range []Config{{MaxSubscriptions: -1}, {MaxSubscriptionBytes: -1}} {
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "MaxSubscription") {
			t.Errorf("New(%+v): %v; want an error naming the field", cfg, err)
		}
	}
}

// TestMaxSubscriptionsDefault checks that the defaults bound what one
// client can make the broker hold with SUBSCRIBE packets: 10,000 short
// filters, and far fewer deep ones.
func TestMaxSubscriptionsDefault(t *testing.T) {
	srv, addr := startServer(t, Config{})
	c := connectID(t, addr, "flood", true)
	granted := 0
	for id := uint16(1); id <= 11; id++ {
		p := &packet.Subscribe{PacketID: id}
		for i := range 1000 {
			p.Filters = append(p.Filters, packet.Subscription{Filter: []byte(fmt.Sprintf("f/%d/%d", id, i))})
		}
		c.send(p)
		ack, ok := c.next().(*packet.Suback)
		if !ok || ack.PacketID != id {
			t.Fatalf("SUBSCRIBE %d: got %v, want its SUBACK", id, ack)
		}
		for _, code := range ack.ReturnCodes {
			if code != packet.Failure {
				granted++
			}
		}
	}
	if granted != DefaultMaxSubscriptions {
		t.Errorf("granted %d of 11,000 short filters; want DefaultMaxSubscriptions, %d", granted, DefaultMaxSubscriptions)
	}
	// Deep filters, of 201 levels: the bound of their cost.
	d := connectID(t, addr, "deep", true)
	p := &packet.Subscribe{PacketID: 1}
	for i := range 300 {
		p.Filters = append(p.Filters, packet.Subscription{Filter: []byte(fmt.Sprintf("%03d", i) + strings.Repeat("/a", 200))})
	}
	d.send(p)
	ack, ok := d.next().(*packet.Suback)
	if !ok {
		t.Fatalf("got %v, want a SUBACK", ack)
	}
	n := 0
	for _, code := range ack.ReturnCodes {
		if code != packet.Failure {
			n++
		}
	}
	if want := int(DefaultMaxSubscriptionBytes / subscriptionCost(string(p.Filters[0].Filter))); want >= 300 || n != want {
		t.Errorf("granted %d filters of 201 levels; want %d (DefaultMaxSubscriptionBytes)", n, want)
	}
	if st := srv.Stats(); st.SubscriptionsOverLimit != uint64(11000-granted+300-n) {
		t.Errorf("SubscriptionsOverLimit %d; want %d", st.SubscriptionsOverLimit, 11000-granted+300-n)
	}
}
