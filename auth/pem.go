package auth

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strconv"
	"strings"
)

// KeyPair returns a TLS client certificate from PEM data: the certificate
// chain in certPEM and the private key in keyPEM, decrypted with password
// if it is encrypted. It is tls.X509KeyPair plus encrypted keys and chains
// in any order. certPEM and keyPEM may be the same bytes, a
// single PEM file holding both.
//
// certPEM must hold at least one CERTIFICATE block, and keyPEM exactly one
// block whose type ends in "PRIVATE KEY"; other blocks (such as the EC
// PARAMETERS that `openssl ecparam -genkey` writes) are skipped, a block
// that does not decode is an error. The certificate whose public key matches
// the private key becomes the leaf, first in the chain and in Leaf; the
// others follow in their order. If none matches, the error wraps
// ErrKeyMismatch.
//
// See ParsePrivateKey for the key formats and the meaning of password.
// Errors are *KeyError values.
func KeyPair(certPEM, keyPEM, password []byte) (tls.Certificate, error) {
	return keyPair(certPEM, keyPEM, password, "", "")
}

// ParsePrivateKey returns the private key of a PEM block, decrypting it
// with password if it is encrypted. The key is an *rsa.PrivateKey, an
// *ecdsa.PrivateKey or an ed25519.PrivateKey.
//
// The block types are "PRIVATE KEY" (PKCS#8, RFC 5958), "RSA PRIVATE KEY"
// (PKCS#1, RFC 8017) and "EC PRIVATE KEY" (SEC1, RFC 5915), unencrypted or
// with OpenSSL's legacy "Proc-Type: 4,ENCRYPTED" headers (AES-128/192/256-CBC,
// DES-EDE3-CBC or DES-CBC), and "ENCRYPTED PRIVATE KEY" (PKCS#8 with PBES2,
// RFC 8018: PBKDF2 with HMAC-SHA1, SHA-224, SHA-256, SHA-384 or SHA-512, and
// AES-128/192/256-CBC, DES-EDE3-CBC or DES-CBC).
//
// An unencrypted key ignores password. An encrypted key with an empty
// password fails with ErrPasswordRequired, and with a wrong one with
// ErrIncorrectPassword: the padding is wrong, or what decrypts is not a DER
// structure. A key that decrypts to well-formed DER that is not a usable key
// is ErrMalformedKey, or an *UnsupportedError for a key type such as DSA.
// Errors are *KeyError values; ParsePrivateKey never panics, whatever the
// block holds.
func ParsePrivateKey(block *pem.Block, password []byte) (crypto.Signer, error) {
	if block == nil {
		return nil, &KeyError{Err: ErrNoPrivateKey}
	}
	k, err := parseKeyBlock(block, password)
	if err != nil {
		return nil, &KeyError{Err: err}
	}
	return k, nil
}

// IsEncrypted reports whether block holds an encrypted private key: an
// "ENCRYPTED PRIVATE KEY", or a block with legacy encryption headers. A
// caller can use it to ask for a password only when one is needed.
func IsEncrypted(block *pem.Block) bool {
	return block != nil && (block.Type == typeEncryptedPKCS8 || legacyEncrypted(block))
}

// keyPair is KeyPair naming the files the PEM came from in its errors.
func keyPair(certPEM, keyPEM, password []byte, certFile, keyFile string) (tls.Certificate, error) {
	certs, err := parseCertificates(certPEM)
	if err != nil {
		return tls.Certificate{}, &KeyError{File: certFile, Err: err}
	}
	block, err := findKeyBlock(keyPEM)
	if err != nil {
		return tls.Certificate{}, &KeyError{File: keyFile, Err: err}
	}
	key, err := parseKeyBlock(block, password)
	clear(block.Bytes) // decoded by findKeyBlock; the key holds copies
	if err != nil {
		return tls.Certificate{}, &KeyError{File: keyFile, Err: err}
	}
	leaf := -1
	for i, c := range certs {
		if publicKeyEqual(c.PublicKey, key.Public()) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		err := error(ErrKeyMismatch)
		if certFile != keyFile {
			err = &messageError{Msg: ErrKeyMismatch.Error() + " in " + certFile, Err: ErrKeyMismatch}
		}
		return tls.Certificate{}, &KeyError{File: keyFile, Err: err}
	}
	chain := make([][]byte, 0, len(certs))
	chain = append(chain, certs[leaf].Raw)
	for i, c := range certs {
		if i != leaf {
			chain = append(chain, c.Raw)
		}
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: certs[leaf]}, nil
}

// checkCertificate checks a tls.Certificate given as a value: it needs a
// certificate and a private key, and the first certificate must carry the
// key's public half. It returns a copy with Leaf set.
func checkCertificate(c tls.Certificate) (tls.Certificate, error) {
	if len(c.Certificate) == 0 {
		return tls.Certificate{}, &KeyError{Err: ErrNoCertificate}
	}
	if c.PrivateKey == nil {
		return tls.Certificate{}, &KeyError{Err: ErrNoPrivateKey}
	}
	signer, ok := c.PrivateKey.(crypto.Signer)
	if !ok {
		return tls.Certificate{}, &KeyError{Err: &UnsupportedError{What: "key type", Name: typeName(c.PrivateKey)}}
	}
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return tls.Certificate{}, &KeyError{Err: malformed("certificate: " + trimX509(err))}
		}
	}
	if !publicKeyEqual(leaf.PublicKey, signer.Public()) {
		return tls.Certificate{}, &KeyError{Err: ErrKeyMismatch}
	}
	c.Leaf = leaf
	return c, nil
}

// parseCertificates returns the CERTIFICATE blocks of data, parsed.
func parseCertificates(data []byte) ([]*x509.Certificate, error) {
	blocks, err := decodePEM(data)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for _, b := range blocks {
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, malformed("certificate " + strconv.Itoa(len(certs)+1) + ": " + trimX509(err))
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	return certs, nil
}

// findKeyBlock returns the one private key block of data.
func findKeyBlock(data []byte) (*pem.Block, error) {
	blocks, err := decodePEM(data)
	if err != nil {
		return nil, err
	}
	var key *pem.Block
	n := 0
	for _, b := range blocks {
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			key = b
			n++
		}
	}
	switch n {
	case 0:
		return nil, ErrNoPrivateKey
	case 1:
		return key, nil
	}
	return nil, malformed(strconv.Itoa(n) + " private key blocks, want one")
}

// decodePEM returns every PEM block of data. pem.Decode skips a block it
// cannot decode (bad base64, a missing END line); decodePEM counts the BEGIN
// lines and reports such a block, truncated or corrupt, as ErrMalformedKey.
func decodePEM(data []byte) ([]*pem.Block, error) {
	var blocks []*pem.Block
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	begins := bytes.Count(data, []byte("\n-----BEGIN "))
	if bytes.HasPrefix(data, []byte("-----BEGIN ")) {
		begins++
	}
	if len(blocks) < begins {
		return nil, malformed("a PEM block is truncated or corrupt")
	}
	return blocks, nil
}

// publicKeyEqual reports whether a and b are the same public key. The
// public keys of crypto/rsa, crypto/ecdsa and crypto/ed25519 all have an
// Equal method.
func publicKeyEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
