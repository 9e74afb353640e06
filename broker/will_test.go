package broker

import (
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestWill checks when the will is published [MQTT-3.1.2-8] and when not
// [MQTT-3.14.4-3], with its QoS and RETAIN flag [MQTT-3.1.2-16]
// [MQTT-3.1.2-17].
func TestWill(t *testing.T) {
	_, addr := startServer(t, Config{})
	watcher := connectID(t, addr, "watcher", true)
	watcher.subscribe(1, "will/#", packet.QoS2, packet.GrantedQoS2)

	t.Run("network close publishes the will", func(t *testing.T) {
		c := connectWithWill(t, addr, "n", packet.QoS1, false)
		c.nc.Close()
		p := watcher.expectPublish(pub("will/n", "gone n", packet.QoS1, false))
		watcher.send(&packet.Puback{PacketID: p.PacketID})
	})
	t.Run("DISCONNECT discards the will [MQTT-3.14.4-3]", func(t *testing.T) {
		c := connectWithWill(t, addr, "d", packet.QoS1, false)
		c.send(&packet.Disconnect{})
		c.expectClosed()
		watcher.expectNothing()
	})
	t.Run("takeover publishes the old connection's will [MQTT-3.1.4-2]", func(t *testing.T) {
		old := connectWithWill(t, addr, "t", packet.QoS0, false)
		connectID(t, addr, "t", true)
		old.expectClosed()
		watcher.expectPublish(pub("will/t", "gone t", packet.QoS0, false))
	})
	t.Run("retained will [MQTT-3.1.2-17]", func(t *testing.T) {
		c := connectWithWill(t, addr, "r", packet.QoS0, true)
		c.nc.Close()
		watcher.expectPublish(pub("will/r", "gone r", packet.QoS0, false)) // RETAIN=0 to an existing subscription
		late := connectID(t, addr, "late", true)
		late.subscribe(1, "will/r", packet.QoS1, packet.GrantedQoS1)
		late.expectPublish(pub("will/r", "gone r", packet.QoS0, true))
	})
	t.Run("will QoS 2", func(t *testing.T) {
		c := connectWithWill(t, addr, "q2", packet.QoS2, false)
		c.nc.Close()
		p := watcher.expectPublish(pub("will/q2", "gone q2", packet.QoS2, false))
		watcher.send(&packet.Pubrec{PacketID: p.PacketID})
		watcher.expect(&packet.Pubrel{PacketID: p.PacketID})
		watcher.send(&packet.Pubcomp{PacketID: p.PacketID})
	})
	t.Run("no will flag, no will [MQTT-3.1.2-12]", func(t *testing.T) {
		c := connectID(t, addr, "none", true)
		c.nc.Close()
		watcher.expectNothing()
	})
}

// TestKeepAlive checks that the broker closes a silent client after 1.5
// times its keep alive, not after 1 times [MQTT-3.1.2-24], publishing its
// will; that PINGREQ is answered [MQTT-3.12.4-1] and keeps it alive.
func TestKeepAlive(t *testing.T) {
	_, addr := startServer(t, Config{})
	watcher := connectID(t, addr, "watcher", true)
	watcher.subscribe(1, "will/#", packet.QoS0, packet.GrantedQoS0)

	c := dial(t, addr)
	c.connect(&packet.Connect{ClientID: []byte("ka"), CleanSession: true, KeepAlive: 1,
		WillFlag: true, WillTopic: []byte("will/ka"), WillMessage: []byte("timeout")}, packet.Connack{})
	for range 3 {
		time.Sleep(800 * time.Millisecond)
		c.send(&packet.Pingreq{})
		c.expect(&packet.Pingresp{})
	}
	// Silent for 1.2 s, more than the keep alive: still connected.
	if p, err := c.read(1200 * time.Millisecond); err == nil {
		t.Fatalf("got %T, want nothing", p)
	}
	c.send(&packet.Pingreq{})
	c.expect(&packet.Pingresp{})
	start := time.Now()
	c.expectClosed()
	if d := time.Since(start); d < time.Second || d > 4*time.Second {
		t.Errorf("closed after %v of silence, want 1.5 s", d)
	}
	watcher.expectPublish(pub("will/ka", "timeout", packet.QoS0, false))
}
