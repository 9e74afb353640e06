package auth

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"strings"
)

// Private key PEM types this package parses. Any other type ending in
// "PRIVATE KEY" is an unsupported key format.
const (
	typePKCS8          = "PRIVATE KEY"           // RFC 5958 PrivateKeyInfo
	typeEncryptedPKCS8 = "ENCRYPTED PRIVATE KEY" // RFC 5958 EncryptedPrivateKeyInfo
	typePKCS1          = "RSA PRIVATE KEY"       // RFC 8017 RSAPrivateKey
	typeSEC1           = "EC PRIVATE KEY"        // RFC 5915 ECPrivateKey
)

// Key algorithm and curve identifiers (RFC 8017, RFC 5480, RFC 8410).
var (
	oidRSA         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidEd25519     = asn1.ObjectIdentifier{1, 3, 101, 112}
)

// supportedCurves are the named curves crypto/x509 parses: P-224, P-256,
// P-384 and P-521.
var supportedCurves = map[string]bool{
	"1.3.132.0.33": true, "1.2.840.10045.3.1.7": true, "1.3.132.0.34": true, "1.3.132.0.35": true,
}

// keyAlgorithmNames names, for error messages, key algorithms and curves
// this package recognises but cannot use.
var keyAlgorithmNames = map[string]string{
	"1.2.840.10040.4.1":     "DSA",
	"1.2.840.10046.2.1":     "DH",
	"1.2.840.113549.1.1.10": "RSASSA-PSS",
	"1.3.101.110":           "X25519",
	"1.3.101.111":           "X448",
	"1.3.101.113":           "Ed448",
	"1.2.156.10197.1.301":   "SM2",
	"1.3.132.0.10":          "secp256k1",
	"1.2.840.10045.3.1.1":   "prime192v1",
	"1.3.36.3.3.2.8.1.1.7":  "brainpoolP256r1",
	"1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1",
	"1.3.36.3.3.2.8.1.1.13": "brainpoolP512r1",
}

// parseKeyBlock decrypts b if it is encrypted and parses the key inside.
func parseKeyBlock(b *pem.Block, password []byte) (crypto.Signer, error) {
	typ := b.Type
	der := b.Bytes
	encrypted := false
	switch {
	case typ == typeEncryptedPKCS8:
		if legacyEncrypted(b) {
			return nil, malformed("ENCRYPTED PRIVATE KEY with Proc-Type or DEK-Info headers")
		}
		var err error
		if der, err = decryptPBES2(b.Bytes, password); err != nil {
			return nil, err
		}
		typ, encrypted = typePKCS8, true
	case typ != typePKCS8 && typ != typePKCS1 && typ != typeSEC1:
		return nil, &UnsupportedError{What: "key format", Name: printable(typ)}
	case legacyEncrypted(b):
		var err error
		if der, err = decryptLegacy(b, password); err != nil {
			return nil, err
		}
		encrypted = true
	}
	if encrypted {
		defer clear(der) // the parsed key holds copies
		// A wrong password decrypts to noise, which is almost never one
		// DER SEQUENCE with exactly its length. A right password that
		// yields a bad key is a malformed key, reported below.
		if !isDERSequence(der) {
			return nil, ErrIncorrectPassword
		}
	}
	switch typ {
	case typePKCS1:
		k, err := x509.ParsePKCS1PrivateKey(der)
		if err != nil {
			return nil, malformed("PKCS#1: " + trimX509(err))
		}
		return k, nil
	case typeSEC1:
		return parseSEC1(der)
	default:
		return parsePKCS8(der)
	}
}

// parsePKCS8 parses an unencrypted PrivateKeyInfo.
func parsePKCS8(der []byte) (crypto.Signer, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		var info struct {
			Version    int
			Algorithm  pkix.AlgorithmIdentifier
			PrivateKey []byte
		}
		if _, e := asn1.Unmarshal(der, &info); e == nil {
			if err := checkAlgorithm(info.Algorithm); err != nil {
				return nil, err
			}
		}
		return nil, malformed("PKCS#8: " + trimX509(err))
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	case *ecdh.PrivateKey:
		name := "ECDH"
		if k.Curve() == ecdh.X25519() {
			name = "X25519"
		}
		return nil, &UnsupportedError{What: "key type", Name: name}
	default:
		return nil, &UnsupportedError{What: "key type", Name: typeName(key)}
	}
}

// checkAlgorithm returns an *UnsupportedError for a PKCS#8 key algorithm or
// curve crypto/x509 does not parse, and nil otherwise.
func checkAlgorithm(a pkix.AlgorithmIdentifier) error {
	switch {
	case a.Algorithm.Equal(oidRSA), a.Algorithm.Equal(oidEd25519):
		return nil
	case a.Algorithm.Equal(oidECPublicKey):
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(a.Parameters.FullBytes, &curve); err != nil {
			return nil
		}
		return checkCurve(curve)
	}
	return &UnsupportedError{What: "key type", Name: keyAlgorithmName(a.Algorithm)}
}

func checkCurve(curve asn1.ObjectIdentifier) error {
	if supportedCurves[curve.String()] {
		return nil
	}
	return &UnsupportedError{What: "elliptic curve", Name: keyAlgorithmName(curve)}
}

// parseSEC1 parses an unencrypted ECPrivateKey.
func parseSEC1(der []byte) (crypto.Signer, error) {
	k, err := x509.ParseECPrivateKey(der)
	if err != nil {
		var ec struct {
			Version    int
			PrivateKey []byte
			Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
		}
		if _, e := asn1.Unmarshal(der, &ec); e == nil && len(ec.Curve) > 0 {
			if err := checkCurve(ec.Curve); err != nil {
				return nil, err
			}
		}
		return nil, malformed("SEC1: " + trimX509(err))
	}
	return k, nil
}

// isDERSequence reports whether b is exactly one DER SEQUENCE.
func isDERSequence(b []byte) bool {
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(b, &v)
	return err == nil && len(rest) == 0 &&
		v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence && v.IsCompound
}

func keyAlgorithmName(oid asn1.ObjectIdentifier) string {
	if name, ok := keyAlgorithmNames[oid.String()]; ok {
		return name
	}
	return oidName(oid)
}

// typeName names the Go type of an unusable key.
func typeName(key any) string { return fmt.Sprintf("%T", key) }

// trimX509 returns a crypto/x509 error message without its "x509: " prefix.
func trimX509(err error) string { return strings.TrimPrefix(err.Error(), "x509: ") }
