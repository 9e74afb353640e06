package broker

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/petrel-mqtt/petrel/internal/topictree"
	"github.com/petrel-mqtt/petrel/packet"
)

// Defaults of the zero fields of Bridge, Mosquitto's.
const (
	DefaultBridgeKeepAlive  = 60 * time.Second
	DefaultBridgeRestartMin = 5 * time.Second
	DefaultBridgeRestartMax = 30 * time.Second
	// MinBridgeKeepAlive is the shortest Bridge.KeepAlive, as in Mosquitto.
	MinBridgeKeepAlive = 5 * time.Second
)

// Bridge is a connection from the broker to another broker, the remote
// one, which carries the messages of some topics out to it and brings
// those of others in: Mosquitto's "connection" block. The bridge is an
// MQTT client of the remote broker (Petrel's, package session) and a
// client of this one, in-process. See "Bridges" in the package doc.
//
// The zero value of each optional field is Mosquitto's default, but for
// TryPrivate.
type Bridge struct {
	// Name names the bridge in the log, in the default client ids and
	// in the directory that keeps its state under Config.PersistenceDir.
	// It must not be empty, nor be shared by two bridges.
	Name string
	// Addresses are the remote broker's, tried in turn when connecting and
	// on each reconnection: the nodes of a cluster. Each is host:port,
	// host (port 1883, with TLS too, as in Mosquitto) or a URL
	// (mqtt://, mqtts://, ws://, wss://). At least one.
	Addresses []string
	// Topics says what crosses the bridge, in which direction. At least
	// one.
	Topics []BridgeTopic

	// ClientID is the bridge's client id on the remote broker
	// (remote_clientid); empty means "HOSTNAME.Name", as Mosquitto makes it.
	ClientID string
	// LocalClientID is the id of the bridge's session on this broker
	// (local_clientid), the one that holds the outgoing messages while the
	// remote broker is unreachable; empty means "local." + ClientID. No
	// other client may connect with it (CONNACK 2), nor with
	// LocalClientID + "/in", the id of the connection that publishes the
	// incoming messages.
	LocalClientID string
	// CleanSession asks the remote broker for a clean session; false (the
	// default) keeps the bridge's subscriptions and messages there across
	// connections, and lets the bridge keep its unacknowledged outgoing
	// messages on disk (see "Bridges" in the package doc).
	CleanSession bool
	// Username and Password are sent to the remote broker.
	Username, Password string
	// TLS, if not nil, makes the connections to the remote broker TLS
	// ones with this configuration (bridge_cafile, bridge_certfile,
	// bridge_keyfile, bridge_insecure): addresses without a scheme are
	// then mqtts://. Nil means plain TCP, unless an address says mqtts://
	// or wss://.
	TLS *tls.Config
	// KeepAlive is the keep alive sent to the remote broker; zero means
	// DefaultBridgeKeepAlive (60 s), at least MinBridgeKeepAlive (5 s).
	KeepAlive time.Duration
	// RestartMin and RestartMax bound the delay between attempts to
	// connect (restart_timeout base and cap): it starts at RestartMin and
	// doubles, jittered, up to RestartMax. Zero means
	// DefaultBridgeRestartMin (5 s) and DefaultBridgeRestartMax (30 s).
	RestartMin, RestartMax time.Duration
	// Notifications chooses where the bridge's state is published: "1"
	// once connected, "0" once the connection is lost, retained at QoS 1
	// on NotificationTopic, on this broker and on the remote one. The zero
	// value, NotifyBoth, is Mosquitto's default. On the remote broker the
	// "0" of a lost connection is the connection's will, as in Mosquitto,
	// only for a NotificationTopic outside $SYS: most brokers refuse wills
	// on $SYS topics (Mosquitto and Petrel accept them on
	// $SYS/broker/connection/+/state only), so there the remote broker
	// gets "1" on each connection and "0" when the bridge stops.
	Notifications Notify
	// NotificationTopic is where the state is published; empty means
	// "$SYS/broker/connection/" + ClientID + "/state", Mosquitto's.
	NotificationTopic string
	// TryPrivate sets bit 0x80 of the protocol level in CONNECT (0x84),
	// Mosquitto's mark of a bridge: a Mosquitto or Petrel remote then
	// neither sends the bridge back its own messages nor clears their
	// RETAIN flag. Brokers that do not know the mark (RabbitMQ, EMQX)
	// refuse such a CONNECT as an unacceptable protocol version, so the
	// default is false, unlike Mosquitto's; set it for a Mosquitto or
	// Petrel remote.
	TryPrivate bool
}

// Notify chooses where a Bridge publishes its state (Bridge.Notifications).
type Notify int

const (
	// NotifyBoth publishes the state on this broker and on the remote one
	// (Mosquitto's notifications true, the default).
	NotifyBoth Notify = iota
	// NotifyLocal publishes it on this broker only
	// (notifications_local_only true).
	NotifyLocal
	// NotifyNone publishes it nowhere (notifications false).
	NotifyNone
)

// Direction says which way a BridgeTopic's messages cross the bridge.
type Direction int

const (
	// Out carries messages published on this broker to the remote one;
	// the zero value, Mosquitto's default.
	Out Direction = iota
	// In carries messages published on the remote broker to this one.
	In
	// Both carries them both ways.
	Both
)

// String returns "out", "in" or "both", as in Mosquitto's topic directive.
func (d Direction) String() string {
	switch d {
	case Out:
		return "out"
	case In:
		return "in"
	case Both:
		return "both"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// BridgeTopic is one "topic" line of a bridge: a pattern, a direction, a
// QoS and the prefixes that map topics between the two brokers.
//
// Messages go out from the local topics that match LocalPrefix+Pattern,
// subscribed at QoS on this broker: LocalPrefix is cut from the topic and
// RemotePrefix put in its place. They come in from RemotePrefix+Pattern,
// subscribed at QoS on the remote broker: RemotePrefix is cut and
// LocalPrefix put in its place. An empty Pattern, with both prefixes set,
// maps the one topic LocalPrefix to the one topic RemotePrefix; these are
// Mosquitto's rules, and its table of what is valid.
type BridgeTopic struct {
	Pattern                   string
	Direction                 Direction
	QoS                       packet.QoS
	LocalPrefix, RemotePrefix string
}

// localFilter and remoteFilter are the filters the topic subscribes to on
// each side.
func (t BridgeTopic) localFilter() string  { return t.LocalPrefix + t.Pattern }
func (t BridgeTopic) remoteFilter() string { return t.RemotePrefix + t.Pattern }

// out reports whether the topic carries messages out; in, in.
func (t BridgeTopic) out() bool { return t.Direction != In }
func (t BridgeTopic) in() bool  { return t.Direction != Out }

// toRemote maps a local topic that matches t's local filter to the
// remote topic; toLocal, the other way.
func (t BridgeTopic) toRemote(topic string) string {
	return t.RemotePrefix + strings.TrimPrefix(topic, t.LocalPrefix)
}

func (t BridgeTopic) toLocal(topic string) string {
	return t.LocalPrefix + strings.TrimPrefix(topic, t.RemotePrefix)
}

// check validates t, for Config.Bridges[i].Topics[j].
func (t BridgeTopic) check() string {
	switch {
	case t.Direction < Out || t.Direction > Both:
		return fmt.Sprintf("Direction %d: Out, In or Both", t.Direction)
	case t.QoS > packet.QoS2:
		return fmt.Sprintf("QoS %d: 0, 1 or 2", t.QoS)
	case t.Pattern == "" && (t.LocalPrefix == "" || t.RemotePrefix == ""):
		return "an empty Pattern needs both prefixes: it maps the topic LocalPrefix to the topic RemotePrefix"
	case strings.ContainsAny(t.LocalPrefix+t.RemotePrefix, "+#"):
		return "a prefix cannot hold a wildcard (+ or #)"
	}
	if err := packet.ValidateTopicFilter(t.localFilter()); err != nil {
		return fmt.Sprintf("LocalPrefix+Pattern %q: %v", t.localFilter(), err)
	}
	if err := packet.ValidateTopicFilter(t.remoteFilter()); err != nil {
		return fmt.Sprintf("RemotePrefix+Pattern %q: %v", t.remoteFilter(), err)
	}
	return ""
}

// withDefaults validates b, the i-th bridge, and fills its defaults.
func (b Bridge) withDefaults(i int) (Bridge, error) {
	field := func(f string) string { return fmt.Sprintf("Bridges[%d].%s", i, f) }
	bad := func(f, reason string) (Bridge, error) { return b, &ConfigError{Field: field(f), Reason: reason} }
	switch {
	case b.Name == "":
		return bad("Name", "empty")
	case len(b.Addresses) == 0:
		return bad("Addresses", "none: give the remote broker's host:port")
	case len(b.Topics) == 0:
		return bad("Topics", "none: a bridge carries at least one topic")
	case b.KeepAlive < 0 || b.RestartMin < 0 || b.RestartMax < 0:
		return bad("KeepAlive, RestartMin, RestartMax", "negative")
	case b.KeepAlive > 0 && b.KeepAlive < MinBridgeKeepAlive:
		return bad("KeepAlive", fmt.Sprintf("%v: at least %v", b.KeepAlive, MinBridgeKeepAlive))
	case b.KeepAlive > 65535*time.Second:
		return bad("KeepAlive", "more than 65535 s")
	case b.Notifications < NotifyBoth || b.Notifications > NotifyNone:
		return bad("Notifications", fmt.Sprintf("%d: NotifyBoth, NotifyLocal or NotifyNone", b.Notifications))
	case b.Password != "" && b.Username == "":
		return bad("Password", "without a Username [MQTT-3.1.2-22]")
	}
	b.Addresses = append([]string(nil), b.Addresses...)
	for j, a := range b.Addresses {
		u, err := bridgeURL(a, b.TLS != nil)
		if err != nil {
			return bad(fmt.Sprintf("Addresses[%d]", j), err.Error())
		}
		b.Addresses[j] = u
	}
	b.Topics = append([]BridgeTopic(nil), b.Topics...)
	for j, t := range b.Topics {
		if r := t.check(); r != "" {
			return bad(fmt.Sprintf("Topics[%d]", j), r)
		}
	}
	if b.ClientID == "" {
		host, _ := os.Hostname()
		b.ClientID = host + "." + b.Name
	}
	if b.LocalClientID == "" {
		b.LocalClientID = "local." + b.ClientID
	}
	if b.KeepAlive == 0 {
		b.KeepAlive = DefaultBridgeKeepAlive
	}
	if b.RestartMin == 0 {
		b.RestartMin = DefaultBridgeRestartMin
		if b.RestartMax > 0 {
			b.RestartMin = min(b.RestartMin, b.RestartMax)
		}
	}
	if b.RestartMax == 0 {
		b.RestartMax = max(DefaultBridgeRestartMax, b.RestartMin)
	}
	if b.RestartMax < b.RestartMin {
		return bad("RestartMax", fmt.Sprintf("%v: less than RestartMin, %v", b.RestartMax, b.RestartMin))
	}
	if b.NotificationTopic == "" {
		b.NotificationTopic = "$SYS/broker/connection/" + b.ClientID + "/state"
	}
	if err := packet.ValidateTopicName(b.NotificationTopic); err != nil {
		return bad("NotificationTopic", err.Error())
	}
	return b, nil
}

// bridgeURL turns a Mosquitto address, host or host:port, into a URL:
// port 1883 by default, mqtts:// with TLS. A URL is kept as it is.
func bridgeURL(a string, useTLS bool) (string, error) {
	if strings.Contains(a, "://") {
		return a, nil
	}
	if a == "" {
		return "", fmt.Errorf("empty")
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		if strings.Count(a, ":") > 1 && !strings.HasPrefix(a, "[") {
			return "", fmt.Errorf("%q: an IPv6 address needs brackets and a port, [addr]:port", a)
		}
		host, port = strings.Trim(a, "[]"), "1883"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q: port %q is not 1 to 65535", a, port)
	}
	scheme := "mqtt://"
	if useTLS {
		scheme = "mqtts://"
	}
	return scheme + net.JoinHostPort(host, port), nil
}

// checkBridges validates Config.Bridges and fills their defaults.
func checkBridges(bs []Bridge) ([]Bridge, error) {
	if len(bs) == 0 {
		return nil, nil
	}
	out := make([]Bridge, len(bs))
	names, ids := map[string]int{}, map[string]int{}
	for i, b := range bs {
		b, err := b.withDefaults(i)
		if err != nil {
			return nil, err
		}
		if j, ok := names[b.Name]; ok {
			return nil, &ConfigError{Field: fmt.Sprintf("Bridges[%d].Name", i), Reason: fmt.Sprintf("%q: also the name of Bridges[%d]", b.Name, j)}
		}
		names[b.Name] = i
		for _, id := range []string{b.LocalClientID, b.LocalClientID + "/in"} {
			if j, ok := ids[id]; ok {
				return nil, &ConfigError{Field: fmt.Sprintf("Bridges[%d].LocalClientID", i), Reason: fmt.Sprintf("%q: also used by Bridges[%d]", id, j)}
			}
			ids[id] = i
		}
		out[i] = b
	}
	return out, nil
}

// outTopic returns the first out topic of b whose local filter matches the
// local topic, as Mosquitto takes the first.
func (b *Bridge) outTopic(topic string) (BridgeTopic, bool) {
	for _, t := range b.Topics {
		if t.out() && topictree.Matches(t.localFilter(), topic) {
			return t, true
		}
	}
	return BridgeTopic{}, false
}

// inTopic returns the first in topic of b whose remote filter matches the
// remote topic.
func (b *Bridge) inTopic(topic string) (BridgeTopic, bool) {
	for _, t := range b.Topics {
		if t.in() && topictree.Matches(t.remoteFilter(), topic) {
			return t, true
		}
	}
	return BridgeTopic{}, false
}
