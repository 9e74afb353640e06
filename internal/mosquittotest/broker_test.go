package mosquittotest_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// connect sends a CONNECT over conn and returns the CONNACK's return code.
func connect(t *testing.T, conn net.Conn, user, pass string) packet.ConnectReturnCode {
	t.Helper()
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	c := &packet.Connect{ClientID: []byte("mosquittotest"), CleanSession: true, KeepAlive: 30}
	if user != "" {
		c.UsernameFlag, c.Username = true, []byte(user)
		c.PasswordFlag, c.Password = true, []byte(pass)
	}
	b, err := c.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	p, err := packet.NewReader(bufio.NewReader(conn), 0).ReadPacket()
	if err != nil {
		t.Fatal(err)
	}
	ack, ok := p.(*packet.Connack)
	if !ok {
		t.Fatalf("got %T, want *packet.Connack", p)
	}
	return ack.ReturnCode
}

func TestStartPlain(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	if want := "mqtt://" + b.Addr(); b.URL() != want {
		t.Errorf("URL() = %q, want %q", b.URL(), want)
	}
	conn, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if code := connect(t, conn, "", ""); code != packet.Accepted {
		t.Errorf("CONNACK return code %v, want Accepted", code)
	}
}

func TestStartUsers(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{Users: map[string]string{"alice": "secret", "bob": "hunter2"}})
	for _, tc := range []struct {
		user, pass string
		want       packet.ConnectReturnCode
	}{
		{"alice", "secret", packet.Accepted},
		{"bob", "hunter2", packet.Accepted},
		{"alice", "wrong", packet.RefusedNotAuthorized}, // Mosquitto 2.0 answers 5, not 4
		{"", "", packet.RefusedNotAuthorized},
	} {
		conn, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if code := connect(t, conn, tc.user, tc.pass); code != tc.want {
			t.Errorf("user %q password %q: return code %v, want %v", tc.user, tc.pass, code, tc.want)
		}
	}
}

func TestStartTLS(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	opts := ca.ServerTLS(t)
	opts.RequireCertificate, opts.UseIdentityAsUsername = true, true
	b := mosquittotest.Start(t, mosquittotest.Options{TLS: opts, WebSockets: true, WebSocketsTLS: true})
	for _, u := range []string{b.WebSocketURL(), b.TLSURL(), b.WebSocketTLSURL()} {
		if !strings.HasPrefix(u, "ws://127.0.0.1:") && !strings.HasPrefix(u, "mqtts://127.0.0.1:") && !strings.HasPrefix(u, "wss://127.0.0.1:") {
			t.Errorf("unexpected URL %q", u)
		}
	}
	client := ca.Issue(t, mosquittotest.CertOptions{CommonName: "device-1", Client: true})
	addr := strings.TrimPrefix(b.TLSURL(), "mqtts://")
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{client.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	if code := connect(t, conn, "", ""); code != packet.Accepted {
		t.Errorf("CONNACK return code %v, want Accepted", code)
	}
	if !strings.Contains(b.Log(), "device-1") {
		t.Errorf("the log does not show user device-1 from the certificate:\n%s", b.Log())
	}
}

func TestStop(t *testing.T) {
	b := mosquittotest.Start(t, mosquittotest.Options{})
	b.Stop()
	b.Stop() // idempotent
	if conn, err := net.DialTimeout("tcp", b.Addr(), time.Second); err == nil {
		conn.Close()
		t.Error("the broker still accepts connections after Stop")
	}
}
