package faultproxy_test

import (
	"fmt"
	"log"
	"net"

	"github.com/petrel-mqtt/petrel/internal/faultproxy"
	"github.com/petrel-mqtt/petrel/packet"
)

// A broker that reads until its client goes away, then reports the
// packets it received.
func exampleBroker() (addr string, packets <-chan []packet.Type, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ch := make(chan []packet.Type)
	go func() {
		defer close(ch)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := packet.NewReader(c, packet.DefaultMaxPacketSize)
		var got []packet.Type
		for {
			pk, err := r.ReadPacket()
			if err != nil {
				ch <- got
				return
			}
			got = append(got, pk.Type())
		}
	}()
	return ln.Addr().String(), ch, func() { ln.Close() }
}

func ExampleProxy_CutAfterPacket() {
	broker, received, stop := exampleBroker()
	defer stop()
	p, err := faultproxy.Listen(broker, faultproxy.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	// Drop the connection right after the second PUBLISH from the client.
	p.CutAfterPacket(faultproxy.ClientToServer, packet.TypePublish, 2)

	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	var b []byte
	for _, pk := range []packet.Packet{
		&packet.Connect{ClientID: []byte("c1"), CleanSession: true},
		&packet.Publish{Topic: []byte("a/b"), Payload: []byte("one")},
		&packet.Publish{Topic: []byte("a/b"), Payload: []byte("two")},
		&packet.Publish{Topic: []byte("a/b"), Payload: []byte("three")},
	} {
		if b, err = pk.AppendBinary(b); err != nil {
			log.Fatal(err)
		}
	}
	c.Write(b)

	fmt.Println("broker received:", <-received)
	_, err = c.Read(make([]byte, 1))
	fmt.Println("client reads after the cut:", err != nil)
	fmt.Println("cuts:", p.Cuts())
	// Output:
	// broker received: [CONNECT PUBLISH PUBLISH]
	// client reads after the cut: true
	// cuts: 1
}
