package session

import (
	"strconv"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// validate checks c, with its defaults filled in, once, before any network
// I/O. Credentials (User, UserPassword, PrivateKey) are checked by
// auth.Resolve.
func (c *Config) validate() error {
	if c.ClientID == "" {
		return &ConfigError{Field: "ClientID", Reason: "must not be empty: it names the client's session on the server [MQTT-3.1.3-2]"}
	}
	if err := packet.ValidateString(c.ClientID); err != nil {
		return &ConfigError{Field: "ClientID", Reason: "must be an MQTT UTF-8 string", Err: err}
	}
	if c.Dial == nil {
		if c.Address == "" {
			return &ConfigError{Field: "Address", Reason: "must name the broker (an IP address, a host name or a URL)"}
		}
	}
	if c.Port < 0 || c.Port > 65535 {
		return &ConfigError{Field: "Port", Reason: strconv.Itoa(c.Port) + " is not a TCP port (0 to 65535)"}
	}
	if c.Option != Plain && c.Option != TLS {
		return &ConfigError{Field: "Option", Reason: c.Option.String() + " is neither Plain nor TLS"}
	}
	if c.ConnectionTimeout < 0 {
		return &ConfigError{Field: "ConnectionTimeout", Reason: "must not be negative"}
	}
	if c.ConnectionTimeout < time.Millisecond {
		return &ConfigError{Field: "ConnectionTimeout", Reason: c.ConnectionTimeout.String() +
			" is too short to connect: give a time.Duration such as 10*time.Second, session.Seconds(10), or ParseTimeout(\"10 s\")"}
	}
	if c.KeepAlive > 65535*time.Second {
		return &ConfigError{Field: "KeepAlive", Reason: c.KeepAlive.String() + " is longer than 65,535 seconds, the most CONNECT can carry"}
	}
	if c.KeepAlive > 0 && c.KeepAlive < time.Second {
		return &ConfigError{Field: "KeepAlive", Reason: c.KeepAlive.String() + " is shorter than one second, the unit CONNECT carries"}
	}
	if c.PingTimeout < 0 {
		return &ConfigError{Field: "PingTimeout", Reason: "must not be negative"}
	}
	if c.MaxInflight < 1 || c.MaxInflight > 65535 {
		return &ConfigError{Field: "MaxInflight", Reason: strconv.Itoa(c.MaxInflight) + " is not between 1 and 65,535"}
	}
	if c.MaxPacketSize < 16 {
		return &ConfigError{Field: "MaxPacketSize", Reason: strconv.Itoa(c.MaxPacketSize) + " bytes is too small for any PUBLISH"}
	}
	if c.MessageQueue < 1 {
		return &ConfigError{Field: "MessageQueue", Reason: "must be at least 1"}
	}
	if w := c.Will; w != nil {
		if err := packet.ValidateTopicName(w.Topic); err != nil {
			return &ConfigError{Field: "Will.Topic", Reason: "must be a topic name", Err: err}
		}
		if !w.QoS.Valid() {
			return &ConfigError{Field: "Will.QoS", Reason: w.QoS.String() + " is not 0, 1 or 2 [MQTT-3.1.2-14]"}
		}
		if len(w.Payload) > 65535 {
			return &ConfigError{Field: "Will.Payload", Reason: "is longer than 65,535 bytes, the most CONNECT can carry"}
		}
	}
	if r := c.Reconnect; r != nil {
		if err := r.validate(); err != nil {
			return err
		}
	}
	return nil
}
