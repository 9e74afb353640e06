package session

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestConnectBytes checks the CONNECT the client sends for each way of
// configuring it, byte for byte: the first packet on the connection
// [MQTT-3.1.0-1], protocol name and level, the flags [MQTT-3.1.2-9]
// [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15] [MQTT-3.1.2-18]
// [MQTT-3.1.2-19] [MQTT-3.1.2-20] [MQTT-3.1.2-21], keepalive in seconds,
// and the payload in order: client id, will topic, will message, user
// name, password [MQTT-3.1.3-1].
func TestConnectBytes(t *testing.T) {
	leaktest.Check(t)
	tests := []struct {
		name string
		cfg  Config
		want []byte
	}{{
		name: "clean session, keepalive 30 s",
		cfg:  scriptConfig(),
		want: connectC1,
	}, {
		name: "session kept, keepalive off",
		cfg:  Config{ClientID: "c1", KeepAlive: -1, PersistentSession: true},
		want: hx(`10 0e
			00 04 4d 51 54 54 04
			00          flags: none
			00 00       keep alive 0: off
			00 02 63 31`),
	}, {
		name: "keepalive rounded up to whole seconds",
		cfg:  Config{ClientID: "c1", KeepAlive: 1500 * time.Millisecond},
		want: hx(`10 0e
			00 04 4d 51 54 54 04
			02
			00 02       keep alive 2 s
			00 02 63 31`),
	}, {
		name: "default keepalive",
		cfg:  Config{ClientID: "c1"},
		want: hx(`10 0e
			00 04 4d 51 54 54 04
			02
			00 3c       keep alive 60 s
			00 02 63 31`),
	}, {
		name: "will QoS 1 retained, user and password, session kept",
		cfg: Config{ClientID: "c1", PersistentSession: true, KeepAlive: 60 * time.Second, User: "u", UserPassword: "pw",
			Will: &Will{Topic: "w/t", Payload: []byte("bye"), QoS: packet.QoS1, Retain: true}},
		want: hx(`10 1f        remaining length 31
			00 04 4d 51 54 54 04
			ec          flags: user name, password, will retain, will QoS 1, will
			00 3c
			00 02 63 31       client id "c1"
			00 03 77 2f 74    will topic "w/t"
			00 03 62 79 65    will message "bye"
			00 01 75          user name "u"
			00 02 70 77       password "pw"`),
	}, {
		name: "will QoS 2 with an empty message, not retained",
		cfg: Config{ClientID: "c1", KeepAlive: 30 * time.Second,
			Will: &Will{Topic: "w", QoS: packet.QoS2}},
		want: hx(`10 13
			00 04 4d 51 54 54 04
			16          flags: will QoS 2, will, clean session
			00 1e
			00 02 63 31
			00 01 77    will topic "w"
			00 00       will message: empty`),
	}, {
		name: "user name without password",
		cfg:  Config{ClientID: "c1", KeepAlive: 30 * time.Second, User: "u"},
		want: hx(`10 11
			00 04 4d 51 54 54 04
			82          flags: user name, clean session
			00 1e
			00 02 63 31
			00 01 75`),
	}, {
		name: "user name and password",
		cfg:  Config{ClientID: "c1", KeepAlive: 30 * time.Second, User: "u", UserPassword: "pw"},
		want: hx(`10 15
			00 04 4d 51 54 54 04
			c2          flags: user name, password, clean session
			00 1e
			00 02 63 31
			00 01 75
			00 02 70 77`),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaktest.Check(t)
			c, b := newScripted(t, tt.cfg)
			done := connectAsync(c)
			b.Expect(tt.want)
			b.Send(hx("20 02 00 00")) // CONNACK, accepted
			if r := wait(t, done); r.err != nil || r.present {
				t.Fatalf("Connect = %v, %v; want false, nil", r.present, r.err)
			}
			if !c.Connected() {
				t.Error("Connected() is false after Connect")
			}
		})
	}
}

// TestZeroConfigCleanSession checks that the zero Config, given only a
// ClientID, asks for a clean session: its CONNECT has the CleanSession flag
// set [MQTT-3.1.2-6], so that the broker keeps nothing once the connection
// ends. A persistent session is PersistentSession, which clears the flag
// [MQTT-3.1.2-4].
func TestZeroConfigCleanSession(t *testing.T) {
	leaktest.Check(t)
	for _, persistent := range []bool{false, true} {
		t.Run("PersistentSession="+strconv.FormatBool(persistent), func(t *testing.T) {
			leaktest.Check(t)
			c, b := newScripted(t, Config{ClientID: "c1", PersistentSession: persistent})
			done := connectAsync(c)
			p := b.ExpectType(packet.TypeConnect).(*packet.Connect)
			if p.CleanSession == persistent {
				t.Errorf("CONNECT CleanSession = %v with PersistentSession %v, want %v", p.CleanSession, persistent, !persistent)
			}
			b.SendPacket(&packet.Connack{})
			if r := wait(t, done); r.err != nil {
				t.Fatalf("Connect: %v", r.err)
			}
		})
	}
}

// TestConnectRefused checks each refusing return code of CONNACK
// (section 3.2.2.3): Connect returns a *ConnectError with the code, which
// matches ErrConnectionRefused and names the reason, and closes the
// connection, on which the server sends nothing more [MQTT-3.2.2-5].
func TestConnectRefused(t *testing.T) {
	leaktest.Check(t)
	reasons := map[packet.ConnectReturnCode]string{
		packet.RefusedProtocolVersion:       "unacceptable protocol version",
		packet.RefusedIdentifierRejected:    "identifier rejected",
		packet.RefusedServerUnavailable:     "server unavailable",
		packet.RefusedBadUserNameOrPassword: "bad user name or password",
		packet.RefusedNotAuthorized:         "not authorized",
	}
	for code := packet.RefusedProtocolVersion; code <= packet.RefusedNotAuthorized; code++ {
		t.Run(strconv.Itoa(int(code)), func(t *testing.T) {
			leaktest.Check(t)
			c, b := newScripted(t, scriptConfig())
			done := connectAsync(c)
			b.Expect(connectC1)
			b.Send([]byte{0x20, 0x02, 0x00, byte(code)})
			b.ExpectClosed()
			r := wait(t, done)
			var ce *ConnectError
			if !errors.As(r.err, &ce) || ce.Code != code {
				t.Fatalf("Connect error %v, want a *ConnectError with code %d", r.err, code)
			}
			if !errors.Is(r.err, ErrConnectionRefused) {
				t.Errorf("error %q does not match ErrConnectionRefused", r.err)
			}
			for _, want := range []string{reasons[code], "return code " + strconv.Itoa(int(code))} {
				if !strings.Contains(r.err.Error(), want) {
					t.Errorf("error %q does not say %q", r.err, want)
				}
			}
			if r.present {
				t.Error("Connect reported a session present with a refusal")
			}
			if c.Connected() {
				t.Error("Connected() is true after a refusal")
			}
		})
	}
}

// TestConnectSessionPresent checks that Connect returns the Session Present
// flag of CONNACK [MQTT-3.2.2-2] [MQTT-3.2.2-3].
func TestConnectSessionPresent(t *testing.T) {
	leaktest.Check(t)
	for _, present := range []bool{false, true} {
		t.Run(strconv.FormatBool(present), func(t *testing.T) {
			leaktest.Check(t)
			c, b := newScripted(t, Config{ClientID: "c1", PersistentSession: true, KeepAlive: 30 * time.Second})
			done := connectAsync(c)
			b.ExpectType(packet.TypeConnect)
			ack := []byte{0x20, 0x02, 0x00, 0x00}
			if present {
				ack[2] = 0x01
			}
			b.Send(ack)
			if r := wait(t, done); r.err != nil || r.present != present {
				t.Fatalf("Connect = %v, %v; want %v, nil", r.present, r.err, present)
			}
		})
	}
}

// TestConnectFirstPacketNotConnack checks that a first packet other than
// CONNACK is a protocol violation [MQTT-3.2.0-1]: Connect fails with
// ErrProtocolViolation, naming the packet, and closes the connection.
func TestConnectFirstPacketNotConnack(t *testing.T) {
	leaktest.Check(t)
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"PINGRESP", hx("d0 00")},
		{"PUBLISH", hx("30 05 00 01 61 68 69")}, // QoS 0 "a" "hi"
		{"SUBACK", hx("90 03 00 01 00")},
		{"PUBACK", hx("40 02 00 01")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaktest.Check(t)
			c, b := newScripted(t, scriptConfig())
			done := connectAsync(c)
			b.Expect(connectC1)
			b.Send(tc.bytes)
			b.ExpectClosed()
			r := wait(t, done)
			if !errors.Is(r.err, ErrProtocolViolation) {
				t.Fatalf("Connect error %v, want ErrProtocolViolation", r.err)
			}
			for _, want := range []string{tc.name, "MQTT-3.2.0-1"} {
				if !strings.Contains(r.err.Error(), want) {
					t.Errorf("error %q does not say %q", r.err, want)
				}
			}
			if c.Connected() {
				t.Error("Connected() is true")
			}
		})
	}
}

// TestConnectMalformedConnack checks that a malformed packet in place of
// CONNACK fails Connect with the codec's *packet.ProtocolError.
func TestConnectMalformedConnack(t *testing.T) {
	leaktest.Check(t)
	c, b := newScripted(t, scriptConfig())
	done := connectAsync(c)
	b.Expect(connectC1)
	b.Send(hx("20 02 02 00")) // CONNACK with a reserved flag bit set
	b.ExpectClosed()
	r := wait(t, done)
	var pe *packet.ProtocolError
	if !errors.As(r.err, &pe) || pe.Type != packet.TypeConnack {
		t.Fatalf("Connect error %v, want a *packet.ProtocolError for CONNACK", r.err)
	}
	if !strings.Contains(r.err.Error(), "waiting for CONNACK") {
		t.Errorf("error %q does not say which step failed", r.err)
	}
}

// TestConnackTimeout checks that Connect gives up when CONNACK does not come
// within ConnectionTimeout, says so, and closes the connection (section
// 3.1.4: a client should close the connection if CONNACK does not come
// within a reasonable time).
func TestConnackTimeout(t *testing.T) {
	leaktest.Check(t)
	const timeout = 300 * time.Millisecond
	cfg := scriptConfig()
	cfg.ConnectionTimeout = timeout
	c, b := newScripted(t, cfg)
	start := time.Now()
	done := connectAsync(c)
	b.Expect(connectC1)
	b.ExpectClosed() // the broker stays silent
	r := wait(t, done)
	elapsed := time.Since(start)
	if r.err == nil {
		t.Fatal("Connect succeeded without CONNACK")
	}
	if elapsed < timeout-10*time.Millisecond || elapsed > timeout+time.Second {
		t.Errorf("Connect returned after %v, want about %v", elapsed, timeout)
	}
	if !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("error %q does not match context.DeadlineExceeded", r.err)
	}
	for _, want := range []string{"CONNACK", "connection timeout", timeout.String()} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error %q does not say %q", r.err, want)
		}
	}
}

// TestConnectContext checks that Connect also ends with its context, before
// the connection timeout.
func TestConnectContext(t *testing.T) {
	leaktest.Check(t)
	c, b := newScripted(t, scriptConfig()) // ConnectionTimeout 30 s
	ctx, cancel := context.WithCancel(context.Background())
	done := async(func() error { _, err := c.Connect(ctx); return err })
	b.Expect(connectC1)
	cancel()
	b.ExpectClosed()
	if err := wait(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Connect error %v, want context.Canceled", err)
	}
}

// TestConnectTwice checks that Connect on a connected Client fails with
// ErrAlreadyConnected and sends nothing.
func TestConnectTwice(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	if _, err := c.Connect(context.Background()); !errors.Is(err, ErrAlreadyConnected) {
		t.Errorf("second Connect: %v, want ErrAlreadyConnected", err)
	}
	b.ExpectNothing(50 * time.Millisecond)
}

// TestNotConnected checks the calls that need a connection before Connect.
func TestNotConnected(t *testing.T) {
	leaktest.Check(t)
	c, _ := newScripted(t, scriptConfig())
	ctx := context.Background()
	for _, qos := range []packet.QoS{packet.QoS0, packet.QoS1, packet.QoS2} {
		if err := c.Publish(ctx, Message{Topic: "a", QoS: qos}); !errors.Is(err, ErrNotConnected) {
			t.Errorf("Publish QoS %d: %v, want ErrNotConnected", qos, err)
		}
	}
	if err := c.Unsubscribe(ctx, "a"); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Unsubscribe: %v, want ErrNotConnected", err)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Errorf("Disconnect: %v, want nil", err)
	}
	if c.Done() != nil || c.Err() != nil {
		t.Errorf("Done() = %v, Err() = %v; want nil, nil", c.Done(), c.Err())
	}
}
