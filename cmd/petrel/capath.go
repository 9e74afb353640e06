package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"

	"os"
	"path/filepath"
)

// loadCAPath adds to pool the CA certificates of the PEM files in dir
// (--capath): every regular file holding at least one certificate, so
// that neither the ".crt" ending nor "openssl rehash" that mosquitto
// needs is required. A directory without any is an error.
func loadCAPath(pool *x509.CertPool, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return usageErr("--capath: %v", err)
	}
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(name)
		if err != nil {
			return usageErr("--capath: %v", err)
		}
		for len(data) > 0 {
			var block *pem.Block
			if block, data = pem.Decode(data); block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return usageErr("--capath %s: %s: %v", dir, e.Name(), err)
			}
			pool.AddCert(cert)
			n++
		}
	}
	if n == 0 {
		return usageErr("--capath %s: no PEM certificate in the directory's files: put the CA certificates there, or give one file with --cafile", dir)
	}
	return nil
}

// tlsVersions are the values of --tls-version, mosquitto's names.
var tlsVersions = map[string]uint16{"tlsv1.3": tls.VersionTLS13, "tlsv1.2": tls.VersionTLS12, "tlsv1.1": tls.VersionTLS11}

// tlsVersion returns the TLS version --tls-version names.
func tlsVersion(v string) (uint16, error) {
	if n, ok := tlsVersions[v]; ok {
		return n, nil
	}
	return 0, usageErr("--tls-version %q: give tlsv1.3, tlsv1.2 or tlsv1.1 (the only version the client will then speak)", v)
}
