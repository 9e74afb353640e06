package broker

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// expectBytes reads the next packet and checks its encoding.
func (c *client) expectBytes(want []byte) {
	c.t.Helper()
	got := encode(c.t, c.next())
	if !bytes.Equal(got, want) {
		c.t.Fatalf("got % x, want % x", got, want)
	}
}

// connectBytes is a CONNECT for client "a", clean session, keepalive 60,
// protocol level lvl.
func connectBytes(lvl byte) []byte {
	return []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', lvl, 0x02, 0, 60, 0, 1, 'a'}
}

// TestConnackCodes checks every CONNACK return code (section 3.2.2.3),
// each refusal followed by the connection's close [MQTT-3.2.2-5] with
// Session Present 0 [MQTT-3.2.2-4].
func TestConnackCodes(t *testing.T) {
	auth := AuthenticatorFunc(func(_ context.Context, info ConnInfo) (string, error) {
		switch {
		case info.Username == "bad":
			return "", ErrBadUsernameOrPassword
		case info.Username == "banned":
			return "", ErrNotAuthorized
		case info.Username == "\x7f":
			return "", ErrMalformedCredentials
		case info.Username == "broken":
			return "", context.DeadlineExceeded
		}
		return info.Username, nil
	})
	s, addr := startServer(t, Config{Authenticator: auth, MaxClientIDLength: 8, MaxConnections: 3})
	user := func(u string) *packet.Connect {
		return &packet.Connect{ClientID: []byte("c"), CleanSession: true, UsernameFlag: true, Username: []byte(u)}
	}
	tests := []struct {
		name    string
		connect []byte
		code    byte
	}{
		{"accepted", connectBytes(4), 0},
		{"protocol level 3 [MQTT-3.1.2-2]", connectBytes(3), 1},
		{"protocol level 5 [MQTT-3.1.2-2]", connectBytes(5), 1},
		{"protocol MQIsdp level 4 [MQTT-3.1.2-2]", []byte{0x10, 15, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 4, 2, 0, 60, 0, 1, 'a'}, 1},
		{"empty id, CleanSession=0 [MQTT-3.1.3-8]", encode(t, &packet.Connect{}), 2},
		{"id too long [MQTT-3.1.3-9]", encode(t, &packet.Connect{ClientID: []byte("123456789"), CleanSession: true}), 2},
		{"authenticator error", encode(t, user("broken")), 3},
		{"malformed user name or password", encode(t, user("\x7f")), 4},
		{"bad user name or password", encode(t, user("bad")), 5},
		{"not authorized", encode(t, user("banned")), 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			c.write(tt.connect)
			c.expectBytes([]byte{0x20, 0x02, 0x00, tt.code})
			if tt.code != 0 {
				c.expectClosed()
			}
		})
	}
	if got := s.Stats().Refused; got != 9 {
		t.Errorf("Stats().Refused = %d, want 9", got)
	}

	t.Run("server unavailable", func(t *testing.T) {
		eventually(t, "connections closed", func() bool { return s.Stats().Connections == 0 })
		// MaxConnections is 3: three connections fill it.
		connectID(t, addr, "x1", true)
		connectID(t, addr, "x2", true)
		connectID(t, addr, "x3", true)
		c := dial(t, addr)
		c.write(encode(t, &packet.Connect{ClientID: []byte("x4"), CleanSession: true}))
		c.expectBytes([]byte{0x20, 0x02, 0x00, 0x03})
		c.expectClosed()
	})
}

// TestGeneratedClientID checks that clients with an empty ClientId and
// CleanSession=1 are accepted, each with an identifier of its own
// [MQTT-3.1.3-6]: neither takes over the other.
func TestGeneratedClientID(t *testing.T) {
	s, addr := startServer(t, Config{})
	a := connectID(t, addr, "", true)
	b := connectID(t, addr, "", true)
	for _, c := range []*client{a, b} {
		c.send(&packet.Pingreq{})
		c.expect(&packet.Pingresp{})
	}
	if got := s.Stats().Sessions; got != 2 {
		t.Errorf("Sessions = %d, want 2", got)
	}
}

// TestSessionPresent checks the Session Present flag [MQTT-3.2.2-1]
// [MQTT-3.2.2-2] [MQTT-3.2.2-3] and that CleanSession=1 discards a
// persistent session [MQTT-3.1.2-6].
func TestSessionPresent(t *testing.T) {
	_, addr := startServer(t, Config{})
	steps := []struct {
		clean, present bool
	}{
		{false, false}, // new persistent session
		{false, true},  // resumed
		{true, false},  // clean: discards it
		{false, false}, // so it is new again
		{false, true},
		{true, false},
		{true, false},
	}
	for _, st := range steps {
		c := dial(t, addr)
		c.connect(&packet.Connect{ClientID: []byte("sp"), CleanSession: st.clean}, packet.Connack{SessionPresent: st.present})
		c.send(&packet.Disconnect{})
		c.expectClosed()
	}
}

// TestFirstPacket checks that a connection whose first packet is not a
// valid CONNECT is closed without CONNACK [MQTT-3.1.0-1] [MQTT-3.1.4-1].
func TestFirstPacket(t *testing.T) {
	_, addr := startServer(t, Config{})
	tests := []struct {
		name  string
		bytes []byte
	}{
		{"PINGREQ first [MQTT-3.1.0-1]", []byte{0xc0, 0x00}},
		{"PUBLISH first [MQTT-3.1.0-1]", []byte{0x30, 0x04, 0, 1, 'a', 'x'}},
		{"protocol name mqisdp [MQTT-3.1.2-1]", []byte{0x10, 15, 0, 6, 'm', 'q', 'i', 's', 'd', 'p', 3, 2, 0, 60, 0, 1, 'a'}},
		{"reserved connect flag [MQTT-3.1.2-3]", []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x03, 0, 60, 0, 1, 'a'}},
		{"CONNECT flags nibble [MQTT-2.2.2-1]", []byte{0x11, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'a'}},
		{"will QoS 3 [MQTT-3.1.2-14]", []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x1e, 0, 60, 0, 1, 'a'}},
		{"password without user name [MQTT-3.1.2-22]", []byte{0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x42, 0, 60, 0, 1, 'a', 0, 1, 'p'}},
		{"client id not UTF-8 [MQTT-1.5.3-1]", []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 0xff}},
		{"trailing bytes", []byte{0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'a', 'b'}},
		{"reserved type 0", []byte{0x00, 0x00}},
		{"HTTP request", []byte("GET / HTTP/1.1\r\n\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			c.write(tt.bytes)
			c.expectClosed()
		})
	}
}

// TestConnectTimeout checks that a connection that sends no CONNECT is
// closed after Config.ConnectTimeout.
func TestConnectTimeout(t *testing.T) {
	_, addr := startServer(t, Config{ConnectTimeout: 100e6})
	c := dial(t, addr)
	c.write([]byte{0x10}) // half a packet
	c.expectClosed()
}

// TestClientIDLimits checks the ClientIds the spec requires a server to
// accept [MQTT-3.1.3-5] and the configured limit.
func TestClientIDLimits(t *testing.T) {
	_, addr := startServer(t, Config{})
	connectID(t, addr, "abcdefghijklmnopqrstuvw", true)
	connectID(t, addr, strings.Repeat("x", DefaultMaxClientIDLength), true)
	c := dial(t, addr)
	c.send(&packet.Connect{ClientID: []byte(strings.Repeat("x", DefaultMaxClientIDLength+1)), CleanSession: true})
	c.expect(&packet.Connack{ReturnCode: packet.RefusedIdentifierRejected})
	c.expectClosed()
}
