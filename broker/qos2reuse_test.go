package broker

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// lockedBuffer is a bytes.Buffer safe for a Logger and a test at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestQoS2IdentifierReuse checks the QoS 2 flow of Method B (section
// 4.3.3): the message is routed when it arrives; until PUBREL a PUBLISH
// with its identifier is acknowledged with PUBREC and not routed
// [MQTT-4.3.3-2]; one without DUP, a new message on an identifier in use
// [MQTT-2.3.1-2] (Mosquitto's 03-publish-qos2-reuse-mid), is logged once,
// a re-send with DUP not at all.
func TestQoS2IdentifierReuse(t *testing.T) {
	var logs lockedBuffer
	_, addr := startServer(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	sub := connectID(t, addr, "sub", true)
	sub.subscribe(1, "pub/#", packet.QoS0, packet.GrantedQoS0)
	p := connectID(t, addr, "pub", true)
	p.send(&packet.Publish{Topic: []byte("pub/qos2/test"), Payload: []byte("message"), QoS: packet.QoS2, PacketID: 312})
	p.expect(&packet.Pubrec{PacketID: 312})
	sub.expectPublish(pub("pub/qos2/test", "message", packet.QoS0, false))

	p.send(&packet.Publish{Topic: []byte("pub/qos2/reuse"), Payload: []byte("message"), QoS: packet.QoS2, PacketID: 312})
	p.expect(&packet.Pubrec{PacketID: 312})
	p.send(&packet.Publish{Topic: []byte("pub/qos2/test"), Payload: []byte("message"), QoS: packet.QoS2, PacketID: 312, Dup: true})
	p.expect(&packet.Pubrec{PacketID: 312})
	p.send(&packet.Pubrel{PacketID: 312})
	p.expect(&packet.Pubcomp{PacketID: 312})
	sub.expectNothing()
	const warn = `msg="QoS 2 publish reuses a packet identifier before its PUBREL: acknowledged, not routed" client=pub id=312 topic=pub/qos2/reuse`
	if got := strings.Count(logs.String(), "reuses a packet identifier"); got != 1 || !strings.Contains(logs.String(), warn) {
		t.Errorf("%d reuse warnings; want one: %s\nlog:\n%s", got, warn, logs.String())
	}

	// Released, the identifier carries a new message.
	p.publish("pub/qos2/next", "m", packet.QoS2, false, 312)
	sub.expectPublish(pub("pub/qos2/next", "m", packet.QoS0, false))
}
