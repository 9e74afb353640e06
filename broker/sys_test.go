package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/version"
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

// TestSysVersion checks that $SYS/broker/version names Petrel and its
// version, as petrel version prints it.
func TestSysVersion(t *testing.T) {
	s, addr := startServer(t, Config{SysInterval: time.Hour}) // published once, at the start
	// Subscribing before that would get it live, not retained
	// [MQTT-3.3.1-9].
	eventually(t, "the $SYS topics to be retained", func() bool { return s.Stats().Retained > 0 })
	c := connectID(t, addr, "sys", true)
	c.subscribe(1, "$SYS/broker/version", packet.QoS0, packet.GrantedQoS0)
	m := c.next().(*packet.Publish)
	want := "petrel " + version.Get().String()
	if string(m.Topic) != "$SYS/broker/version" || string(m.Payload) != want || !m.Retain {
		t.Errorf("got %s %q (retain %v), want $SYS/broker/version %q retained", m.Topic, m.Payload, m.Retain, want)
	}
	if v := strings.TrimPrefix(string(m.Payload), "petrel "); v == "" || v == string(m.Payload) {
		t.Errorf("$SYS/broker/version is %q, want \"petrel <version>\"", m.Payload)
	}
}
