package main

import (
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/testbroker"
	"github.com/petrel-mqtt/petrel/packet"
)

// scripted returns a scripted broker listening on a loopback port and the
// -h and -p flags that reach it.
func scripted(t *testing.T) (*testbroker.Broker, []string) {
	t.Helper()
	b := testbroker.New(t)
	host, port, _ := strings.Cut(b.Listen(), ":")
	return b, []string{"-h", host, "-p", port}
}

// TestPubQoS2AnsweredWithPuback checks that pub -q 2 against a broker that
// answers QoS 2 with PUBACK (RabbitMQ 3.10 does) exits at once with code 3
// and says why, instead of waiting for a PUBREC that never comes
// [MQTT-4.3.3-2].
func TestPubQoS2AnsweredWithPuback(t *testing.T) {
	b, addr := scripted(t)
	c := start(t, nil, nil, join([]string{"pub", "-t", "t", "-m", "x", "-q", "2"}, addr)...)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{})
	p := b.ExpectType(packet.TypePublish).(*packet.Publish)
	b.SendPacket(&packet.Puback{PacketID: p.PacketID})
	code := c.wait(t)
	stderr := c.stderr.String()
	t.Logf("stderr: %s", stderr)
	if code != exitOperation {
		t.Errorf("exit code %d, want %d; stderr %q", code, exitOperation, stderr)
	}
	for _, want := range []string{"with PUBACK", "may not support QoS 2", "publish at QoS 1"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not say %q", stderr, want)
		}
	}
}
