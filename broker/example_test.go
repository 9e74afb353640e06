package broker_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// ExampleServer embeds a broker in a program (or a test), connects
// Petrel's client to it, and shuts it down.
func ExampleServer() {
	s, err := broker.New(broker.Config{MaxQueued: 100})
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go s.Serve(l)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := session.New(session.Config{Address: "tcp://" + l.Addr().String(), ClientID: "example"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	got := make(chan string, 1)
	c.Subscribe(ctx, session.HandlerFunc(func(m *session.Message) { got <- string(m.Payload) }),
		session.Subscription{Filter: "greetings/#", QoS: packet.QoS1})
	c.Publish(ctx, session.Message{Topic: "greetings/world", Payload: []byte("hello"), QoS: packet.QoS1})
	fmt.Println(<-got)
	c.Disconnect(ctx)

	if err := s.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	// Output: hello
}

// ExampleACL builds an ACL in code; ReadACLFile reads the same rules from
// a file.
func ExampleACL() {
	acl := broker.NewACL()
	acl.Allow("alice", broker.ReadWrite, "home/alice/#")
	acl.AllowPattern(broker.Read, "devices/%c/config")
	id := broker.Identity{ClientID: "sensor1", Username: "alice"}
	fmt.Println(acl.CanPublish(id, "home/alice/kitchen"))
	fmt.Println(acl.CanSubscribe(id, "home/#"))
	fmt.Println(acl.CanSubscribe(id, "devices/sensor1/config"))
	// Output:
	// true
	// false
	// true
}

// ExampleHashPassword makes a password file entry.
func ExampleHashPassword() {
	f := broker.NewPasswordFile()
	if err := f.Set("alice", "correct horse"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Check("alice", "correct horse"), f.Check("alice", "battery staple"))
	// Output: true false
}
