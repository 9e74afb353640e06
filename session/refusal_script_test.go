package session

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestMaxPacketSizeOutgoing checks that with Config.MaxPacketSize set, a
// Publish whose PUBLISH would be larger fails at once, naming the limit,
// and sends nothing.
func TestMaxPacketSizeOutgoing(t *testing.T) {
	leaktest.Check(t)
	cfg := scriptConfig()
	cfg.MaxPacketSize = 64
	c, b := connected(t, cfg)
	err := c.Publish(context.Background(), Message{Topic: "a/b", Payload: make([]byte, 100), QoS: packet.QoS1})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Publish = %v, want ErrTooLarge", err)
	}
	for _, w := range []string{"109 bytes", "MaxPacketSize, 64 bytes", `"a/b"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	// At the limit it goes.
	done := publishAsync(c, Message{Topic: "a/b", Payload: make([]byte, 64-9), QoS: packet.QoS1})
	b.ExpectType(packet.TypePublish)
	b.SendPacket(&packet.Puback{PacketID: 1})
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
}

// refusedErr checks that err says the message was given up as refused.
func refusedErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Publish = %v, want ErrTooLarge", err)
	}
	for _, w := range []string{"right after this message", "3 times in a row", "size limit", "message_size_limit", "MaxPacketSize"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

// TestRefusedMessagePersistent checks that a message the server closes
// the connection after, on three connections in a row, fails with
// ErrTooLarge instead of being sent again on every reconnection, for
// ever; the session goes on without it.
func TestRefusedMessagePersistent(t *testing.T) {
	leaktest.Check(t)
	cfg := reconnectConfig(5 * time.Millisecond)
	ups := make(chan bool, 8)
	cfg.Reconnect.OnConnect = func(present bool) { ups <- present }
	c, b := connected(t, cfg)
	done := publishAsync(c, Message{Topic: "big", Payload: make([]byte, 1000), QoS: packet.QoS1})
	for i := range refusalLimit {
		p := b.ExpectType(packet.TypePublish).(*packet.Publish)
		if p.Dup != (i > 0) {
			t.Errorf("send %d: DUP %v", i+1, p.Dup)
		}
		b.Close()
		if i < refusalLimit-1 {
			b.ExpectType(packet.TypeConnect)
			b.SendPacket(&packet.Connack{SessionPresent: true})
		}
	}
	refusedErr(t, wait(t, done))
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{SessionPresent: true})
	wait(t, ups)
	b.ExpectNothing(50 * time.Millisecond) // not sent again
	disconnect(t, c, b)
}

// TestRefusedMessageClean checks the same for a clean session: a QoS 1
// message sent on a lost connection is sent again on the next, as the
// server has forgotten it; the same message, closed after three times in a
// row, fails with ErrTooLarge.
func TestRefusedMessageClean(t *testing.T) {
	leaktest.Check(t)
	cfg := scriptConfig()
	ups := make(chan bool, 8)
	cfg.Reconnect = &Reconnect{MinDelay: 5 * time.Millisecond, MaxDelay: 5 * time.Millisecond,
		OnConnect: func(present bool) { ups <- present }}
	c, b := connected(t, cfg)
	done := publishAsync(c, Message{Topic: "big", Payload: make([]byte, 1000), QoS: packet.QoS1})
	for i := range refusalLimit {
		b.ExpectType(packet.TypePublish)
		b.Close()
		if i < refusalLimit-1 {
			b.ExpectType(packet.TypeConnect)
			b.SendPacket(&packet.Connack{})
			wait(t, ups)
		}
	}
	refusedErr(t, wait(t, done))
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{})
	wait(t, ups)
	b.ExpectNothing(50 * time.Millisecond) // not sent again
	disconnect(t, c, b)
}

// TestRefusalsReset checks that a connection closed right after a message
// counts only in a row: an acknowledgement in between starts the count
// again, so a flaky link does not pass for a refusal.
func TestRefusalsReset(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, reconnectConfig(5*time.Millisecond))
	done := publishAsync(c, Message{Topic: "m", Payload: []byte("x"), QoS: packet.QoS1})
	for range refusalLimit - 1 {
		b.ExpectType(packet.TypePublish)
		b.Close()
		b.ExpectType(packet.TypeConnect)
		b.SendPacket(&packet.Connack{SessionPresent: true})
	}
	other := publishAsync(c, Message{Topic: "other", QoS: packet.QoS1})
	p := b.ExpectType(packet.TypePublish).(*packet.Publish) // "m" again
	o := b.ExpectType(packet.TypePublish).(*packet.Publish)
	b.SendPacket(&packet.Puback{PacketID: o.PacketID})
	if err := wait(t, other); err != nil {
		t.Fatal(err)
	}
	b.Close() // after progress: not a refusal
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{SessionPresent: true})
	b.ExpectType(packet.TypePublish)
	b.SendPacket(&packet.Puback{PacketID: p.PacketID})
	if err := wait(t, done); err != nil {
		t.Fatalf("Publish = %v, want nil", err)
	}
	disconnect(t, c, b)
}

// TestPing checks Ping: PINGREQ, and nil once PINGRESP comes; an error
// matching ErrConnectionLost when the connection ends first.
func TestPing(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	done := async(func() error { return c.Ping(context.Background()) })
	b.Expect(hx("c0 00"))
	blocked(t, done, 20*time.Millisecond, "Ping before PINGRESP")
	b.Send(hx("d0 00"))
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	done = async(func() error { return c.Ping(context.Background()) })
	b.Expect(hx("c0 00"))
	b.Close()
	if err := wait(t, done); !errors.Is(err, ErrConnectionLost) {
		t.Fatalf("Ping = %v, want ErrConnectionLost", err)
	}
	if err := c.Ping(context.Background()); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("Ping without a connection = %v, want ErrNotConnected", err)
	}
}

// TestRefusalsQoS2: at QoS 2 PUBREC is the server's acknowledgement of the
// PUBLISH, so it counts as one for refusals: a message no larger than one
// that had its PUBREC, cut right after on three connections in a row (a
// flapping link), is sent again, not given up as over the size limit.
func TestRefusalsQoS2(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, reconnectConfig(5*time.Millisecond))
	first := publishAsync(c, Message{Topic: "m", Payload: []byte("1"), QoS: packet.QoS2})
	p := b.ExpectType(packet.TypePublish).(*packet.Publish)
	b.SendPacket(&packet.Pubrec{PacketID: p.PacketID})
	b.ExpectPacket(&packet.Pubrel{PacketID: p.PacketID})
	b.SendPacket(&packet.Pubcomp{PacketID: p.PacketID})
	if err := wait(t, first); err != nil {
		t.Fatal(err)
	}
	done := publishAsync(c, Message{Topic: "m", Payload: []byte("2"), QoS: packet.QoS2})
	for range refusalLimit {
		b.ExpectType(packet.TypePublish)
		b.Close()
		b.ExpectType(packet.TypeConnect)
		b.SendPacket(&packet.Connack{SessionPresent: true})
	}
	p = b.ExpectType(packet.TypePublish).(*packet.Publish)
	if !p.Dup {
		t.Error("sent again without DUP")
	}
	b.SendPacket(&packet.Pubrec{PacketID: p.PacketID})
	b.ExpectPacket(&packet.Pubrel{PacketID: p.PacketID})
	b.SendPacket(&packet.Pubcomp{PacketID: p.PacketID})
	if err := wait(t, done); err != nil {
		t.Fatalf("Publish = %v, want nil", err)
	}
	disconnect(t, c, b)
}

// TestRefusalSmallMessage: a message of minRefusalSize bytes or less is
// never given up as refused, even cut right after on three connections in
// a row before anything was acknowledged (the first line of a run on a
// flapping link): no broker limits packets that small.
func TestRefusalSmallMessage(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, reconnectConfig(5*time.Millisecond))
	done := publishAsync(c, Message{Topic: "m", Payload: make([]byte, minRefusalSize-8), QoS: packet.QoS1})
	for range refusalLimit {
		b.ExpectType(packet.TypePublish)
		b.Close()
		b.ExpectType(packet.TypeConnect)
		b.SendPacket(&packet.Connack{SessionPresent: true})
	}
	p := b.ExpectType(packet.TypePublish).(*packet.Publish)
	b.SendPacket(&packet.Puback{PacketID: p.PacketID})
	if err := wait(t, done); err != nil {
		t.Fatalf("Publish = %v, want nil", err)
	}
	disconnect(t, c, b)
}
