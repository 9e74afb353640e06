package session

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/transport"
)

// tlsListener serves TLS on a loopback port with a certificate of ca, as a
// TLS MQTT port does before MQTT starts, and returns the port.
func tlsListener(t *testing.T, ca *mosquittotest.CA) int {
	t.Helper()
	cert := ca.Issue(t, mosquittotest.CertOptions{CommonName: "broker"})
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake() // fails on the plain CONNECT
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// alertListener answers every connection with a TLS alert record, as
// OpenSSL may answer bytes that are not TLS, and returns its host:port.
func alertListener(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 64))
			c.Write([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46}) // alert: protocol version
			c.Close()
		}
	}()
	return l.Addr().String()
}

// TestPlainAgainstTLSPort checks that a plain connection to a TLS port
// (a Go TLS server, and Mosquitto's TLS listener) fails with an error
// that says to use TLS or the plain port, rather than a bare "EOF" or
// "connection reset by peer".
func TestPlainAgainstTLSPort(t *testing.T) {
	leaktest.Check(t)
	ca := mosquittotest.NewCA(t, "test CA")
	b := mosquittotest.Start(t, mosquittotest.Options{TLS: ca.ServerTLS(t)})
	u, err := transport.ParseAddress(b.TLSURL())
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(u.Host)
	for name, addr := range map[string]string{
		"go":        "mqtt://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(tlsListener(t, ca))),
		"mosquitto": "mqtt://" + net.JoinHostPort("127.0.0.1", port),
		"alert":     "mqtt://" + alertListener(t),
	} {
		t.Run(name, func(t *testing.T) {
			c, err := New(Config{Address: addr, ClientID: "plain"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Connect(context.Background())
			if err == nil {
				c.Disconnect(context.Background())
				t.Fatal("Connect succeeded")
			}
			t.Log(err)
			if name == "alert" && !strings.Contains(err.Error(), "the server answered with TLS") {
				t.Errorf("error %q does not say the server answered with TLS", err)
			}
			for _, want := range []string{"TLS", "use TLS (Option TLS / --cafile) or the plain port 1883"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
}
