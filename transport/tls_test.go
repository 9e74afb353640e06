package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// tlsServer serves TLS with cert and writes "hello" on each connection.
// With clientCAs it requires and verifies a client certificate, and sends
// the common names it got on peers.
func tlsServer(t *testing.T, cert *mosquittotest.Cert, clientCAs *x509.CertPool, peers chan<- string) string {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	if clientCAs != nil {
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, clientCAs
	}
	return serve(t, cfg, func(c net.Conn) {
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			return
		}
		if peers != nil {
			for _, p := range tc.ConnectionState().PeerCertificates {
				peers <- p.Subject.CommonName
			}
		}
		io.WriteString(c, "hello")
		io.Copy(io.Discard, c)
	})
}

func dialTLS(address string, cfg *tls.Config) (net.Conn, error) {
	d := Dialer{TLSConfig: cfg, Timeout: 5 * time.Second}
	return d.Dial(context.Background(), address)
}

func readHello(t *testing.T, conn net.Conn) {
	t.Helper()
	defer conn.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "hello" {
		t.Fatalf("read %q, %v; want hello", buf, err)
	}
}

// TestTLSVerify checks that the default settings verify the chain, the
// host name and the validity period, and report why they refuse.
func TestTLSVerify(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	other := mosquittotest.NewCA(t, "other CA")
	now := time.Now()
	cfg := NewTLSConfig(ca.Pool())

	good := tlsServer(t, ca.Issue(t, mosquittotest.CertOptions{CommonName: "good"}), nil, nil)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		_, port, _ := net.SplitHostPort(good)
		for _, scheme := range []string{"ssl", "tls", "mqtts"} {
			conn, err := dialTLS(scheme+"://"+net.JoinHostPort(host, port), cfg)
			if err != nil {
				t.Fatalf("%s to %s: %v", scheme, host, err)
			}
			readHello(t, conn)
		}
	}

	for _, tc := range []struct {
		name  string
		cert  *mosquittotest.Cert
		check func(error) bool
		says  string
	}{
		{
			"wrong host", ca.Issue(t, mosquittotest.CertOptions{Hosts: []string{"broker.example", "10.9.9.9"}}),
			func(err error) bool { _, ok := errors.AsType[x509.HostnameError](err); return ok },
			"not 127.0.0.1",
		},
		{
			"unknown CA", other.Issue(t, mosquittotest.CertOptions{}),
			func(err error) bool { _, ok := errors.AsType[x509.UnknownAuthorityError](err); return ok },
			"unknown authority",
		},
		{
			"expired", ca.Issue(t, mosquittotest.CertOptions{NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)}),
			func(err error) bool {
				e, ok := errors.AsType[x509.CertificateInvalidError](err)
				return ok && e.Reason == x509.Expired
			},
			"is after",
		},
		{
			"not yet valid", ca.Issue(t, mosquittotest.CertOptions{NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(48 * time.Hour)}),
			func(err error) bool {
				e, ok := errors.AsType[x509.CertificateInvalidError](err)
				return ok && e.Reason == x509.Expired
			},
			"is before",
		},
		{
			"self-signed", mosquittotest.SelfSigned(t, mosquittotest.CertOptions{}),
			func(err error) bool { _, ok := errors.AsType[x509.UnknownAuthorityError](err); return ok },
			"self-signed",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tlsServer(t, tc.cert, nil, nil)
			for _, c := range []*tls.Config{cfg, nil} { // with the CA, and with the system roots
				conn, err := dialTLS("mqtts://"+addr, c)
				if err == nil {
					conn.Close()
					t.Fatal("connected")
				}
				if c == cfg {
					t.Log(err)
				}
				if c == nil && tc.name == "wrong host" {
					continue // the system roots do not know the CA either
				}
				if !tc.check(err) || !strings.Contains(err.Error(), tc.says) {
					t.Errorf("Dial: %v\nwant the x509 error saying %q", err, tc.says)
				}
				if de, ok := errors.AsType[*DialError](err); !ok || de.Op != "tls handshake" {
					t.Errorf("Dial: %v, want a *DialError for the TLS handshake", err)
				}
			}
			// Only an explicit InsecureSkipVerify lets it through.
			conn, err := dialTLS("mqtts://"+addr, &tls.Config{InsecureSkipVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			readHello(t, conn)
		})
	}
}

func TestTLSServerName(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	addr := tlsServer(t, ca.Issue(t, mosquittotest.CertOptions{Hosts: []string{"broker.example"}}), nil, nil)
	cfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "broker.example"}
	conn, err := dialTLS("mqtts://"+addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	readHello(t, conn)
}

func TestTLSClientCertificate(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	peers := make(chan string, 1)
	addr := tlsServer(t, ca.Issue(t, mosquittotest.CertOptions{}), ca.Pool(), peers)
	client := ca.Issue(t, mosquittotest.CertOptions{CommonName: "device-7", Client: true})
	cfg := NewTLSConfig(ca.Pool())
	cfg.Certificates = []tls.Certificate{client.TLS}
	conn, err := dialTLS("mqtts://"+addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	readHello(t, conn)
	if cn := <-peers; cn != "device-7" {
		t.Errorf("server saw client certificate %q, want device-7", cn)
	}
}

// TestTLSConfigNotModified checks that Dial works on a clone.
func TestTLSConfigNotModified(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	addr := tlsServer(t, ca.Issue(t, mosquittotest.CertOptions{}), nil, nil)
	cfg := &tls.Config{RootCAs: ca.Pool()}
	conn, err := dialTLS("mqtts://"+addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	readHello(t, conn)
	if cfg.ServerName != "" || cfg.MinVersion != 0 {
		t.Errorf("Dial changed the caller's config: ServerName %q MinVersion %x", cfg.ServerName, cfg.MinVersion)
	}
	if v := conn.(*tls.Conn).ConnectionState().Version; v < tls.VersionTLS12 {
		t.Errorf("negotiated %s", tls.VersionName(v))
	}
}

func TestTLSOldVersionRefused(t *testing.T) {
	for _, cfg := range []*tls.Config{
		{MinVersion: tls.VersionTLS10},
		{MinVersion: tls.VersionTLS11},
		{MaxVersion: tls.VersionTLS11},
	} {
		// No server: the config is refused before any connection.
		_, err := dialTLS("mqtts://127.0.0.1:1", cfg)
		de, ok := errors.AsType[*DialError](err)
		if !errors.Is(err, ErrTLSVersion) || !ok || de.Op != "tls config" {
			t.Errorf("Min %x Max %x: %v, want ErrTLSVersion from the tls config step", cfg.MinVersion, cfg.MaxVersion, err)
		}
	}
}

func TestLoadCAFile(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	dir := t.TempDir()
	addr := tlsServer(t, ca.Issue(t, mosquittotest.CertOptions{}), nil, nil)

	// A bundle: another CA, a key, then ours.
	other := mosquittotest.NewCA(t, "other")
	bundle := append(append(other.CertPEM, mosquittotest.SelfSigned(t, mosquittotest.CertOptions{}).KeyPEM...), ca.CertPEM...)
	name := filepath.Join(dir, "bundle.pem")
	os.WriteFile(name, bundle, 0o600)
	pool, err := LoadCAFile(name)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dialTLS("mqtts://"+addr, NewTLSConfig(pool))
	if err != nil {
		t.Fatal(err)
	}
	readHello(t, conn)

	os.WriteFile(filepath.Join(dir, "empty.pem"), []byte("not PEM"), 0o600)
	if _, err := LoadCAFile(filepath.Join(dir, "empty.pem")); err == nil || !strings.Contains(err.Error(), "no PEM CERTIFICATE") {
		t.Errorf("file without certificates: %v", err)
	}
	if _, err := LoadCAFile(filepath.Join(dir, "missing.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}
