package session

import (
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestReleasedSentAgain: Mosquitto 2.0, its connection cut twice in a row,
// sends again with DUP set a QoS 2 PUBLISH it had already released with
// PUBREL, before reading the PUBCOMP (see releasedSet). With
// PersistentSession the client answers it with PUBREC and does not hand
// it over a second time.
func TestReleasedSentAgain(t *testing.T) {
	leaktest.Check(t)
	in := newInbox()
	cfg := reconnectConfig(5 * time.Millisecond)
	cfg.DefaultHandler = in
	c, b := connected(t, cfg)
	b.SendPacket(&packet.Publish{QoS: packet.QoS2, PacketID: 7, Topic: []byte("a"), Payload: []byte("x")})
	checkMessage(t, in.next(t), "a", "x", packet.QoS2)
	b.ExpectPacket(&packet.Pubrec{PacketID: 7})
	b.SendPacket(&packet.Pubrel{PacketID: 7})
	b.ExpectPacket(&packet.Pubcomp{PacketID: 7})
	b.Close() // the PUBCOMP lost, as far as the server knows

	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{SessionPresent: true})
	b.SendPacket(&packet.Publish{QoS: packet.QoS2, PacketID: 7, Dup: true, Topic: []byte("a"), Payload: []byte("x")})
	b.ExpectPacket(&packet.Pubrec{PacketID: 7})
	b.SendPacket(&packet.Pubrel{PacketID: 7})
	b.ExpectPacket(&packet.Pubcomp{PacketID: 7})
	in.none(t, 50*time.Millisecond)

	// Another message with that identifier is new, DUP or not.
	b.SendPacket(&packet.Publish{QoS: packet.QoS2, PacketID: 7, Dup: true, Topic: []byte("a"), Payload: []byte("y")})
	checkMessage(t, in.next(t), "a", "y", packet.QoS2)
	b.ExpectPacket(&packet.Pubrec{PacketID: 7})
	disconnect(t, c, b)
}

// TestReleasedConfirmed: once the server has answered a PUBREC handed
// over after the PUBCOMP, it has read the PUBCOMP, and may reuse the
// identifier: a PUBLISH with it, DUP set (its first sending cut), even
// with the same topic and payload, is a new message, handed over.
func TestReleasedConfirmed(t *testing.T) {
	leaktest.Check(t)
	in := newInbox()
	cfg := reconnectConfig(5 * time.Millisecond)
	cfg.DefaultHandler = in
	c, b := connected(t, cfg)
	for _, id := range []uint16{7, 8} {
		b.SendPacket(&packet.Publish{QoS: packet.QoS2, PacketID: id, Topic: []byte("a"), Payload: []byte("x")})
		in.next(t)
		b.ExpectPacket(&packet.Pubrec{PacketID: id})
		b.SendPacket(&packet.Pubrel{PacketID: id})
		b.ExpectPacket(&packet.Pubcomp{PacketID: id})
	}
	b.Close()
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{SessionPresent: true})
	b.SendPacket(&packet.Publish{QoS: packet.QoS2, PacketID: 7, Dup: true, Topic: []byte("a"), Payload: []byte("x")})
	checkMessage(t, in.next(t), "a", "x", packet.QoS2)
	b.ExpectPacket(&packet.Pubrec{PacketID: 7})
	disconnect(t, c, b)
}
