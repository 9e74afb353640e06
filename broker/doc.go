// Package broker is an embeddable MQTT 3.1.1 broker (OASIS Standard, 29
// October 2014, https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html),
// for development, tests and single-node edge use.
//
//	s, err := broker.New(broker.Config{})
//	go s.Serve(l)           // TCP; tls.NewListener for TLS
//	go s.ServeWebSocket(wl) // or mount s.WebSocketHandler() on a mux
//	...
//	err = s.Shutdown(ctx)
//
// # What it owns
//
// The broker owns the server side of the protocol: CONNECT handling with
// every CONNACK return code, sessions keyed by ClientId (clean ones that end
// with their connection, persistent ones that outlive it), takeover of a
// ClientId by a new connection of the same identity [MQTT-3.1.4-2], QoS 0, 1 and 2 in both
// directions, retained messages, wills, keepalive at 1.5 times the
// interval [MQTT-3.1.2-24], the subscription index with the matching rules
// of section 4.7, authentication and authorization hooks, $SYS counters,
// optional persistence, and bridges to other brokers (Config.Bridges).
// Shared subscriptions, $share/NAME/FILTER, are served to 3.1.1 clients as
// Mosquitto serves them: each message goes to one member of the group in
// turn. Other MQTT 5 features are not offered.
//
// Every protocol violation closes the connection without a reply
// [MQTT-4.8.0-1] and publishes the will: a first packet that is not
// CONNECT, a second CONNECT, reserved flags, ill-formed UTF-8, wildcards
// in a PUBLISH topic, QoS 3, an empty SUBSCRIBE, a zero packet identifier,
// an oversized packet or a malformed Remaining Length. The codec (package
// packet) detects them; it never allocates because a peer claims a size.
//
// # Delivery
//
// A message goes once to each session with a matching subscription, at
// the lower of its QoS and the highest QoS granted to that session's
// matching subscriptions [MQTT-3.3.5-1], if the Authorizer still lets the
// session's client read its topic. Outgoing QoS 1 and 2 messages use an
// in-flight window per client (Config.MaxInflight, default 64); the
// messages beyond it, QoS 0 messages to a connected client, and a
// persistent session's QoS 1 and 2 messages while its client is offline
// wait in the session's queue. QoS 0 messages for an offline client are
// not queued (counted in Stats.OfflineQoS0). On reconnection a persistent
// session re-sends its unacknowledged PUBLISH packets, with DUP set, and
// its PUBRELs, in order [MQTT-4.4.0-1]; the broker does not retransmit
// within a connection. An incoming QoS 2 message is routed when it first
// arrives and its identifier kept until PUBREL [MQTT-4.3.3-2]. An
// acknowledgement that does not fit the QoS flow of its message (PUBREC
// for QoS 1, PUBACK for QoS 2, PUBCOMP before PUBREC) closes the
// connection [MQTT-4.8.0-1].
//
// # Flow control
//
// The broker does not drop what it acknowledged to hold a fast publisher
// up. Each session's queue has limits, Config.MaxQueued messages (default
// 1,000) and Config.MaxQueuedBytes (default 32 MiB, in-flight messages
// included), and all sessions together Config.MaxTotalQueuedBytes
// (default 256 MiB). When a message from a client's PUBLISH leaves a
// connected session's queue above half a limit, the publisher's
// connection is not read again until that queue falls to a quarter of its
// limits: TCP backpressure reaches the publisher, which is acknowledged
// for what was queued. A subscriber that makes no progress (takes no
// message and acknowledges none) for Config.StallTimeout (default 10 s)
// while a publisher waits for it is disconnected, counted in
// Stats.Stalled and logged; a persistent session keeps its queue within
// its limits for its client's return. So one stuck client holds others
// back for at most StallTimeout.
//
// A message is dropped for a session only where no publisher can be held
// back: the session is offline, or its client publishes to itself, or two
// clients publish to each other (both cannot wait for the other), or many
// publishers at once overshoot the high-water mark. Then a message beyond
// a limit is dropped for that session, counted in Stats.Dropped and by
// reason (DroppedQueueFull, DroppedSessionBytes, DroppedBrokerBytes), and
// logged. The retained messages a new subscription replays go through the
// same queue, within its room: a replay that does not fit is cut short and
// counted in Stats.RetainedTruncated. A filter repeated within one
// SUBSCRIBE is subscribed and replayed once.
//
// # Limits and defaults
//
// All limits are Config fields whose zero value means the default:
//
//	MaxConnections     10,000 clients; beyond, CONNACK 3 (server unavailable)
//	MaxPending         1,024 connections that have not had their CONNECT accepted; beyond, the oldest is closed
//	MaxPendingPerIP    0: no limit of pending connections per IP address
//	MaxConnectPacketSize 64 KiB for any packet before CONNECT is accepted
//	MaxPacketSize      1 MiB (packet.DefaultMaxPacketSize); beyond, the connection is closed
//	MaxInflight        64 outgoing QoS 1 and 2 messages awaiting acknowledgement, per client
//	MaxQueued          1,000 messages per session
//	MaxQueuedBytes     32 MiB of queued and in-flight messages per session
//	MaxTotalQueuedBytes 256 MiB of queued and in-flight messages in all
//	StallTimeout       10 s without progress while publishers wait, then the client is disconnected
//	MaxSessions        100,000 persistent sessions; beyond, the one offline the longest ends
//	MaxSubscriptions   10,000 subscriptions per session; beyond, SUBACK 0x80
//	MaxSubscriptionBytes 8 MiB of one session's filters, with 144 bytes a level; beyond, SUBACK 0x80
//	MaxRetainedBytes   256 MiB of retained messages and their topics' nodes; beyond, a message is delivered but not retained
//	MaxTopicLevels     201 levels (200 '/') in a topic or filter; beyond, the connection is closed
//	MaxClientIDLength  256 bytes; beyond, CONNACK 2 (identifier rejected)
//	ConnectTimeout     10 s from accepting a connection to its CONNECT [MQTT-3.1.0-1]
//	WriteTimeout       30 s for each write to a client
//	SysInterval        0: no $SYS topics
//	PersistInterval    1 s between writes of the state to PersistenceDir
//
// A client that sends an empty ClientId with CleanSession=1 gets a
// generated one [MQTT-3.1.3-6]; with CleanSession=0 it is refused with
// return code 2 [MQTT-3.1.3-8]. Persistent sessions do not expire: they
// end when MaxSessions needs room for a new one, the longest offline
// first.
//
// # Security
//
// SECURITY.md at the root of the module states the threat model and the
// limits a deployment should set.
//
// Config.Authenticator decides who connects: nil lets everyone in;
// *PasswordFile checks user names and PBKDF2-SHA-512 password hashes;
// *CertAuthenticator accepts verified TLS client certificates, optionally
// taking the certificate's common name as the user name. An error of the
// Authenticator picks the CONNACK return code: ErrBadUsernameOrPassword
// (a wrong password) and ErrNotAuthorized give 5, as Mosquitto sends,
// ErrMalformedCredentials 4, anything else 3. Config.Authorizer decides
// who publishes and subscribes to what: nil allows everything; *ACL reads
// Mosquitto-style rules. A refused subscription gets return code 0x80 (an
// MQTT 3.1 client, whose SUBACK has no such code, the QoS it asked for,
// and nothing subscribed); a
// refused PUBLISH is acknowledged and dropped [MQTT-3.3.5-2], and counted
// in Stats.Denied; a refused will topic refuses the connection with code
// 5. No client may publish to $SYS, but to $SYS/broker/connection/+/state
// (see "Bridges of other brokers"). Each delivery is checked again
// (Authorizer.CanSubscribe with the topic name), so a subscription never
// outlives the right that granted it.
//
// With an Authenticator, a session belongs to the identity that created
// it: the user name the Authenticator returned, else the subject of a
// verified client certificate, else "anonymous". A client of another
// identity that connects with the same ClientId is refused with CONNACK 5
// and logged with both identities; it neither takes over the connection
// nor reads or ends the session. Without an Authenticator, user names are
// claims rather than proofs, and are not compared.
//
// Connections that have not had their CONNECT accepted (TLS handshake,
// CONNECT on its way, authentication) are pending: they are limited by
// MaxPending apart from the connected clients, closed oldest first when
// more arrive, closed at ConnectTimeout, and held to MaxConnectPacketSize,
// so that sockets that never log in can neither lock clients out nor hold
// much memory. *PasswordFile bounds the CPU that password checks take (see
// its doc).
//
// # Concurrency
//
// A Server's methods are safe for concurrent use. Each connection has a
// reader, which decodes packets and acts on them. An idle connection
// holds no buffer. On Linux (amd64, arm64), a plain TCP connection given
// by Serve holds no goroutine either while it has nothing to read: it
// parks, and one poller goroutine watches every parked connection (in an
// epoll instance of its own) and reads a woken client's few packets
// itself, as Mosquitto's single thread does. That goroutine also accepts
// the connections and reads their CONNECT, so a client connects with no
// goroutine started. A client that streams, or whose packets may wait (a
// full outbox, flow control, a SUBSCRIBE, an Authenticator, a session
// taken over, the connection's end, a persistent store), gets a
// goroutine of its own until it parks again. 5,000 idle clients take
// about 2.6 KB each, and little of that stays once they leave. Elsewhere
// (TLS, WebSocket, ServeConn, other systems) the reader is a goroutine
// that waits, with a small stack. What is queued for a client is written by the reader that routed it, once that
// reader has handled every packet it has read, so that a message crosses
// the broker with no thread woken at a low rate and a burst is written in
// one batch per subscriber; a short-lived writer goroutine takes over what
// a reader could not write at once, and what has no reader to write it
// (wills, $SYS, messages an acknowledgement lets through). No lock is held
// across network I/O. A client that does not read its responses is
// stopped from sending; a slow subscriber holds publishers back at most
// StallTimeout (see Flow control). A connection ends through one
// idempotent close path, which publishes the will unless the client sent
// DISCONNECT. Shutdown closes the listeners and connections and returns
// when every goroutine of the broker has ended. Authenticators and
// Authorizers are called from many goroutines at once.
//
// # Persistence
//
// With Config.PersistenceDir the broker keeps persistent sessions (their
// owners, subscriptions, queued and in-flight QoS 1 and 2 messages, and
// the identifiers of incoming QoS 2 messages awaiting PUBREL) and retained
// messages on disk, and loads them in New. It appends a record for each
// change as it happens, before acting on it (a QoS 1 message queued for
// a persistent session is on disk before its PUBACK), so what it writes is
// proportional to what changes, and a SIGKILL of the broker loses no
// acknowledged message. The file is fsynced Config.PersistInterval after
// a write at the latest: an operating-system crash or a power loss may
// lose the changes of that last interval. The log is compacted when it
// grows to four times what is live. See persist.go for the format.
//
// # Bridges
//
// A Bridge (Config.Bridges; Mosquitto's "connection" blocks) connects the
// broker to a remote one, and carries the messages of its Out topics
// there, those of its In topics here, those of Both topics both ways. It
// is made of three clients of package session: one connected to the
// remote broker, with Reconnect over the bridge's addresses in turn (the
// nodes of a cluster), and two in-process ones (net.Pipe) of this broker:
// a persistent session, LocalClientID, subscribed to the Out topics, and a
// clean one that publishes what comes in. The in-process connections are
// the broker's own: they pass no Authenticator nor Authorizer, and no
// other client may use their client ids (CONNACK 2).
//
// Store and forward. The bridge's session is connected only while the
// remote broker is: while it is unreachable the session is offline, so the
// broker queues the Out topics' QoS 1 and 2 messages for it, within its
// limits (MaxQueued, MaxQueuedBytes, MaxTotalQueuedBytes: raise them for
// long outages) and on disk with PersistenceDir, without holding back
// their publishers; QoS 0 messages are not queued for it, as for any
// offline session. Once connected again, the session gets them in order.
// A message is acknowledged to this broker once the bridge's remote
// client holds it: with PersistenceDir and CleanSession false, in its own
// store (PersistenceDir/bridge.NAME, a store.File synced as the broker's
// log is, every PersistInterval), which it sends again, in order, after
// a reconnection or a restart of the broker; with PersistenceDir and
// CleanSession true, once the remote broker acknowledged it (one round
// trip per message); without PersistenceDir, in its memory, as the
// broker's own state is. The remote client takes at most 256 messages
// while it reconnects; the rest wait in the bridge's session. So at QoS 1
// no message is lost across a SIGKILL of the broker, and the one being
// handed over then may go out twice; QoS 2 goes out once through
// reconnections (the bridge remembers which QoS 2 messages of its session
// it forwarded, and does not forward again one the broker sends again
// because the acknowledgement was lost), once but for that one message
// across a SIGKILL.
//
// QoS. A message goes out at the QoS this broker delivered it to the
// bridge with: the lower of its own and its topic's. A remote broker that
// answers QoS 2 with PUBACK (RabbitMQ 3.10) is detected on the first QoS 2
// message, logged once, and QoS 2 messages go out at QoS 1 from then on;
// an In subscription granted a lower QoS is logged once too.
//
// Loops. What comes in through a bridge never goes back out through it
// (MQTT 5's "no local", for the bridge's session, as Mosquitto does for
// its bridges). A remote broker that does not know bridges sends the
// bridge back its own messages on Both topics: the bridge drops a message
// coming in whose topic and payload are those of one it sent in the last
// minute, once per message sent (with TryPrivate, a Mosquitto or Petrel
// remote does not send them back, and nothing is dropped). Retained
// messages go out retained.
//
// Bridges of other brokers. A client whose CONNECT sets bit 0x80 of the
// protocol level (packet.Connect.Bridge: Mosquitto's bridges do, by
// default, with try_private) is served as Mosquitto serves a bridge: it
// gets none of the messages it published back, so that a "both" topic
// does not loop, and the messages it gets keep the RETAIN flag they were
// published with, so that retained messages stay retained across it. Any
// client may publish to $SYS/broker/connection/+/state, and set its will
// there, where bridges say whether they are connected (Mosquitto's
// notifications), as Mosquitto allows; the rest of $SYS is the broker's.
package broker
