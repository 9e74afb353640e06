package broker

import (
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestSys checks that the counters are published under $SYS/broker/ as
// retained messages, and again when they change.
func TestSys(t *testing.T) {
	_, addr := startServer(t, Config{SysInterval: 20 * time.Millisecond})
	c := connectID(t, addr, "sys", true)
	c.subscribe(1, "$SYS/broker/clients/connected", packet.QoS0, packet.GrantedQoS0)
	until := func(c *client, payload string) *packet.Publish {
		t.Helper()
		for {
			m := c.next().(*packet.Publish)
			if string(m.Topic) != "$SYS/broker/clients/connected" {
				t.Fatalf("got %s", m.Topic)
			}
			if string(m.Payload) == payload {
				return m
			}
		}
	}
	until(c, "1")
	connectID(t, addr, "other", true)
	if m := until(c, "2"); m.Retain {
		t.Error("live $SYS message with RETAIN=1")
	}
	late := connectID(t, addr, "late", true)
	late.subscribe(1, "$SYS/broker/clients/connected", packet.QoS0, packet.GrantedQoS0)
	if m := late.next().(*packet.Publish); !m.Retain {
		t.Error("$SYS message not retained")
	}
	c.subscribe(2, "$SYS/broker/messages/+", packet.QoS0, packet.GrantedQoS0)
	got := map[string]bool{}
	for range 2 {
		got[string(c.next().(*packet.Publish).Topic)] = true
	}
	if !got["$SYS/broker/messages/received"] || !got["$SYS/broker/messages/sent"] {
		t.Errorf("got %v", got)
	}
}
