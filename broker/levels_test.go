package broker

import (
	"errors"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// levels returns a topic of n levels.
func levels(n int) string {
	return strings.Repeat("a/", n-1) + "a"
}

// TestTopicLevels checks Config.MaxTopicLevels as Mosquitto 2.0's limit
// of 200 separators: a topic or filter of 201 levels is served; one of
// 202, or "/" repeated 65,535 times (Mosquitto's 02-subscribe-long-topic),
// in a SUBSCRIBE, a PUBLISH or a will closes the connection without an
// answer, and nothing is stored.
func TestTopicLevels(t *testing.T) {
	srv, addr := startServer(t, Config{})
	if srv.cfg.MaxTopicLevels != DefaultMaxTopicLevels || DefaultMaxTopicLevels != 201 {
		t.Fatalf("MaxTopicLevels = %d, default %d; want 201", srv.cfg.MaxTopicLevels, DefaultMaxTopicLevels)
	}
	watcher := connectID(t, addr, "watcher", true)
	watcher.subscribe(1, "will/#", packet.QoS0, packet.GrantedQoS0)

	deep := levels(DefaultMaxTopicLevels)
	c := connectID(t, addr, "deep-ok", true)
	c.subscribe(1, deep, packet.QoS1, packet.GrantedQoS1)
	c.publish(deep, "m", packet.QoS1, true, 2)
	c.expectPublish(pub(deep, "m", packet.QoS1, false))

	for _, tt := range []struct {
		name string
		p    packet.Packet
	}{
		{"SUBSCRIBE of 202 levels", &packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: []byte("ok")}, {Filter: []byte(levels(202))}}}},
		{"SUBSCRIBE of 65,535 slashes", &packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: []byte(strings.Repeat("/", 65535))}}}},
		{"PUBLISH of 202 levels", &packet.Publish{Topic: []byte(levels(202)), Payload: []byte("x"), Retain: true}},
		{"PUBLISH of 202 levels, QoS 1", &packet.Publish{Topic: []byte(levels(202)), QoS: packet.QoS1, PacketID: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := connectWithWill(t, addr, "v", packet.QoS0, false)
			c.send(tt.p)
			c.expectClosed()
			watcher.expectPublish(pub("will/v", "gone v", packet.QoS0, false))
		})
	}
	t.Run("will of 202 levels", func(t *testing.T) {
		c := dial(t, addr)
		c.send(&packet.Connect{ClientID: []byte("w"), CleanSession: true, WillFlag: true, WillTopic: []byte(levels(202)), WillMessage: []byte("x")})
		c.expectClosed()
	})
	if n := srv.subs.len(); n != 2 {
		t.Errorf("%d subscriptions held; want 2 (the watcher's and deep-ok's)", n)
	}
	watcher.expectNothing()
}

// TestTopicLevelsConfig checks MaxTopicLevels' bounds and a limit of one.
func TestTopicLevelsConfig(t *testing.T) {
	for _, v := range []int{-1, 65537} {
		_, err := New(Config{MaxTopicLevels: v})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != "MaxTopicLevels" {
			t.Errorf("MaxTopicLevels %d: err %v; want a ConfigError naming it", v, err)
		}
	}
	_, addr := startServer(t, Config{MaxTopicLevels: 1})
	c := connectID(t, addr, "flat", true)
	c.subscribe(1, "flat", packet.QoS0, packet.GrantedQoS0)
	c.send(&packet.Subscribe{PacketID: 2, Filters: []packet.Subscription{{Filter: []byte("a/b")}}})
	c.expectClosed()
}
