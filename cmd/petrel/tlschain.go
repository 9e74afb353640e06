package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
)

// maxChain bounds the certificates completeChain sends, the leaf included.
const maxChain = 8

// completeChain completes the served chain of cert from the CA
// certificates in caPEM (cafile and capath), as Mosquitto does through
// OpenSSL's automatic chain building: when certfile holds the leaf alone,
// the issuers found among the CAs are sent after it, up to the root. A
// certfile that holds more than the leaf is served as it is, as OpenSSL
// does.
//
// Unlike OpenSSL, the self-signed root is not sent: a client can only
// trust the chain if it holds the root already, and TLS lets the server
// omit it (RFC 5246 section 7.4.2, RFC 8446 section 4.4.2).
//
// The chain is built by walking issuers (subject and signature), not by
// x509.Certificate.Verify: Verify stops at the first certificate of its
// root pool, so with every CA of cafile as a root it would stop at the
// first intermediate; and, like OpenSSL, an incomplete chain (cafile
// holding an intermediate but not its root) is still sent as far as it
// goes.
func completeChain(cert *tls.Certificate, caPEM []byte) {
	if len(cert.Certificate) != 1 {
		return
	}
	c, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return // tls.X509KeyPair has parsed it; not reached
	}
	cas := pemCertificates(caPEM)
	for len(cert.Certificate) < maxChain && !selfSigned(c) {
		var parent *x509.Certificate
		for _, ca := range cas {
			if bytes.Equal(ca.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(ca) == nil {
				parent = ca
				break
			}
		}
		if parent == nil || selfSigned(parent) {
			return
		}
		cert.Certificate = append(cert.Certificate, parent.Raw)
		c = parent
	}
}

// selfSigned reports whether c is a root: issued and signed by itself.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(c) == nil
}

// pemCertificates returns the certificates of the PEM blocks in b that
// parse, skipping anything else, as x509.CertPool.AppendCertsFromPEM does.
func pemCertificates(b []byte) []*x509.Certificate {
	var cs []*x509.Certificate
	for len(b) > 0 {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			cs = append(cs, c)
		}
	}
	return cs
}
