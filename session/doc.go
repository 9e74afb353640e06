// Package session is Petrel's MQTT 3.1.1 client: the connection parameters
// (Config), the subscription table, and the client state machine (Client).
//
//	c, err := session.New(session.Config{Address: "broker.local", ClientID: "sensor-7"})
//	...
//	present, err := c.Connect(ctx)
//	err = c.Publish(ctx, session.Message{Topic: "a/b", Payload: []byte("hi"), QoS: packet.QoS1})
//	codes, err := c.Subscribe(ctx, session.HandlerFunc(func(m *session.Message) { ... }),
//		session.Subscription{Filter: "a/#", QoS: packet.QoS2})
//	err = c.Disconnect(ctx)
//
// Every blocking call takes a context and returns only when its outcome is
// known: Publish after PUBACK (QoS 1) or PUBCOMP (QoS 2), Subscribe with
// the granted QoS of each filter. Errors say what happened and match
// sentinels with errors.Is: a refused CONNACK is a *ConnectError naming its
// return code; a bad Config is a *ConfigError naming the field.
//
// # Ordered pipelining
//
// Publish waits a round trip per message. To stream, call PublishAsync in a
// loop from one goroutine: it returns once the message is handed to the
// connection, blocking (until its ctx ends) only while Config.MaxInflight
// QoS 1 and QoS 2 messages await acknowledgement, and its *Ack reports that
// message's outcome (Done, Err, Wait). The guarantee: messages handed over
// by successive calls of one goroutine are written in that order, sent
// again in that order after a reconnection [MQTT-4.4.0-1], and so reach
// subscribers in that order, the server keeping a client's order per topic
// [MQTT-4.6.0-5] [MQTT-4.6.0-6]. At QoS 0 PublishAsync does not wait for
// the write either: messages that follow each other closely go out many
// to a system call, and each Ack is done once its message is written.
// Publish from many goroutines pipelines too, but in no particular order
// between them.
//
// # Concurrency
//
// A Client is safe for use by many goroutines. Each connection runs three
// goroutines: a reader, which decodes packets and updates the session; a
// writer, which sends queued packets, coalescing them, and keeps the
// connection alive with PINGREQ; and a dispatcher, which runs handlers one
// at a time in the order messages arrived. User code never runs on the
// reader, so a slow handler cannot stall keepalive; when handlers fall
// behind by Config.MessageQueue messages, the reader stops reading and the
// server's sends back up (memory stays bounded). A received QoS 1 or QoS 2
// message is acknowledged after its handlers return. The reader hands
// messages over in batches; once the dispatcher has handled every message
// received, it calls Config.DispatchIdle, where a handler that buffers its
// output (as `petrel sub` does its lines) flushes it: a burst then costs
// one write, and no message waits for the next.
//
// A Publish while the writer is idle writes its packet itself, on plain
// TCP, without waiting: the message crosses no goroutine on its way out,
// and what the socket does not take at once goes back to the writer, in
// order. Under load, and with many QoS 1 or 2 messages in flight, callers
// queue behind the writer, which sends their packets in batches.
//
// # Never losing a message
//
// With Config.Reconnect the client re-establishes a lost connection by
// itself, with jittered exponential backoff, trying several brokers in
// turn; a refusal for bad credentials is reported, never retried in a
// loop. With PersistentSession the session survives: unacknowledged QoS
// 1 and 2 messages are sent again, with DUP set, and PUBRELs, in their
// original order [MQTT-4.4.0-1]; a QoS 2 PUBLISH whose PUBREC came is never
// sent again [MQTT-4.3.3-1]; received QoS 2 messages awaiting PUBREL are
// never handed over twice [MQTT-4.3.3-2]; a server that kept no session
// gets the subscriptions again. While there is no connection, Publish
// queues (bounded in messages and bytes) instead of failing. With
// Config.Store (package store) the session also outlives the process: a
// store.File keeps, crash-safe, every QoS 1 and 2 message from before its
// PUBLISH is first written until its acknowledgement, so that a process
// restarted after a crash, with the same ClientID and directory, finishes
// what the last one began.
//
// The spec: https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html
package session
