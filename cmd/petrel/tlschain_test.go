package main

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// chainCAs are a root, two intermediates under it (int2 under int1) and a
// leaf for localhost signed by int2.
type chainCAs struct {
	root, int1, int2 *mosquittotest.CA
	leaf             *mosquittotest.Cert
}

func newChainCAs(t *testing.T) *chainCAs {
	root := mosquittotest.NewCA(t, "petrel test root")
	int1 := root.Intermediate(t, "petrel test intermediate 1")
	int2 := int1.Intermediate(t, "petrel test intermediate 2")
	return &chainCAs{root, int1, int2, int2.Issue(t, mosquittotest.CertOptions{CommonName: "broker"})}
}

// TestCompleteChain: the served chain is the leaf and its issuers found in
// the CA certificates, in order, the root left out.
func TestCompleteChain(t *testing.T) {
	c := newChainCAs(t)
	other := mosquittotest.NewCA(t, "unrelated")
	self := mosquittotest.SelfSigned(t, mosquittotest.CertOptions{CommonName: "self"})
	cat := func(cas ...*mosquittotest.CA) []byte {
		var b []byte
		for _, ca := range cas {
			b = append(b, ca.CertPEM...)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		leaf *mosquittotest.Cert
		held [][]byte // what certfile holds after the leaf
		ca   []byte
		want []*x509.Certificate // after the leaf
	}{
		{"whole chain, shuffled", c.leaf, nil, cat(other, c.int1, c.root, c.int2), []*x509.Certificate{c.int2.Cert, c.int1.Cert}},
		{"intermediates, no root", c.leaf, nil, cat(c.int2, c.int1), []*x509.Certificate{c.int2.Cert, c.int1.Cert}},
		{"first intermediate missing", c.leaf, nil, cat(c.int1, c.root), nil},
		{"second intermediate missing", c.leaf, nil, cat(c.int2, c.root), []*x509.Certificate{c.int2.Cert}},
		{"root only", c.int1.Issue(t, mosquittotest.CertOptions{}), nil, cat(c.root), nil},
		{"no cafile", c.leaf, nil, nil, nil},
		{"unrelated CA", c.leaf, nil, cat(other), nil},
		{"self-signed leaf", self, nil, cat(c.root, c.int1, c.int2), nil},
		{"certfile holds a chain", c.leaf, [][]byte{c.int2.Cert.Raw}, cat(c.int1, c.root), []*x509.Certificate{c.int2.Cert}},
		{"junk around the PEM", c.leaf, nil, append(append([]byte("junk\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), cat(c.int2, c.int1)...), "trailing"...), []*x509.Certificate{c.int2.Cert, c.int1.Cert}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert := tc.leaf.TLS
			cert.Certificate = append([][]byte{tc.leaf.Cert.Raw}, tc.held...)
			completeChain(&cert, tc.ca)
			want := [][]byte{tc.leaf.Cert.Raw}
			if tc.held != nil {
				want = append(want, tc.held...)
			} else {
				for _, w := range tc.want {
					want = append(want, w.Raw)
				}
			}
			if !slices.EqualFunc(cert.Certificate, want, slices.Equal) {
				t.Errorf("chain of %d certificates, want %d: %v", len(cert.Certificate), len(want), subjects(t, cert.Certificate))
			}
		})
	}
}

func subjects(t *testing.T, ders [][]byte) []string {
	var s []string
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			t.Fatal(err)
		}
		s = append(s, c.Subject.CommonName)
	}
	return s
}

// dialChain makes a TLS handshake with addr trusting only root, then an
// MQTT CONNECT, and returns the certificates the server sent.
func dialChain(t *testing.T, addr string, root *x509.CertPool) ([]*x509.Certificate, error) {
	t.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: root, ServerName: "localhost"})
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	c := &rawConn{nc: nc, r: packet.NewReader(nc, 1<<16)}
	c.send(t, &packet.Connect{ClientID: []byte("chain"), CleanSession: true})
	if ack, ok := c.read(t, 10*time.Second).(*packet.Connack); !ok || ack.ReturnCode != packet.Accepted {
		t.Fatalf("CONNACK %v", ack)
	}
	return nc.ConnectionState().PeerCertificates, nil
}

// TestBrokerTLSChainFromCAFile: with certfile holding the leaf alone and
// cafile its intermediates and root, a Go client and mosquitto_pub that
// trust only the root connect to petrel broker, as they do to Mosquitto
// with the same files; Petrel sends leaf and intermediates, Mosquitto the
// root as well. Without cafile they fail. capath completes the chain too.
func TestBrokerTLSChainFromCAFile(t *testing.T) {
	pub := mosquittoTool(t, "mosquitto_pub")
	c := newChainCAs(t)
	dir := t.TempDir()
	rootFile := c.root.WriteFile(t, dir)
	leafFile, keyFile := c.leaf.WriteFiles(t, dir, "server")
	chainFile := filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(chainFile, slices.Concat(c.int2.CertPEM, c.int1.CertPEM, c.root.CertPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	caPath := t.TempDir()
	for name, ca := range map[string]*mosquittotest.CA{"int1.pem": c.int1, "int2.crt": c.int2} {
		if err := os.WriteFile(filepath.Join(caPath, name), ca.CertPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"broker", "petrel test intermediate 2", "petrel test intermediate 1"}

	for _, tc := range []struct {
		name string
		args []string
		want []string // nil: the handshake fails
	}{
		{"cafile", []string{"-certfile", leafFile, "-keyfile", keyFile, "-cafile", chainFile}, want},
		{"capath", []string{"-c", writeTemp(t, "petrel.conf", "certfile "+leafFile+"\nkeyfile "+keyFile+"\ncapath "+caPath+"\n")}, want},
		{"no cafile", []string{"-certfile", leafFile, "-keyfile", keyFile}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startPetrelBroker(t, 1, append([]string{"-listen-tls", "127.0.0.1:0"}, tc.args...)...)
			certs, err := dialChain(t, b.addrs["mqtts"], c.root.Pool())
			if (err == nil) != (tc.want != nil) {
				t.Fatalf("Go client trusting the root: %v", err)
			}
			if got := subjects(t, rawCerts(certs)); tc.want != nil && !slices.Equal(got, tc.want) {
				t.Errorf("served chain %q, want %q", got, tc.want)
			}
			_, port, _ := net.SplitHostPort(b.addrs["mqtts"])
			p := startProc(t, nil, pub, "-h", "localhost", "-p", port, "--cafile", rootFile, "-t", "chain", "-m", "hi")
			if code := p.wait(t); (code == 0) != (tc.want != nil) {
				t.Errorf("mosquitto_pub --cafile root: exit code %d, stderr %q", code, p.stderr.String())
			}
			b.stop(t)
		})
	}

	// Mosquitto with the same files: the same clients connect, and it sends
	// the root too (OpenSSL's automatic chain).
	m := mosquittotest.Start(t, mosquittotest.Options{TLS: &mosquittotest.TLS{CAFile: chainFile, CertFile: leafFile, KeyFile: keyFile}})
	u := m.TLSURL()
	certs, err := dialChain(t, u[len("mqtts://"):], c.root.Pool())
	if err != nil {
		t.Fatalf("Go client against Mosquitto: %v", err)
	}
	if got, want := subjects(t, rawCerts(certs)), append(want, "petrel test root"); !slices.Equal(got, want) {
		t.Errorf("Mosquitto's served chain %q, want %q", got, want)
	}
}

func rawCerts(cs []*x509.Certificate) [][]byte {
	var ders [][]byte
	for _, c := range cs {
		ders = append(ders, c.Raw)
	}
	return ders
}
