package session

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// attempts is a slog.Handler that passes on the attempt number of each
// "mqtt: reconnecting" record: 1 after a success, more after each failure.
type attempts chan int64

func (a attempts) Enabled(context.Context, slog.Level) bool { return true }
func (a attempts) WithAttrs([]slog.Attr) slog.Handler       { return a }
func (a attempts) WithGroup(string) slog.Handler            { return a }
func (a attempts) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "mqtt: reconnecting" {
		r.Attrs(func(at slog.Attr) bool {
			if at.Key == "attempt" {
				a <- at.Value.Int64()
			}
			return true
		})
	}
	return nil
}

// TestBackoffResetsOnProgress checks that a connection that carried an
// acknowledgement counts as a success for the backoff, however short it
// was: the next delay starts again from MinDelay (attempt 1). Attempts
// that fail before CONNACK, and connections lost before anything came
// from the server, make it grow.
func TestBackoffResetsOnProgress(t *testing.T) {
	leaktest.Check(t)
	cfg := reconnectConfig(time.Millisecond)
	cfg.Reconnect.StableAfter = time.Hour // only progress resets it
	got := make(attempts, 16)
	cfg.Logger = slog.New(got)
	ups := make(chan bool, 8)
	cfg.Reconnect.OnConnect = func(present bool) { ups <- present }
	c, b := connected(t, cfg)
	next := func(want int64) {
		t.Helper()
		if n := wait(t, (<-chan int64)(got)); n != want {
			t.Fatalf("reconnection attempt %d, want %d", n, want)
		}
	}

	b.Close() // no progress
	next(1)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{ReturnCode: packet.RefusedServerUnavailable}) // fails before acceptance
	b.ExpectClosed()
	next(2)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{SessionPresent: true})
	b.Close() // accepted, but nothing came: no progress
	next(3)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{SessionPresent: true})

	done := publishAsync(c, Message{Topic: "t", QoS: packet.QoS1})
	b.ExpectType(packet.TypePublish)
	b.SendPacket(&packet.Puback{PacketID: 1})
	if err := wait(t, done); err != nil {
		t.Fatal(err)
	}
	b.Close() // after an acknowledgement: a success, however short
	next(1)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{SessionPresent: true})
	b.Close()
	next(2)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{SessionPresent: true})
	for range 4 { // each acceptance, the last included
		wait(t, ups)
	}
	disconnect(t, c, b)
}

// delays is a slog.Handler that passes on the delay of each "mqtt:
// reconnecting" record.
type delays chan time.Duration

func (d delays) Enabled(context.Context, slog.Level) bool { return true }
func (d delays) WithAttrs([]slog.Attr) slog.Handler       { return d }
func (d delays) WithGroup(string) slog.Handler            { return d }
func (d delays) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "mqtt: reconnecting" {
		r.Attrs(func(at slog.Attr) bool {
			if at.Key == "delay" {
				d <- at.Value.Duration()
			}
			return true
		})
	}
	return nil
}

// TestBackoffAcceptedCapped: connections accepted but cut before any
// progress (a link cut faster than the first acknowledgement comes back)
// grow the delay, but the attempt after each waits at most a second: the
// broker is up. Attempts refused before CONNACK grow it past that.
func TestBackoffAcceptedCapped(t *testing.T) {
	leaktest.Check(t)
	cfg := reconnectConfig(0)
	cfg.Reconnect.MinDelay, cfg.Reconnect.MaxDelay, cfg.Reconnect.StableAfter = 100*time.Millisecond, time.Hour, time.Hour
	got := make(delays, 16)
	cfg.Logger = slog.New(got)
	c, b := connected(t, cfg)
	for i := range 5 { // delays up to 100ms<<4 = 1.6s, jittered by half
		b.Close()
		d := wait(t, (<-chan time.Duration)(got))
		if d > time.Second {
			t.Fatalf("after accepted connection %d: delay %v, want at most 1s", i+1, d)
		}
		b.ExpectType(packet.TypeConnect)
		if i < 4 {
			b.SendPacket(&packet.Connack{SessionPresent: true})
			continue
		}
		b.SendPacket(&packet.Connack{ReturnCode: packet.RefusedServerUnavailable})
		b.ExpectClosed()
		if d := wait(t, (<-chan time.Duration)(got)); d < 1600*time.Millisecond {
			t.Fatalf("after a refusal: delay %v, want it grown past 1.6s", d)
		}
	}
	if err := c.Disconnect(context.Background()); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
}
