package session

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/testbroker"
	"github.com/petrel-mqtt/petrel/packet"
)

// subResult is what Subscribe returned.
type subResult struct {
	codes []packet.SubackCode
	err   error
}

func subscribeAsync(c *Client, h Handler, subs ...Subscription) <-chan subResult {
	ch := make(chan subResult, 1)
	go func() {
		codes, err := c.Subscribe(context.Background(), h, subs...)
		ch <- subResult{codes, err}
	}()
	return ch
}

// subscribe subscribes h to filter at QoS 1, the broker granting it.
func subscribe(t *testing.T, c *Client, b *testbroker.Broker, h Handler, filter string) {
	t.Helper()
	done := subscribeAsync(c, h, Subscription{Filter: filter, QoS: packet.QoS1})
	p := b.ExpectType(packet.TypeSubscribe).(*packet.Subscribe)
	b.SendPacket(&packet.Suback{PacketID: p.PacketID, ReturnCodes: []packet.SubackCode{packet.GrantedQoS1}})
	if r := wait(t, done); r.err != nil {
		t.Fatalf("Subscribe %q: %v", filter, r.err)
	}
}

// publishTo sends a QoS 0 PUBLISH of topic, payload "m", to the client.
func publishTo(b *testbroker.Broker, topic string) {
	b.SendPacket(&packet.Publish{Topic: []byte(topic), Payload: []byte("m")})
}

// TestSubscribeBytes checks SUBSCRIBE: flags 0010 [MQTT-3.8.1-1], a
// non-zero packet identifier [MQTT-2.3.1-1], the filters with their QoS in
// order; Subscribe returns the SUBACK's codes, one per filter
// [MQTT-3.8.4-5], once it arrives.
func TestSubscribeBytes(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	done := subscribeAsync(c, newInbox(),
		Subscription{Filter: "a/b", QoS: packet.QoS1}, Subscription{Filter: "c/#", QoS: packet.QoS2})
	b.Expect(hx(`82 0e  SUBSCRIBE, remaining length 14
		00 01           packet id 1
		00 03 61 2f 62  filter "a/b"
		01              QoS 1
		00 03 63 2f 23  filter "c/#"
		02              QoS 2`))
	blocked(t, done, 100*time.Millisecond, "Subscribe before SUBACK")
	b.Send(hx("90 04 00 01 01 00")) // SUBACK: QoS 1, QoS 0
	r := wait(t, done)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if want := []packet.SubackCode{packet.GrantedQoS1, packet.GrantedQoS0}; !slices.Equal(r.codes, want) {
		t.Errorf("codes %v, want %v", r.codes, want)
	}
}

// TestSubscribeFailure checks a SUBACK that refuses one filter (0x80): a
// *SubscribeError naming it, the codes of all, and the handler kept for
// the granted filter only.
func TestSubscribeFailure(t *testing.T) {
	leaktest.Check(t)
	h, def := newInbox(), newInbox()
	c, b := connected(t, withDefault(def))
	done := subscribeAsync(c, h, Subscription{Filter: "a/b", QoS: packet.QoS1}, Subscription{Filter: "c/d", QoS: packet.QoS1})
	b.ExpectType(packet.TypeSubscribe)
	b.Send(hx("90 04 00 01 80 01"))
	r := wait(t, done)
	var se *SubscribeError
	if !errors.As(r.err, &se) || !slices.Equal(se.Filters, []string{"a/b"}) {
		t.Fatalf("Subscribe error %v, want a *SubscribeError for a/b", r.err)
	}
	if !errors.Is(r.err, ErrSubscriptionFailed) || !strings.Contains(r.err.Error(), `"a/b"`) {
		t.Errorf("error %q does not match ErrSubscriptionFailed or does not name a/b", r.err)
	}
	if want := []packet.SubackCode{packet.Failure, packet.GrantedQoS1}; !slices.Equal(r.codes, want) {
		t.Errorf("codes %v, want %v", r.codes, want)
	}
	publishTo(b, "a/b")
	checkMessage(t, def.next(t), "a/b", "m", packet.QoS0)
	publishTo(b, "c/d")
	checkMessage(t, h.next(t), "c/d", "m", packet.QoS0)
	h.none(t, 50*time.Millisecond)
}

// TestSubackWrongCount checks that a SUBACK with a return code count other
// than the filter count [MQTT-3.8.4-5] is a protocol violation: the client
// closes the connection [MQTT-4.8.0-1], and Subscribe fails.
func TestSubackWrongCount(t *testing.T) {
	leaktest.Check(t)
	for _, tc := range []struct {
		name   string
		suback []byte
	}{
		{"fewer", hx("90 03 00 01 01")},
		{"more", hx("90 06 00 01 01 01 01 01")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaktest.Check(t)
			c, b := connected(t, scriptConfig())
			done := subscribeAsync(c, newInbox(), Subscription{Filter: "a"}, Subscription{Filter: "b"})
			b.ExpectType(packet.TypeSubscribe)
			b.Send(tc.suback)
			b.ExpectClosed()
			r := wait(t, done)
			if !errors.Is(r.err, ErrConnectionLost) || !errors.Is(r.err, ErrProtocolViolation) {
				t.Errorf("Subscribe error %v, want ErrConnectionLost and ErrProtocolViolation", r.err)
			}
			waitDone(t, c)
			if err := c.Err(); !errors.Is(err, ErrProtocolViolation) || !strings.Contains(err.Error(), "MQTT-3.8.4-5") {
				t.Errorf("Err() = %v, want ErrProtocolViolation citing MQTT-3.8.4-5", err)
			}
		})
	}
}

// TestDeliveryBeforeSuback checks that a message the server delivers
// between SUBSCRIBE and SUBACK reaches the new handler: Subscribe
// registers it before sending (section 3.8.4: the server may send
// matching messages before SUBACK).
func TestDeliveryBeforeSuback(t *testing.T) {
	leaktest.Check(t)
	h, def := newInbox(), newInbox()
	c, b := connected(t, withDefault(def))
	done := subscribeAsync(c, h, Subscription{Filter: "a/+", QoS: packet.QoS1})
	b.ExpectType(packet.TypeSubscribe)
	b.Send(hx("32 07 00 03 61 2f 62 00 05")) // PUBLISH QoS 1 "a/b" id 5
	b.Expect(hx("40 02 00 05"))
	checkMessage(t, h.next(t), "a/b", "", packet.QoS1)
	b.Send(hx("90 03 00 01 01"))
	if r := wait(t, done); r.err != nil {
		t.Fatal(r.err)
	}
	def.none(t, 10*time.Millisecond)
}

// TestDefaultHandler checks that messages matching no subscription go to
// the DefaultHandler, the others to their subscription's handler only.
func TestDefaultHandler(t *testing.T) {
	leaktest.Check(t)
	h, def := newInbox(), newInbox()
	c, b := connected(t, withDefault(def))
	subscribe(t, c, b, h, "a/+")
	publishTo(b, "b")
	checkMessage(t, def.next(t), "b", "m", packet.QoS0)
	publishTo(b, "a/x")
	checkMessage(t, h.next(t), "a/x", "m", packet.QoS0)
	publishTo(b, "a/x/y") // '+' is one level
	checkMessage(t, def.next(t), "a/x/y", "m", packet.QoS0)
	h.none(t, 50*time.Millisecond)
}

// TestNoDefaultHandler checks that without a DefaultHandler an unmatched
// QoS 1 message is still acknowledged.
func TestNoDefaultHandler(t *testing.T) {
	leaktest.Check(t)
	_, b := connected(t, scriptConfig())
	b.Send(hx("32 05 00 01 7a 00 04"))
	b.Expect(hx("40 02 00 04"))
}

// TestWildcardSkipsDollarTopics checks that '#' and '+' as the first level
// of a filter do not match a topic starting with '$' [MQTT-4.7.2-1]: such
// a message goes to the DefaultHandler only, unless a filter names its
// first level.
func TestWildcardSkipsDollarTopics(t *testing.T) {
	leaktest.Check(t)
	hash, plus, sys, def := newInbox(), newInbox(), newInbox(), newInbox()
	c, b := connected(t, withDefault(def))
	subscribe(t, c, b, hash, "#")
	subscribe(t, c, b, plus, "+/x")
	subscribe(t, c, b, sys, "$SYS/#")
	publishTo(b, "$SYS/x")
	checkMessage(t, sys.next(t), "$SYS/x", "m", packet.QoS0)
	publishTo(b, "$other/x")
	checkMessage(t, def.next(t), "$other/x", "m", packet.QoS0)
	publishTo(b, "y/x")
	checkMessage(t, hash.next(t), "y/x", "m", packet.QoS0)
	checkMessage(t, plus.next(t), "y/x", "m", packet.QoS0)
	for _, in := range []*inbox{hash, plus, sys, def} {
		in.none(t, 20*time.Millisecond)
	}
	if hash.count() != 1 || plus.count() != 1 {
		t.Errorf("'#' handler got %d messages, '+/x' handler %d; want 1 each", hash.count(), plus.count())
	}
}

// TestOverlappingSubscriptions checks that a message matching several
// subscriptions calls each of their handlers once (section 4.7; the server
// may deliver it once, at the highest QoS [MQTT-3.3.5-1]).
func TestOverlappingSubscriptions(t *testing.T) {
	leaktest.Check(t)
	hs := []*inbox{newInbox(), newInbox(), newInbox(), newInbox()}
	def := newInbox()
	c, b := connected(t, withDefault(def))
	for i, f := range []string{"a/#", "a/+", "a/b", "+/b"} {
		subscribe(t, c, b, hs[i], f)
	}
	b.Send(hx("32 07 00 03 61 2f 62 00 05")) // one QoS 1 PUBLISH "a/b"
	for _, h := range hs {
		m := h.next(t)
		checkMessage(t, m, "a/b", "", packet.QoS1)
	}
	b.Expect(hx("40 02 00 05")) // one PUBACK, after all handlers
	for _, h := range append(hs, def) {
		h.none(t, 20*time.Millisecond)
	}
}

// TestUnsubscribe checks UNSUBSCRIBE: flags 0010 [MQTT-3.10.1-1], a new
// packet identifier [MQTT-2.3.1-2], the filter; the handler still gets
// messages until UNSUBACK [MQTT-3.10.4-3], none after.
func TestUnsubscribe(t *testing.T) {
	leaktest.Check(t)
	h, def := newInbox(), newInbox()
	c, b := connected(t, withDefault(def))
	subscribe(t, c, b, h, "a/b") // packet id 1
	done := async(func() error { return c.Unsubscribe(context.Background(), "a/b") })
	b.Expect(hx(`a2 07  UNSUBSCRIBE, remaining length 7
		00 02           packet id 2
		00 03 61 2f 62  filter "a/b"`))
	publishTo(b, "a/b")
	checkMessage(t, h.next(t), "a/b", "m", packet.QoS0)
	blocked(t, done, 50*time.Millisecond, "Unsubscribe before UNSUBACK")
	b.Send(hx("b0 02 00 02"))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	publishTo(b, "a/b")
	checkMessage(t, def.next(t), "a/b", "m", packet.QoS0)
	h.none(t, 20*time.Millisecond)
}

// TestUnsubscribeAll checks that UnsubscribeAll sends one UNSUBSCRIBE with
// every filter (sorted) when it fits, and removes all handlers on
// UNSUBACK.
func TestUnsubscribeAll(t *testing.T) {
	leaktest.Check(t)
	h, def := newInbox(), newInbox()
	c, b := connected(t, withDefault(def))
	done := subscribeAsync(c, h, Subscription{Filter: "b/#"}, Subscription{Filter: "a"}, Subscription{Filter: "c/+"})
	b.ExpectType(packet.TypeSubscribe)
	b.Send(hx("90 05 00 01 00 00 00"))
	wait(t, done)
	all := async(func() error { return c.UnsubscribeAll(context.Background()) })
	b.Expect(hx(`a2 0f
		00 02
		00 01 61        "a"
		00 03 62 2f 23  "b/#"
		00 03 63 2f 2b  "c/+"`))
	b.Send(hx("b0 02 00 02"))
	if err := wait(t, all); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"a", "b/x", "c/x"} {
		publishTo(b, topic)
		checkMessage(t, def.next(t), topic, "m", packet.QoS0)
	}
	h.none(t, 20*time.Millisecond)
	// Nothing left to unsubscribe: nothing sent.
	if err := c.UnsubscribeAll(context.Background()); err != nil {
		t.Error(err)
	}
	b.ExpectNothing(50 * time.Millisecond)
}

// TestUnsubscribeAllSplits checks that with a small MaxPacketSize,
// UnsubscribeAll spreads the filters over several UNSUBSCRIBE packets of
// at most that size, each with its own packet identifier, sends them all
// before any UNSUBACK, and returns once all are acknowledged, in any
// order.
func TestUnsubscribeAllSplits(t *testing.T) {
	leaktest.Check(t)
	cfg := scriptConfig()
	cfg.MaxPacketSize = 20 // 2 filters of 4 bytes per UNSUBSCRIBE: 16 bytes
	h := newInbox()
	c, b := connected(t, cfg)
	filters := []Subscription{{Filter: "f/ee"}, {Filter: "f/aa"}, {Filter: "f/dd"}, {Filter: "f/bb"}, {Filter: "f/cc"}}
	done := subscribeAsync(c, h, filters...)
	b.ExpectType(packet.TypeSubscribe)
	b.Send(hx("90 07 00 01 00 00 00 00 00"))
	wait(t, done)
	all := async(func() error { return c.UnsubscribeAll(context.Background()) })
	b.Expect(hx("a2 0e 00 02 00 04 66 2f 61 61 00 04 66 2f 62 62")) // f/aa f/bb
	b.Expect(hx("a2 0e 00 03 00 04 66 2f 63 63 00 04 66 2f 64 64")) // f/cc f/dd
	b.Expect(hx("a2 08 00 04 00 04 66 2f 65 65"))                   // f/ee
	b.Send(hx("b0 02 00 04"))
	b.Send(hx("b0 02 00 02"))
	blocked(t, all, 50*time.Millisecond, "UnsubscribeAll before the last UNSUBACK")
	b.Send(hx("b0 02 00 03"))
	if err := wait(t, all); err != nil {
		t.Fatal(err)
	}
	if fs := c.router.filters(); len(fs) != 0 {
		t.Errorf("filters left after UnsubscribeAll: %q", fs)
	}
}

// TestSubscribeRefused checks that filters the spec forbids are refused
// before anything is sent [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1],
// and register no handler.
func TestSubscribeRefused(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	for _, f := range []string{"a/#/b", "a+", "", "$share/g"} {
		if _, err := c.Subscribe(context.Background(), newInbox(), Subscription{Filter: "ok"}, Subscription{Filter: f}); err == nil {
			t.Errorf("Subscribe %q succeeded", f)
		}
	}
	if _, err := c.Subscribe(context.Background(), newInbox()); err == nil {
		t.Error("Subscribe with no filter succeeded [MQTT-3.8.3-3]")
	}
	if err := c.Unsubscribe(context.Background()); err == nil {
		t.Error("Unsubscribe with no filter succeeded [MQTT-3.10.3-2]")
	}
	b.ExpectNothing(50 * time.Millisecond)
	if fs := c.router.filters(); len(fs) != 0 {
		t.Errorf("refused Subscribe left handlers for %q", fs)
	}
}

// TestSubscribeNotConnected checks that a Subscribe that cannot be sent
// fails with ErrNotConnected and leaves no handler behind, for
// UnsubscribeAll to unsubscribe or for messages to reach.
func TestSubscribeNotConnected(t *testing.T) {
	leaktest.Check(t)
	c, _ := newScripted(t, scriptConfig())
	if _, err := c.Subscribe(context.Background(), newInbox(), Subscription{Filter: "a"}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Subscribe: %v, want ErrNotConnected", err)
	}
	if fs := c.router.filters(); len(fs) != 0 {
		t.Errorf("handlers left for %q", fs)
	}
}
