package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestWindowWaitEndsWithReconnection: a Publish and a PublishAsync waiting
// for room in a full in-flight window, with a context that never ends,
// notice when the connection is lost and reconnection then gives up (the
// broker refuses the client): both fail at once with the refusal, as does
// the message that filled the window. None waits for its ctx.
func TestWindowWaitEndsWithReconnection(t *testing.T) {
	for _, persistent := range []bool{true, false} {
		t.Run(map[bool]string{true: "persistent", false: "clean"}[persistent], func(t *testing.T) {
			leaktest.Check(t)
			cfg := scriptConfig()
			cfg.PersistentSession = persistent
			cfg.MaxInflight = 1
			cfg.Reconnect = &Reconnect{MinDelay: 10 * time.Millisecond, MaxDelay: 10 * time.Millisecond}
			c, b := connected(t, cfg)
			ctx := context.Background()
			first := publishAsync(c, Message{Topic: "a", Payload: []byte("1"), QoS: packet.QoS1})
			b.ExpectType(packet.TypePublish)
			serial := publishAsync(c, Message{Topic: "a", Payload: []byte("2"), QoS: packet.QoS1})
			pipelined := async(func() error {
				a, err := c.PublishAsync(ctx, Message{Topic: "a", Payload: []byte("3"), QoS: packet.QoS2})
				if err != nil {
					return err
				}
				return a.Wait(ctx)
			})
			blocked(t, serial, 30*time.Millisecond, "Publish with the window full")
			blocked(t, pipelined, 0, "PublishAsync with the window full")

			b.Close()
			b.ExpectType(packet.TypeConnect) // the client reconnects by itself
			b.SendPacket(&packet.Connack{ReturnCode: packet.RefusedNotAuthorized})
			b.ExpectClosed()

			for name, ch := range map[string]<-chan error{"the first Publish": first, "Publish": serial, "PublishAsync": pipelined} {
				err := wait(t, ch)
				var ce *ConnectError
				switch {
				case !errors.As(err, &ce) || ce.Code != packet.RefusedNotAuthorized:
					t.Errorf("%s: %v, want the refusal", name, err)
				}
			}
			if err := c.Disconnect(ctx); err != nil {
				t.Errorf("Disconnect: %v", err)
			}
		})
	}
}

// TestWindowWaitEndsWithConnection: without Reconnect, a Publish waiting
// for room in a full window of a persistent session (whose message in
// flight stays in the session when the connection ends) fails as soon as
// the connection ends, naming why, instead of waiting for its ctx.
func TestWindowWaitEndsWithConnection(t *testing.T) {
	leaktest.Check(t)
	cfg := keptConfig()
	cfg.MaxInflight = 1
	c, b := connected(t, cfg)
	first := publishAsync(c, Message{Topic: "a", Payload: []byte("1"), QoS: packet.QoS1})
	b.ExpectType(packet.TypePublish)
	second := publishAsync(c, Message{Topic: "a", Payload: []byte("2"), QoS: packet.QoS1})
	blocked(t, second, 30*time.Millisecond, "Publish with the window full")
	b.Close()
	if err := wait(t, first); !errors.Is(err, ErrConnectionLost) {
		t.Errorf("the first Publish: %v, want ErrConnectionLost", err)
	}
	if err := wait(t, second); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Publish waiting for the window: %v, want ErrNotConnected", err)
	}
}
