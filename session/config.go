package session

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/petrel-mqtt/petrel/auth"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/store"
)

// Option chooses the transport security of a connection: the "Option"
// connection parameter.
type Option int

const (
	// Plain is TCP without TLS, port 1883 by default.
	Plain Option = iota
	// TLS is TCP with TLS, port 8883 by default; the server's certificate
	// and host name are verified.
	TLS
)

// String returns "plain" or "TLS".
func (o Option) String() string {
	switch o {
	case Plain:
		return "plain"
	case TLS:
		return "TLS"
	}
	return "Option(" + strconv.Itoa(int(o)) + ")"
}

// Defaults of the zero Config.
const (
	DefaultConnectionTimeout = 30 * time.Second
	DefaultKeepAlive         = 60 * time.Second
	DefaultMaxInflight       = 64
	DefaultMessageQueue      = 256
)

// Will is the message the server publishes for a client whose connection
// ends without DISCONNECT (section 3.1.2.5).
type Will struct {
	Topic   string // a topic name: no wildcards
	Payload []byte
	QoS     packet.QoS
	Retain  bool
}

// Config holds the connection parameters of a Client. Its zero value, with
// an Address and a ClientID, connects over plain TCP to port 1883 with a
// clean session (PersistentSession false) and the documented defaults. New validates it once, before any network I/O, and
// keeps a copy: changing a Config after New has no effect on the Client.
type Config struct {
	// Address is the broker's IP address or host name, with or without a
	// port (host:port, [IPv6]:port: a port given here wins over Port). It
	// may also be a URL whose scheme chooses the transport: mqtt:// or
	// tcp://, mqtts://, ssl:// or tls://, ws:// or wss:// (see
	// transport.ParseAddress); then Port and Option must be left zero.
	Address string
	// Port is the broker's TCP port; zero means 1883, or 8883 with TLS.
	Port int
	// Option chooses plain TCP (the default) or TLS.
	Option Option
	// ConnectionTimeout bounds the whole of Connect: dialing, the TLS
	// handshake, the WebSocket upgrade, and CONNECT until CONNACK. Zero means
	// DefaultConnectionTimeout. ParseTimeout reads it from whole seconds or
	// text such as "10 s".
	ConnectionTimeout time.Duration

	// User and UserPassword are sent in CONNECT, unless PrivateKey is set:
	// then the client authenticates by key and sends User without a
	// password. A password without a user name is refused [MQTT-3.1.2-22].
	User         string
	UserPassword string
	// PrivateKey is a TLS client certificate with its key: a loaded
	// certificate, or the path of a PEM file holding both, or paths of a
	// certificate file and a key file (see auth.Key). Setting it turns TLS
	// on. PrivateKeyPassword decrypts an encrypted key.
	PrivateKey         auth.Key
	PrivateKeyPassword string

	// ClientID identifies the client and its session to the server
	// [MQTT-3.1.3-2]. It must not be empty.
	ClientID string
	// PersistentSession keeps the session on the server across
	// connections: false (the default) sends CleanSession 1, so the server
	// starts a new session that ends with the connection and leaves nothing
	// behind; true sends CleanSession 0 and resumes the session the server
	// holds for ClientID [MQTT-3.1.2-4] [MQTT-3.1.2-6]. The CleanSession
	// connection parameter is its negation:
	//
	//	cfg.PersistentSession = !cleanSession
	PersistentSession bool

	// KeepAlive is the longest the client stays silent: it sends PINGREQ
	// when it has sent nothing for this long [MQTT-3.1.2-23]. Zero means
	// DefaultKeepAlive; a negative value turns keepalive off. It is sent in
	// whole seconds, at most 65,535.
	KeepAlive time.Duration
	// PingTimeout is how long the client waits for PINGRESP before it
	// declares the connection dead. Zero means half of KeepAlive, at least
	// one second and at most 30 seconds.
	PingTimeout time.Duration
	// Will, if not nil, is the client's will message.
	Will *Will

	// TLSConfig configures TLS; nil means the system's root CAs with full
	// verification (see transport.Dialer.TLSConfig).
	TLSConfig *tls.Config
	// MaxInflight is how many outgoing QoS 1 and QoS 2 messages may await
	// acknowledgement at once; more wait in Publish. Zero means
	// DefaultMaxInflight; at most 65,535.
	MaxInflight int
	// MaxPacketSize is the largest packet the client accepts from the
	// server (a larger one ends the connection) and, if set, the largest
	// it sends: a Publish of a larger message fails at once with an error
	// matching ErrTooLarge that names the limit. Set it to the broker's
	// limit (Mosquitto's max_packet_size or message_size_limit plus the
	// topic) to learn of an oversized message before sending it. Zero
	// means packet.DefaultMaxPacketSize for what the client accepts, and
	// no limit but the broker's on what it sends.
	MaxPacketSize int
	// MessageQueue is how many received messages may wait for their
	// handlers. When it is full the client stops reading from the network
	// (so the server slows down) while keepalive goes on. Zero means
	// DefaultMessageQueue.
	MessageQueue int

	// DefaultHandler receives the messages that match no subscription: the
	// server may deliver before SUBACK, or from a session it kept. Nil
	// means such messages are logged and acknowledged.
	DefaultHandler Handler
	// DispatchIdle, if not nil, is called on the goroutine that runs the
	// handlers each time it has handled every message received so far:
	// after a lone message, or after the last of a burst. A handler that
	// buffers its work (lines for a file, rows for a database) flushes
	// there, so that a burst costs one write, not one a message, and no
	// message waits for the next. Like a handler, it must not block long.
	DispatchIdle func()

	// Logger receives the client's log records; nil discards them.
	Logger *slog.Logger

	// Dial, if not nil, replaces the network dial: Connect calls it for a
	// connection instead of dialing Address. Tests use it with net.Pipe,
	// programs with transports of their own.
	Dial func(ctx context.Context) (net.Conn, error)

	// Reconnect, if not nil, makes the client reconnect by itself when a
	// connection that Connect made is lost, until Disconnect (see
	// Reconnect). Nil means a lost connection stays lost.
	Reconnect *Reconnect
	// Store keeps the session state: the outgoing QoS 1 and QoS 2 messages
	// awaiting acknowledgement and the identifiers of incoming QoS 2
	// messages awaiting PUBREL. New loads it; without PersistentSession,
	// Connect empties it. Nil keeps the state in the Client's memory only.
	// With a store.File and PersistentSession, a process that restarts
	// with the same ClientID and directory finishes what the old one began.
	Store store.Store
}

// Seconds returns n seconds as a time.Duration, for ConnectionTimeout and
// KeepAlive given in whole seconds.
func Seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// withDefaults returns a copy of c with the defaults filled in.
func (c *Config) withDefaults() Config {
	d := *c
	if d.ConnectionTimeout == 0 {
		d.ConnectionTimeout = DefaultConnectionTimeout
	}
	if d.KeepAlive == 0 {
		d.KeepAlive = DefaultKeepAlive
	}
	if d.PingTimeout == 0 {
		d.PingTimeout = min(max(d.KeepAlive/2, time.Second), 30*time.Second)
	}
	if d.MaxInflight == 0 {
		d.MaxInflight = DefaultMaxInflight
	}
	if d.MaxPacketSize == 0 {
		d.MaxPacketSize = packet.DefaultMaxPacketSize
	}
	if d.MessageQueue == 0 {
		d.MessageQueue = DefaultMessageQueue
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Will != nil {
		w := *d.Will
		d.Will = &w
	}
	if d.Reconnect != nil {
		r := d.Reconnect.withDefaults()
		d.Reconnect = &r
	}
	if d.PrivateKey.IsSet() && len(d.PrivateKey.Password) == 0 && d.PrivateKeyPassword != "" {
		d.PrivateKey.Password = []byte(d.PrivateKeyPassword)
	}
	return d
}

// keepAliveSeconds is the Keep Alive field of CONNECT.
func (c *Config) keepAliveSeconds() uint16 {
	if c.KeepAlive < 0 {
		return 0
	}
	return uint16((c.KeepAlive + time.Second - 1) / time.Second)
}
