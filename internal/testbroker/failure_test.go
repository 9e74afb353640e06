package testbroker

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestFailures checks each way a step fails: the message it reports, and
// that the broker then drops the client and lets the rest of the script
// through without more reports.
func TestFailures(t *testing.T) {
	const timeout = 50 * time.Millisecond
	pub := &packet.Publish{QoS: packet.QoS1, Topic: []byte("a/b"), PacketID: 7, Payload: []byte("hi")}
	for _, tc := range []struct {
		name   string
		client func(conn net.Conn) // the client's part, in a goroutine
		step   func(b *Broker)
		want   []string // in the report
	}{{
		name:   "mismatch",
		client: writes(pingreq),
		step:   func(b *Broker) { b.Expect([]byte{0xe0, 0x00}) },
		want: []string{"connection 1: packet 1 differs from the expected one at byte 0",
			"got:  c0 00\n        PINGREQ{}", "want: e0 00\n        DISCONNECT{}"},
	}, {
		name:   "field mismatch",
		client: writes(encode(t, pub)),
		step: func(b *Broker) {
			b.ExpectPacket(&packet.Publish{QoS: packet.QoS1, Topic: []byte("a/c"), PacketID: 7, Payload: []byte("hi")})
		},
		want: []string{"at byte 6", `Topic:"a/b"`, `Topic:"a/c"`, "32 09 00 03 61 2f 62 00 07 68 69"},
	}, {
		name:   "timeout",
		client: func(net.Conn) {},
		step:   func(b *Broker) { b.Expect(pingreq) },
		want:   []string{"no packet within 50ms, want PINGREQ{}"},
	}, {
		name:   "closed instead",
		client: func(c net.Conn) { c.Close() },
		step:   func(b *Broker) { b.ExpectType(packet.TypePuback) },
		want:   []string{"the client closed the connection, want a PUBACK packet"},
	}, {
		name:   "truncated",
		client: func(c net.Conn) { c.Write([]byte{0x30, 0x05, 0x00}); c.Close() },
		step:   func(b *Broker) { b.Expect(pingreq) },
		want:   []string{"reading packet 1: unexpected EOF after 30 05 00"},
	}, {
		name:   "remaining length",
		client: writes([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}),
		step:   func(b *Broker) { b.Expect(pingreq) },
		want:   []string{"remaining length longer than 4 bytes after 30 ff ff ff ff"},
	}, {
		name:   "wrong type",
		client: writes(pingreq),
		step: func(b *Broker) {
			if p, ok := b.ExpectType(packet.TypePublish).(*packet.Publish); !ok || p == nil {
				panic("ExpectType did not return a *packet.Publish")
			}
		},
		want: []string{"packet 1 is a PINGREQ packet, want a PUBLISH packet", "got:  c0 00\n        PINGREQ{}"},
	}, {
		name:   "undecodable",
		client: writes([]byte{0x30, 0x03, 0x00, 0x05, 0x61}),
		step:   func(b *Broker) { b.ExpectType(packet.TypePublish) },
		want:   []string{"packet 1 does not decode, want a PUBLISH packet", "30 03 00 05 61\n        (does not decode: mqtt: PUBLISH topic name"},
	}, {
		name:   "not a type",
		client: func(net.Conn) {},
		step: func(b *Broker) {
			if p := b.ExpectType(15); p != nil {
				panic("ExpectType(15) returned a packet")
			}
		},
		want: []string{"ExpectType: RESERVED(15) is not a packet type"},
	}, {
		name:   "packet instead of close",
		client: writes(pingreq),
		step:   func(b *Broker) { b.ExpectClosed() },
		want:   []string{"packet 1 arrived, want the connection closed", "PINGREQ{}"},
	}, {
		name:   "no close",
		client: func(net.Conn) {},
		step:   func(b *Broker) { b.ExpectClosed() },
		want:   []string{"the client did not close the connection within 50ms"},
	}, {
		name:   "packet instead of nothing",
		client: writes(pingreq),
		step:   func(b *Broker) { b.ExpectNothing(time.Second) },
		want:   []string{"packet 1 arrived, want nothing for 1s", "c0 00"},
	}, {
		name:   "close instead of nothing",
		client: func(c net.Conn) { c.Close() },
		step:   func(b *Broker) { b.ExpectNothing(time.Second) },
		want:   []string{"the client closed the connection, want nothing for 1s"},
	}, {
		name:   "unread",
		client: func(net.Conn) {},
		step:   func(b *Broker) { b.SendPacket(&packet.Pingresp{}) },
		want:   []string{"the client did not read PINGRESP{} within 50ms"},
	}, {
		name:   "send to closed",
		client: func(c net.Conn) { c.Close() },
		step:   func(b *Broker) { b.Send([]byte{0xd0, 0x00}) },
		want:   []string{"sending PINGRESP{}: io: read/write on closed pipe"},
	}, {
		name:   "invalid to send",
		client: func(net.Conn) {},
		step:   func(b *Broker) { b.SendPacket(&packet.Puback{}) },
		want:   []string{"SendPacket: cannot encode PUBACK{PacketID:0}: mqtt: PUBACK packet identifier"},
	}, {
		name:   "invalid to expect",
		client: func(net.Conn) {},
		step:   func(b *Broker) { b.ExpectPacket(&packet.Subscribe{PacketID: 1}) },
		want:   []string{"ExpectPacket: cannot encode the expected packet SUBSCRIBE{PacketID:1 Filters:[]}"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			leaktest.Check(t)
			b, r := newRecorded(t)
			b.SetTimeout(timeout)
			conn := b.Conn()
			defer conn.Close()
			clientDone := make(chan struct{})
			go func() {
				defer close(clientDone)
				tc.client(conn)
			}()

			tc.step(b)
			// The rest of the script runs through, reporting nothing.
			b.Expect(pingreq)
			b.ExpectPacket(connect)
			if _, ok := b.ExpectType(packet.TypeSuback).(*packet.Suback); !ok {
				t.Error("ExpectType after a failure did not return a *packet.Suback")
			}
			b.SendPacket(&packet.Pingresp{})
			b.ExpectNothing(time.Second)
			b.ExpectClosed()
			b.Close()
			b.Accept()
			<-clientDone

			if len(r.errors) != 1 {
				t.Fatalf("%d errors reported, want 1:\n%s", len(r.errors), strings.Join(r.errors, "\n"))
			}
			for _, w := range tc.want {
				if !strings.Contains(r.errors[0], w) {
					t.Errorf("the report lacks %q:\n%s", w, r.errors[0])
				}
			}
			if !strings.HasPrefix(r.errors[0], "testbroker: ") {
				t.Errorf("the report does not start with testbroker: %s", r.errors[0])
			}
			// The client's connection is dropped.
			conn.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("client read after the failure: %v, want the connection closed", err)
			}
		})
	}
}

// writes returns a client that writes p, which the broker may never read.
func writes(p []byte) func(net.Conn) {
	return func(c net.Conn) { c.Write(p) }
}

func TestAcceptTimeout(t *testing.T) {
	leaktest.Check(t)
	b, r := newRecorded(t)
	b.SetTimeout(20 * time.Millisecond)
	b.Expect(pingreq)
	want := "testbroker: the client did not dial connection 1 within 20ms"
	if len(r.errors) != 1 || r.errors[0] != want {
		t.Errorf("errors %q, want %q", r.errors, want)
	}
}
