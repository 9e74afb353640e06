package mosquittotest

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"
)

// Intermediate returns a new CA whose certificate is signed by ca: an
// intermediate CA, for certificate chains longer than a leaf and its root.
func (ca *CA) Intermediate(t testing.TB, commonName string) *CA {
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
	cert, certPEM := sign(t, tmpl, ca.Cert, key, ca.Key)
	return &CA{Cert: cert, Key: key, CertPEM: certPEM}
}
