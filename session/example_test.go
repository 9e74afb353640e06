package session_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
	"github.com/petrel-mqtt/petrel/store"
)

// A client that connects, subscribes, publishes at QoS 1 and disconnects.
func Example() {
	c, err := session.New(session.Config{
		Address:           "broker.example", // port 1883
		ClientID:          "sensor-7",
		ConnectionTimeout: 10 * time.Second,
	})
	if err != nil {
		log.Fatal(err) // a *session.ConfigError names the field and the rule
	}
	ctx := context.Background()
	if _, err := c.Connect(ctx); err != nil {
		log.Fatal(err) // a refusal is a *session.ConnectError naming the CONNACK code
	}
	defer c.Disconnect(ctx)

	_, err = c.Subscribe(ctx, session.HandlerFunc(func(m *session.Message) {
		fmt.Printf("%s: %s\n", m.Topic, m.Payload)
	}), session.Subscription{Filter: "sensors/+/temp", QoS: packet.QoS1})
	if err != nil {
		log.Fatal(err)
	}
	// Returns once the broker has acknowledged the message (PUBACK).
	err = c.Publish(ctx, session.Message{Topic: "sensors/7/temp", Payload: []byte("21.5"), QoS: packet.QoS1})
	if err != nil {
		log.Fatal(err)
	}
}

// A client that never loses a QoS 1 or QoS 2 message: it reconnects by
// itself, keeps its session on the broker (PersistentSession) and on disk,
// so that a restarted process finishes what the last one began.
func ExampleReconnect() {
	st, err := store.Open("/var/lib/sensor-7/mqtt", store.Options{}) // fsync per message
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	c, err := session.New(session.Config{
		Address:           "broker.example",
		ClientID:          "sensor-7",
		PersistentSession: true, // CleanSession 0: the broker keeps the session
		Store:             st,
		Reconnect: &session.Reconnect{
			Addresses:        []string{"broker-2.example", "broker-3.example:1884"},
			OnConnectionLost: func(err error) { log.Printf("connection lost: %v", err) },
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	// While the broker is unreachable, Publish waits in the offline queue;
	// it returns nil only once the broker has the message exactly once.
	err = c.Publish(ctx, session.Message{Topic: "meter/7", Payload: []byte("1234.5 kWh"), QoS: packet.QoS2})
	if errors.Is(err, session.ErrQueueFull) {
		log.Print("offline queue full")
	}
}

// Reading the connection parameters from a URL.
func ExampleParseURL() {
	cfg, err := session.ParseURL("mqtts://alice:secret@broker.example/?client_id=sensor-7")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Address, cfg.Option, cfg.ClientID, cfg.User)
	// Output: broker.example TLS sensor-7 alice
}

// Publishing many messages in order from one goroutine, with up to
// MaxInflight awaiting acknowledgement: PublishAsync waits only for room
// in the window, and each Ack reports its own message's outcome.
func ExampleClient_PublishAsync() {
	c, err := session.New(session.Config{Address: "broker.example", ClientID: "logger-3", MaxInflight: 20})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)

	var pending []*session.Ack // oldest first
	for i := range 1000 {
		a, err := c.PublishAsync(ctx, session.Message{Topic: "log/3", Payload: fmt.Appendf(nil, "line %d", i), QoS: packet.QoS1})
		if err != nil {
			log.Fatal(err) // nothing was sent for this one
		}
		pending = append(pending, a)
		// Reap the acknowledged ones, without waiting.
		for len(pending) > 0 && isDone(pending[0]) {
			if err := pending[0].Err(); err != nil {
				log.Printf("a message failed: %v", err)
			}
			pending = pending[1:]
		}
	}
	for _, a := range pending {
		if err := a.Wait(ctx); err != nil {
			log.Printf("a message failed: %v", err)
		}
	}
}

func isDone(a *session.Ack) bool {
	select {
	case <-a.Done():
		return true
	default:
		return false
	}
}
