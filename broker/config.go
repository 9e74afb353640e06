package broker

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// Defaults for the zero fields of Config.
const (
	// DefaultMaxConnections is how many clients the broker holds connected
	// at once; a CONNECT beyond it is refused with return code 3 (server
	// unavailable).
	DefaultMaxConnections = 10000
	// DefaultMaxPending is how many accepted connections may wait for
	// their CONNECT to be handled (TLS handshake, CONNECT on its way,
	// authentication) at once; beyond it the oldest is closed.
	DefaultMaxPending = 1024
	// DefaultMaxConnectPacketSize is the largest packet accepted before a
	// client's CONNECT is accepted: room for a CONNECT with a will of some
	// tens of kilobytes, little enough that DefaultMaxPending connections
	// that each send most of one hold at most 68 MiB.
	DefaultMaxConnectPacketSize = 64 << 10
	// DefaultMaxInflight is the per-client window of outgoing QoS 1 and
	// QoS 2 messages that await acknowledgement.
	DefaultMaxInflight = 64
	// DefaultMaxQueued is how many messages a session holds beyond its
	// in-flight window, while its client is connected but slow, or while it
	// is offline.
	DefaultMaxQueued = 1000
	// DefaultMaxQueuedBytes is what one session may hold in queued and
	// in-flight messages, counting their topics and payloads plus a small
	// overhead each.
	DefaultMaxQueuedBytes = 32 << 20
	// DefaultMaxTotalQueuedBytes is what all sessions together may hold.
	DefaultMaxTotalQueuedBytes = 256 << 20
	// DefaultMaxSessions is how many persistent sessions (CleanSession 0)
	// the broker holds, connected or not.
	DefaultMaxSessions = 100000
	// DefaultMaxSubscriptions is how many subscriptions one session may
	// hold.
	DefaultMaxSubscriptions = 10000
	// DefaultMaxSubscriptionBytes is what one session's subscriptions may
	// cost together, as Config.MaxSubscriptionBytes counts them: 10,000
	// filters of four levels, and a little more.
	DefaultMaxSubscriptionBytes = 8 << 20
	// DefaultMaxRetainedBytes is what all retained messages together may
	// hold, counting their topics and payloads plus a small overhead each.
	DefaultMaxRetainedBytes = 256 << 20
	// DefaultStallTimeout is how long a client may make no progress while
	// publishers wait for its queue to drain, before it is disconnected.
	DefaultStallTimeout = 10 * time.Second
	// DefaultConnectTimeout bounds the time from accepting a connection to
	// receiving its CONNECT, TLS handshake included [MQTT-3.1.0-1].
	DefaultConnectTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds each write to a client.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultMaxTopicLevels is the most levels a topic name or filter may
	// have: 200 '/' separators, Mosquitto 2.0's limit.
	DefaultMaxTopicLevels = 201
	// DefaultMaxClientIDLength is the longest ClientId accepted, in bytes.
	// The spec requires accepting 1 to 23 [MQTT-3.1.3-5].
	DefaultMaxClientIDLength = 256
	// DefaultPersistInterval is the longest a change written to a
	// PersistenceDir waits to be fsynced.
	DefaultPersistInterval = time.Second
)

// Config configures a Server. The zero value is a working broker: anonymous
// clients allowed, every topic open to every client, no $SYS topics, state
// in memory only, and the limits below at their defaults. New copies the
// Config; changing it afterwards has no effect.
type Config struct {
	// MaxConnections limits the clients connected at once (CONNECT
	// accepted). A client that connects beyond it gets CONNACK return code
	// 3 (server unavailable). Connections still waiting for their CONNECT
	// are limited apart, by MaxPending. Zero means DefaultMaxConnections.
	MaxConnections int
	// MaxPending limits the connections accepted whose CONNECT has not
	// been handled yet: in the TLS handshake, sending CONNECT, or being
	// authenticated. They do not count against MaxConnections. A new
	// connection beyond the limit closes the oldest pending one, so that
	// sockets that never send CONNECT cannot keep clients out; each is also
	// closed at ConnectTimeout. Zero means DefaultMaxPending.
	MaxPending int
	// MaxPendingPerIP, if positive, limits the pending connections from one
	// IP address: a connection beyond it is closed at once. Zero means no
	// limit per address (NAT gateways put many devices behind one).
	MaxPendingPerIP int
	// MaxConnectPacketSize is the largest packet accepted before CONNECT
	// is accepted (the CONNECT itself, will and password included); a
	// larger one closes the connection. With MaxPending it bounds the
	// memory that clients who have not logged in can hold, at about
	// MaxPending × (MaxConnectPacketSize + 4 KiB). Zero means
	// DefaultMaxConnectPacketSize (64 KiB); it is at most MaxPacketSize.
	MaxConnectPacketSize int
	// MaxPacketSize is the largest packet accepted from a client, fixed
	// header included; a larger one is a protocol violation that closes the
	// connection. Zero means packet.DefaultMaxPacketSize (1 MiB).
	MaxPacketSize int
	// MaxInflight is the per-client window of outgoing QoS 1 and 2
	// messages awaiting PUBACK or PUBCOMP; further messages wait in the
	// session's queue. Zero means DefaultMaxInflight; at most 65,535.
	MaxInflight int
	// MaxQueued bounds each session's queue of messages waiting beyond the
	// in-flight window (and, for an offline persistent session, all its
	// QoS 1 and 2 messages). Above half of it, publishers to a connected
	// session are held back (see "Flow control" in the package doc); a
	// message that finds the queue full is dropped for that session,
	// counted in Stats.Dropped and logged. Zero means DefaultMaxQueued.
	MaxQueued int
	// MaxQueuedBytes bounds what each session holds in queued and
	// in-flight messages (their topics and payloads, plus 96 bytes each),
	// like Mosquitto's max_queued_bytes with its in-flight bytes. Beyond
	// it a message is dropped for the session, counted and logged. Zero
	// means DefaultMaxQueuedBytes (32 MiB).
	MaxQueuedBytes int64
	// MaxTotalQueuedBytes bounds what all sessions hold together, counted
	// as for MaxQueuedBytes. Zero means DefaultMaxTotalQueuedBytes
	// (256 MiB).
	MaxTotalQueuedBytes int64
	// StallTimeout is how long a client may take no message from its
	// queue and acknowledge none while publishers wait for it (see
	// "Flow control" in the package doc) before it is disconnected. Zero
	// means DefaultStallTimeout (10 s).
	StallTimeout time.Duration
	// MaxRetainedBytes bounds the retained messages of all topics, in
	// bytes (topic, payload and a small overhead each, and the nodes of
	// the topics' levels in the retained tree, 104 bytes each on 64-bit
	// machines, that other topics do not share already): a retained
	// PUBLISH that would take them above it is delivered to the
	// subscribers of its topic as usual, but not retained, the message
	// retained before staying; it is counted in Stats.RetainedDropped and
	// logged. Without a bound, clients that may publish could fill the
	// broker's memory with retained messages on new topics. Zero means
	// DefaultMaxRetainedBytes.
	MaxRetainedBytes int64
	// MaxSessions bounds the persistent sessions (CleanSession 0) the
	// broker holds, connected or offline. A CONNECT that would make one
	// more ends the session that has been offline the longest, counted in
	// Stats.SessionsEvicted and logged, so that new clients always get a
	// place; if every one has a client, it is refused with return code 3
	// (server unavailable). Clean sessions, bounded by MaxConnections, are
	// not counted. Without a bound, a client could leave a session behind
	// under each of millions of identifiers. Zero means DefaultMaxSessions.
	MaxSessions int
	// MaxSubscriptions bounds the subscriptions of one session, and
	// MaxSubscriptionBytes what they cost together: each its filter's
	// bytes and 144 bytes a level (a node of the subscription index, on
	// 64-bit machines). A filter of a SUBSCRIBE that would take the
	// session beyond either gets return code 0x80 (failure) and is not
	// subscribed; the others of the packet are, and a filter the session
	// has already is replaced as usual. Each refusal is counted in
	// Stats.SubscriptionsOverLimit and logged. Without a bound, one client
	// could hold the broker's memory with subscriptions: a filter may be
	// 65,535 bytes long, or of 201 levels. Zero means
	// DefaultMaxSubscriptions (10,000) and DefaultMaxSubscriptionBytes
	// (8 MiB).
	MaxSubscriptions     int
	MaxSubscriptionBytes int64
	// MaxClientIDLength is the longest ClientId accepted, in bytes; a
	// longer one gets CONNACK return code 2. Zero means
	// DefaultMaxClientIDLength.
	MaxClientIDLength int
	// ConnectTimeout bounds the wait for a new connection's CONNECT (and
	// TLS handshake). Zero means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// WriteTimeout bounds each write to a client; a client that does not
	// read for this long is disconnected. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration

	// Authenticator decides who may connect. Nil means everyone: the
	// user name of CONNECT, if any, is taken as given.
	Authenticator Authenticator
	// Authorizer decides who may publish and subscribe to what. Nil means
	// every client may use every topic (except publishing to $SYS/).
	Authorizer Authorizer

	// SysInterval is how often the broker publishes its counters under
	// $SYS/broker/ as retained messages. Zero turns them off.
	SysInterval time.Duration

	// PersistenceDir, if not empty, is a directory where the broker keeps
	// persistent sessions (subscriptions, queued and in-flight QoS 1 and 2
	// messages) and retained messages, so that a restart keeps them. New
	// loads it; the broker appends each change as it happens (see
	// "Persistence" in the package doc).
	PersistenceDir string
	// PersistInterval is the longest time a change written to
	// PersistenceDir waits to be fsynced: each change is written at once
	// (a SIGKILL loses none), and an operating-system crash may lose those
	// of the last interval. Zero means DefaultPersistInterval.
	PersistInterval time.Duration

	// Logger receives the broker's log records; nil discards them.
	Logger *slog.Logger

	// MaxPayloadSize, if positive, is the largest PUBLISH payload the
	// broker routes (Mosquitto's message_size_limit). A larger one is
	// acknowledged as its QoS asks, dropped and logged; the connection
	// stays open. A CONNECT whose will is larger is refused with return
	// code 5, as Mosquitto refuses it. Apart from MaxPacketSize, whose
	// excess is a protocol violation that closes the connection. Zero
	// means no limit beyond MaxPacketSize.
	MaxPayloadSize int
	// MaxKeepAlive, if positive, is the longest keep alive accepted, in
	// seconds (Mosquitto's max_keepalive): a CONNECT asking for more gets
	// CONNACK return code 2 (identifier rejected), which is what Mosquitto
	// sends a 3.1.1 client, 3.1.1 having no way to tell the client the
	// server's keep alive. A keep alive of 0 (none) is accepted, as
	// Mosquitto does. Zero means any keep alive.
	MaxKeepAlive int
	// MaxTopicLevels is the most levels (one more than the '/' separators)
	// in the topic of a PUBLISH or a will, and in a SUBSCRIBE's filters.
	// A deeper one closes the connection, as Mosquitto does, and is
	// logged. Each level of a filter costs a node of the subscription
	// tree, and of a retained topic a node of the retained store: without
	// a bound, one SUBSCRIBE of 65,535-byte filters holds megabytes per
	// filter. Zero means DefaultMaxTopicLevels; at most 65,536, the
	// levels of the longest topic.
	MaxTopicLevels int
	// RefuseEmptyClientID makes a CONNECT with an empty ClientId get
	// CONNACK return code 2 instead of an identifier of the broker's
	// making (Mosquitto's allow_zero_length_clientid false).
	RefuseEmptyClientID bool
	// GeneratedClientIDPrefix starts the ClientIds the broker makes for
	// clients that send an empty one (Mosquitto's auto_id_prefix). Empty
	// means "petrel-".
	GeneratedClientIDPrefix string

	// Bridges are connections to other brokers, each carrying the
	// messages of some topics out, in, or both ways (Mosquitto's
	// "connection" blocks; see "Bridges" in the package doc). New starts
	// them; Shutdown ends them. Nil means none.
	Bridges []Bridge
}

// ConfigError reports a Config field that New cannot use.
type ConfigError struct {
	Field  string
	Reason string
}

// Error reads, for example, "mqtt: broker config: MaxInflight: more than 65535".
func (e *ConfigError) Error() string {
	return "mqtt: broker config: " + e.Field + ": " + e.Reason
}

// withDefaults validates c and returns a copy with the zero fields set to
// their defaults.
func (c Config) withDefaults() (Config, error) {
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxConnections", int64(c.MaxConnections)},
		{"MaxPending", int64(c.MaxPending)},
		{"MaxPendingPerIP", int64(c.MaxPendingPerIP)},
		{"MaxConnectPacketSize", int64(c.MaxConnectPacketSize)},
		{"MaxPacketSize", int64(c.MaxPacketSize)},
		{"MaxInflight", int64(c.MaxInflight)},
		{"MaxQueued", int64(c.MaxQueued)},
		{"MaxClientIDLength", int64(c.MaxClientIDLength)},
		{"MaxQueuedBytes", c.MaxQueuedBytes},
		{"MaxTotalQueuedBytes", c.MaxTotalQueuedBytes},
		{"MaxRetainedBytes", c.MaxRetainedBytes},
		{"StallTimeout", int64(c.StallTimeout)},
		{"ConnectTimeout", int64(c.ConnectTimeout)},
		{"WriteTimeout", int64(c.WriteTimeout)},
		{"SysInterval", int64(c.SysInterval)},
		{"PersistInterval", int64(c.PersistInterval)},
		{"MaxPayloadSize", int64(c.MaxPayloadSize)},
		{"MaxKeepAlive", int64(c.MaxKeepAlive)},
		{"MaxTopicLevels", int64(c.MaxTopicLevels)},
		{"MaxSessions", int64(c.MaxSessions)},
		{"MaxSubscriptions", int64(c.MaxSubscriptions)},
		{"MaxSubscriptionBytes", c.MaxSubscriptionBytes},
	} {
		if f.v < 0 {
			return c, &ConfigError{Field: f.name, Reason: "negative"}
		}
	}
	if c.MaxInflight > 65535 {
		return c, &ConfigError{Field: "MaxInflight", Reason: "more than 65535"}
	}
	if c.MaxPacketSize > packet.MaxRemainingLength+5 {
		return c, &ConfigError{Field: "MaxPacketSize", Reason: fmt.Sprintf("more than %d", packet.MaxRemainingLength+5)}
	}
	if c.MaxKeepAlive > 65535 {
		return c, &ConfigError{Field: "MaxKeepAlive", Reason: "more than 65535"}
	}
	if c.MaxClientIDLength > 65535 {
		return c, &ConfigError{Field: "MaxClientIDLength", Reason: "more than 65535"}
	}
	if c.MaxTopicLevels > maxLevels {
		return c, &ConfigError{Field: "MaxTopicLevels", Reason: "more than 65536, the levels of the longest topic"}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxConnections, DefaultMaxConnections)
	def(&c.MaxPacketSize, packet.DefaultMaxPacketSize)
	def(&c.MaxPending, DefaultMaxPending)
	def(&c.MaxConnectPacketSize, min(DefaultMaxConnectPacketSize, c.MaxPacketSize))
	c.MaxConnectPacketSize = min(c.MaxConnectPacketSize, c.MaxPacketSize)
	def(&c.MaxInflight, DefaultMaxInflight)
	def(&c.MaxQueued, DefaultMaxQueued)
	def(&c.MaxClientIDLength, DefaultMaxClientIDLength)
	def(&c.MaxTopicLevels, DefaultMaxTopicLevels)
	def(&c.MaxSessions, DefaultMaxSessions)
	def(&c.MaxSubscriptions, DefaultMaxSubscriptions)
	defd(&c.ConnectTimeout, DefaultConnectTimeout)
	defd(&c.WriteTimeout, DefaultWriteTimeout)
	defd(&c.StallTimeout, DefaultStallTimeout)
	if c.MaxQueuedBytes == 0 {
		c.MaxQueuedBytes = DefaultMaxQueuedBytes
	}
	if c.MaxTotalQueuedBytes == 0 {
		c.MaxTotalQueuedBytes = DefaultMaxTotalQueuedBytes
	}
	if c.MaxRetainedBytes == 0 {
		c.MaxRetainedBytes = DefaultMaxRetainedBytes
	}
	if c.MaxSubscriptionBytes == 0 {
		c.MaxSubscriptionBytes = DefaultMaxSubscriptionBytes
	}
	defd(&c.PersistInterval, DefaultPersistInterval)
	bridges, err := checkBridges(c.Bridges)
	if err != nil {
		return c, err
	}
	c.Bridges = bridges
	if c.GeneratedClientIDPrefix == "" {
		c.GeneratedClientIDPrefix = generatedIDPrefix
	}
	if c.Authorizer == nil {
		c.Authorizer = allowAll{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
