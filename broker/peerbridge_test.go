package broker

import (
	"testing"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestPeerBridge checks a client that connects as a bridge, with bit 0x80
// of the protocol level (Mosquitto's try_private, the default of its
// bridges): as Mosquitto does, it gets none of the messages it published
// back (the loop a "both" topic would make), and it gets the RETAIN flag
// of live messages as published, so that retained messages stay retained
// across it. Other clients are served as before [MQTT-3.3.1-9]. It may
// publish its state to $SYS/broker/connection/+/state, and set its will
// there, as Mosquitto allows; the rest of $SYS stays the broker's.
func TestPeerBridge(t *testing.T) {
	_, addr := startServer(t, Config{})
	edge := dial(t, addr)
	edge.connect(&packet.Connect{ClientID: []byte("edge"), Bridge: true, KeepAlive: 60,
		WillFlag: true, WillTopic: []byte("$SYS/broker/connection/edge/state"), WillMessage: []byte("0"), WillQoS: packet.QoS1, WillRetain: true},
		packet.Connack{})
	edge.subscribe(1, "b/#", packet.QoS1, packet.GrantedQoS1)
	local := connectID(t, addr, "local", true)
	local.subscribe(1, "b/#", packet.QoS1, packet.GrantedQoS1)
	state := connectID(t, addr, "state", true)
	state.subscribe(1, "$SYS/broker/connection/#", packet.QoS1, packet.GrantedQoS1)

	// The bridge's own message goes to the others, not back to it.
	edge.publish("b/from-edge", "e", packet.QoS1, false, 1)
	local.expectPublish(pub("b/from-edge", "e", packet.QoS1, false))
	// A retained message published live reaches the bridge retained, the
	// others not.
	local.publish("b/from-local", "l", packet.QoS1, true, 2)
	edge.expectPublish(pub("b/from-local", "l", packet.QoS1, true))
	local.expectPublish(pub("b/from-local", "l", packet.QoS1, false))

	// Its state, allowed; the rest of $SYS, not.
	edge.publish("$SYS/broker/connection/edge/state", "1", packet.QoS1, true, 3)
	edge.publish("$SYS/broker/uptime", "forged", packet.QoS1, false, 4)
	edge.publish("$SYS/broker/connection/a/b/state", "forged", packet.QoS1, false, 5)
	state.expectPublish(pub("$SYS/broker/connection/edge/state", "1", packet.QoS1, false))
	state.expectNothing()
	edge.expectNothing() // none of its own: not b/from-edge

	// Its will, on its state topic, is published when it goes.
	edge.nc.Close()
	state.expectPublish(pub("$SYS/broker/connection/edge/state", "0", packet.QoS1, false))

	// A will elsewhere in $SYS is still refused with 5.
	c := dial(t, addr)
	c.connect(&packet.Connect{ClientID: []byte("sys"), CleanSession: true,
		WillFlag: true, WillTopic: []byte("$SYS/broker/uptime"), WillMessage: []byte("x")},
		packet.Connack{ReturnCode: packet.RefusedNotAuthorized})
}

func TestIsBridgeState(t *testing.T) {
	for topic, want := range map[string]bool{
		"$SYS/broker/connection/edge/state":   true,
		"$SYS/broker/connection//state":       true, // '+' matches an empty level
		"$SYS/broker/connection/a/b/state":    false,
		"$SYS/broker/connection/edge/state/x": false,
		"$SYS/broker/connection/edge":         false,
		"$SYS/broker/uptime":                  false,
		"a/broker/connection/edge/state":      false,
	} {
		if got := isBridgeState(topic); got != want {
			t.Errorf("isBridgeState(%q) = %v, want %v", topic, got, want)
		}
	}
}

// TestMosquittoBridgeIn runs a Mosquitto 2.0 bridge, with its defaults
// (try_private true, notifications true, cleansession false), to the
// broker, on a "both" topic: it connects (before, CONNACK 1 for the
// bridge's protocol level, then CONNACK 5 for its will on $SYS), its
// state arrives, and a message published on either side reaches each
// side's subscriber once: none comes back to Mosquitto to loop.
func TestMosquittoBridgeIn(t *testing.T) {
	srv, addr := startServer(t, Config{})
	state := connectID(t, addr, "state", true)
	state.subscribe(1, "$SYS/broker/connection/+/state", packet.QoS1, packet.GrantedQoS1)
	core := connectID(t, addr, "core", true)
	core.subscribe(1, "b/#", packet.QoS1, packet.GrantedQoS1)

	m := mosquittotest.Start(t, mosquittotest.Options{Config: "connection edge\naddress " + addr +
		"\nremote_clientid edge\ntopic b/# both 1\n"})
	p, ok := state.next().(*packet.Publish)
	if !ok || string(p.Topic) != "$SYS/broker/connection/edge/state" || string(p.Payload) != "1" {
		t.Fatalf("got %v; want the bridge's state 1", p)
	}
	eventually(t, "the bridge's subscription", func() bool { return srv.Stats().Subscriptions == 3 }) // state's, core's and the bridge's

	edge := connectID(t, m.Addr(), "edge-sub", true)
	edge.subscribe(1, "b/#", packet.QoS1, packet.GrantedQoS1)

	fromEdge := connectID(t, m.Addr(), "edge-pub", true)
	fromEdge.publish("b/from-edge", "e", packet.QoS1, false, 1)
	edge.expectPublish(pub("b/from-edge", "e", packet.QoS1, false))
	core.expectPublish(pub("b/from-edge", "e", packet.QoS1, false))

	core.publish("b/from-core", "c", packet.QoS1, false, 2)
	core.expectPublish(pub("b/from-core", "c", packet.QoS1, false))
	edge.expectPublish(pub("b/from-core", "c", packet.QoS1, false))

	edge.expectNothing() // no second copy: none looped
	core.expectNothing()
}
