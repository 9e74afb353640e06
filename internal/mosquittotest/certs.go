package mosquittotest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority made for one test, with an ECDSA P-256
// key.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM []byte
}

// NewCA returns a new CA whose certificate has the given common name.
func NewCA(t testing.TB, commonName string) *CA {
	t.Helper()
	key := newKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"petrel test"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	cert, certPEM := sign(t, tmpl, tmpl, key, key)
	return &CA{Cert: cert, Key: key, CertPEM: certPEM}
}

// Pool returns a new pool that holds only the CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// WriteFile writes the CA's certificate in PEM to dir/ca.pem and returns
// the path.
func (ca *CA) WriteFile(t testing.TB, dir string) string {
	t.Helper()
	return writeFile(t, filepath.Join(dir, "ca.pem"), ca.CertPEM)
}

// CertOptions describe a certificate to issue.
type CertOptions struct {
	CommonName string
	// Hosts are the DNS names and IP addresses the certificate is valid
	// for. Nil means localhost, 127.0.0.1 and ::1 for a server
	// certificate, and none for a client certificate.
	Hosts []string
	// NotBefore and NotAfter bound the validity; zero means an hour ago
	// and a day from now.
	NotBefore, NotAfter time.Time
	// Client makes a certificate for client authentication rather than
	// for a server.
	Client bool
}

// Cert is an issued certificate and its private key.
type Cert struct {
	Cert    *x509.Certificate
	CertPEM []byte          // the certificate, PEM-encoded
	KeyPEM  []byte          // the private key, PEM-encoded PKCS #8
	TLS     tls.Certificate // for tls.Config.Certificates
}

// Issue returns a certificate signed by ca.
func (ca *CA) Issue(t testing.TB, o CertOptions) *Cert {
	t.Helper()
	key := newKey(t)
	tmpl := leafTemplate(t, o)
	return finish(t, tmpl, ca.Cert, key, ca.Key)
}

// SelfSigned returns a certificate signed by its own key.
func SelfSigned(t testing.TB, o CertOptions) *Cert {
	t.Helper()
	key := newKey(t)
	tmpl := leafTemplate(t, o)
	return finish(t, tmpl, tmpl, key, key)
}

// WriteFiles writes the certificate and key in PEM to dir/name.crt and
// dir/name.key and returns the paths.
func (c *Cert) WriteFiles(t testing.TB, dir, name string) (certFile, keyFile string) {
	t.Helper()
	return writeFile(t, filepath.Join(dir, name+".crt"), c.CertPEM),
		writeFile(t, filepath.Join(dir, name+".key"), c.KeyPEM)
}

// ServerTLS issues a server certificate for localhost, 127.0.0.1 and ::1,
// writes it, its key and the CA's certificate into a new temporary
// directory, and returns the TLS options of a broker listener using them.
func (ca *CA) ServerTLS(t testing.TB) *TLS {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile := ca.Issue(t, CertOptions{CommonName: "mosquitto"}).WriteFiles(t, dir, "server")
	return &TLS{CAFile: ca.WriteFile(t, dir), CertFile: certFile, KeyFile: keyFile}
}

func leafTemplate(t testing.TB, o CertOptions) *x509.Certificate {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: o.CommonName, Organization: []string{"petrel test"}},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(24 * time.Hour)
	}
	hosts := o.Hosts
	if o.Client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else if hosts == nil {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return tmpl
}

func finish(t testing.TB, tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, parentKey crypto.Signer) *Cert {
	t.Helper()
	cert, certPEM := sign(t, tmpl, parent, key, parentKey)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return &Cert{
		Cert:    cert,
		CertPEM: certPEM,
		KeyPEM:  keyPEM,
		TLS:     tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert},
	}
}

func sign(t testing.TB, tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, parentKey crypto.Signer) (*x509.Certificate, []byte) {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}
