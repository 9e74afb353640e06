// Package testbroker is a scripted fake MQTT broker for byte-exact tests of
// the client, over net.Pipe.
//
// A test hands Broker.Dial to the client as its dial function (or takes a
// connection with Broker.Conn) and then plays the server's part step by
// step, from the test goroutine:
//
//	b := testbroker.New(t)
//	c, _ := session.New(session.Config{Dial: b.Dial, ClientID: "c1"}) // a clean session
//	go c.Connect(ctx)
//	b.ExpectPacket(&packet.Connect{ClientID: []byte("c1"), CleanSession: true, KeepAlive: 60})
//	b.SendPacket(&packet.Connack{})
//	pub := b.ExpectType(packet.TypePublish).(*packet.Publish)
//	b.SendPacket(&packet.Puback{PacketID: pub.PacketID})
//	b.ExpectNothing(100 * time.Millisecond)
//	b.Close() // a network failure
//	b.ExpectPacket(&packet.Connect{...}) // the client's next connection
//
// Each step blocks until it is done. Expect reads the next whole packet the
// client sends and requires its bytes to equal the expected ones exactly;
// ExpectPacket builds those bytes from a packet; ExpectType accepts any
// packet of a type and returns it. A mismatch is reported with both packets
// in hex and decoded. Send and SendPacket write to the client; ExpectClosed
// waits for the client to close the connection, ExpectNothing for silence,
// and Close drops the connection.
//
// # Connections
//
// Every Dial makes a new net.Pipe and queues the broker's end. The script
// works on one connection at a time, the current one: the first step takes
// the oldest queued connection, waiting for the client to dial if need be,
// and Close, or an ExpectClosed that succeeds, ends it, so that the next
// step takes the next connection. Accept moves to the next connection
// explicitly, leaving the current one open.
//
// # Failures and timeouts
//
// Every step that waits gives up after the broker's timeout (DefaultTimeout,
// see SetTimeout). A step that fails reports with t.Errorf, then closes
// every connection, so that the client under test sees a network failure
// instead of waiting, and refuses further dials; the steps after it do
// nothing and report nothing more, and ExpectType returns a zero packet of
// the type asked for, so the rest of the script runs through quickly.
//
// When the test ends, the broker closes its ends of all connections.
//
// # Concurrency
//
// Dial and Conn may be called from any goroutine. The script steps (Accept,
// the Expect and Send methods, Close, SetTimeout) must be called from one
// goroutine at a time, usually the test's own.
package testbroker
