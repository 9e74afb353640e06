package transport

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// TestTLSAgainstPlainPort checks that a TLS dial to a server that does not
// speak TLS, as a plain MQTT port does not, fails with an error that says
// so and what to do, matching ErrNotTLS: whether the server closes the
// connection on the ClientHello (Mosquitto takes its first byte, 0x16, for
// a CONNECT with bad flags [MQTT-2.2.2-2]), resets it, or answers with
// bytes that are not TLS.
func TestTLSAgainstPlainPort(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(net.Conn)
	}{
		{"closes after reading", func(c net.Conn) {
			c.Read(make([]byte, 1))
			c.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, c)
		}},
		{"resets", func(c net.Conn) {
			c.Read(make([]byte, 1))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}},
		{"answers MQTT", func(c net.Conn) {
			c.Read(make([]byte, 1))
			c.Write([]byte{0x20, 0x02, 0x00, 0x00, 0xe0, 0x00}) // CONNACK: no TLS record
			io.Copy(io.Discard, c)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, nil, tc.handle)
			_, err := dialTLS("mqtts://"+addr, nil)
			if !errors.Is(err, ErrNotTLS) {
				t.Fatalf("Dial = %v, want ErrNotTLS", err)
			}
			for _, want := range []string{"tls handshake", "the server did not answer TLS", "plain MQTT port", "8883", "turn TLS off"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestTLSAgainstMosquittoPlainPort checks the same against a real
// Mosquitto's plain listener.
func TestTLSAgainstMosquittoPlainPort(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	addr := strings.Replace(b.URL(), "mqtt://", "mqtts://", 1)
	_, err := dialTLS(addr, nil)
	if !errors.Is(err, ErrNotTLS) || !strings.Contains(err.Error(), "is this a plain MQTT port?") {
		t.Fatalf("Dial = %v, want ErrNotTLS saying what to do", err)
	}
}
