package transport

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// NewTLSConfig returns a client TLS configuration that trusts the
// certificate authorities in roots (nil: the system's), verifies the server
// certificate and host name, and requires TLS 1.2 or later. Add client
// certificates to its Certificates field.
func NewTLSConfig(roots *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// LoadCAFile reads PEM-encoded CA certificates from a file into a new pool,
// for NewTLSConfig or tls.Config.RootCAs. The pool holds only the file's
// certificates: with it, the system's roots are no longer trusted, as with
// Mosquitto's cafile option. It fails if the file holds no certificate.
func LoadCAFile(name string) (*x509.CertPool, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("mqtt: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for len(data) > 0 {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("mqtt: CA file %s: certificate %d: %w", name, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("mqtt: CA file %s: no PEM CERTIFICATE block found", name)
	}
	return pool, nil
}

// clientTLSConfig returns the configuration for one TLS connection to host:
// a clone of cfg (never cfg itself, which is not modified) with ServerName
// set to host when cfg has none, so that the host name is verified, and
// MinVersion raised from its zero value to TLS 1.2. A configuration that
// allows an older version explicitly is refused.
//
// Verification is skipped only when cfg.InsecureSkipVerify is true.
func clientTLSConfig(cfg *tls.Config, host string) (*tls.Config, error) {
	if cfg == nil {
		cfg = &tls.Config{}
	} else {
		if cfg.MinVersion != 0 && cfg.MinVersion < tls.VersionTLS12 {
			return nil, fmt.Errorf("%w: MinVersion is %s", ErrTLSVersion, tls.VersionName(cfg.MinVersion))
		}
		if cfg.MaxVersion != 0 && cfg.MaxVersion < tls.VersionTLS12 {
			return nil, fmt.Errorf("%w: MaxVersion is %s", ErrTLSVersion, tls.VersionName(cfg.MaxVersion))
		}
		cfg = cfg.Clone()
	}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg, nil
}

// explainTLS adds what to do to a handshake error from an untrusted
// server certificate, keeping the x509 error for errors.As.
func explainTLS(err error) error {
	if notTLS(err) {
		return fmt.Errorf("%w (the server did not answer TLS: is this a plain MQTT port? use port 8883 or turn TLS off): %w", err, ErrNotTLS)
	}
	e, ok := errors.AsType[x509.UnknownAuthorityError](err)
	if !ok || e.Cert == nil {
		return err
	}
	if bytes.Equal(e.Cert.RawIssuer, e.Cert.RawSubject) && e.Cert.CheckSignature(e.Cert.SignatureAlgorithm, e.Cert.RawTBSCertificate, e.Cert.Signature) == nil {
		return fmt.Errorf("%w (the server's certificate is self-signed; add it or its CA to tls.Config.RootCAs)", err)
	}
	return fmt.Errorf("%w (issuer %q; add that CA to tls.Config.RootCAs, see LoadCAFile)", err, e.Cert.Issuer.String())
}

// notTLS reports whether err, from a TLS handshake, is how a server that
// does not speak TLS ends it: a plain MQTT server takes the ClientHello
// for a malformed packet and closes the connection (an EOF, or a reset
// when it leaves bytes unread), or answers with bytes that are no TLS
// record.
func notTLS(err error) bool {
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}
