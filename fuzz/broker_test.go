package fuzz

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
	"github.com/petrel-mqtt/petrel/packet"
)

// brokerSessions returns the bytes of a few valid client sessions: CONNECT
// with a will and credentials, SUBSCRIBE to what it then publishes at
// every QoS (so the broker routes to itself), acknowledgements, PINGREQ,
// UNSUBSCRIBE and DISCONNECT.
func brokerSessions(f *testing.F) [][]byte {
	enc := func(ps ...packet.Packet) []byte {
		var b []byte
		for _, p := range ps {
			var err error
			if b, err = p.AppendBinary(b); err != nil {
				f.Fatal(err)
			}
		}
		return b
	}
	connect := &packet.Connect{ClientID: []byte("fuzz"), CleanSession: true, KeepAlive: 30,
		WillFlag: true, WillTopic: []byte("w"), WillMessage: []byte("bye"), WillQoS: 1, WillRetain: true,
		UsernameFlag: true, Username: []byte("u"), PasswordFlag: true, Password: []byte("p")}
	persistent := &packet.Connect{ClientID: []byte("p")}
	sub := &packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{
		{Filter: []byte("a/#"), QoS: 2}, {Filter: []byte("a/+"), QoS: 1}, {Filter: []byte("$SYS/#")}}}
	return [][]byte{
		enc(connect, sub,
			&packet.Publish{Topic: []byte("a/b"), Payload: []byte("0")},
			&packet.Publish{Topic: []byte("a/b"), Payload: []byte("1"), QoS: 1, PacketID: 2, Retain: true},
			&packet.Publish{Topic: []byte("a/c"), Payload: []byte("2"), QoS: 2, PacketID: 3},
			&packet.Pubrel{PacketID: 3},
			&packet.Puback{PacketID: 1}, &packet.Pubrec{PacketID: 2}, &packet.Pubcomp{PacketID: 2},
			&packet.Pingreq{},
			&packet.Unsubscribe{PacketID: 4, Filters: [][]byte{[]byte("a/#"), []byte("x")}},
			&packet.Disconnect{}),
		enc(persistent, sub,
			&packet.Publish{Topic: []byte("a/x"), Payload: make([]byte, 300), QoS: 2, PacketID: 9},
			&packet.Publish{Topic: []byte("a/x"), Payload: make([]byte, 300), QoS: 2, PacketID: 9, Dup: true},
			&packet.Pubrel{PacketID: 9}, &packet.Publish{Topic: []byte("a"), Retain: true}),
		enc(connect, connect),
		enc(&packet.Connect{}),
	}
}

func FuzzBrokerConn(f *testing.F) {
	for _, s := range brokerSessions(f) {
		f.Add(s)
		f.Add(s[:len(s)/2]) // truncated
		garbled := append([]byte(nil), s...)
		for i := 3; i < len(garbled); i += 7 {
			garbled[i] ^= 0x5a
		}
		f.Add(garbled)
	}
	f.Add([]byte{})
	f.Add([]byte{0x10, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte("GET /mqtt HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := broker.New(broker.Config{MaxPacketSize: 4096, MaxInflight: 4, MaxQueued: 8, ConnectTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		client, server := net.Pipe()
		served := make(chan struct{})
		go func() {
			s.ServeConn(server)
			close(served)
		}()
		drained := make(chan struct{})
		go func() {
			io.Copy(io.Discard, client) // whatever the broker answers
			close(drained)
		}()
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		client.Write(data) // fails once the broker closes on bad input
		client.Close()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatal("ServeConn did not return after the client closed")
		}
		<-drained
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	})
}
