package auth

import (
	"crypto/tls"
	"os"
	"strconv"
	"strings"
)

// Key is the PrivateKey and PrivateKeyPassword connection parameters: the
// client certificate and private key a client authenticates with in the TLS
// handshake. Exactly one source is set:
//
//   - Certificate, a certificate and key already loaded;
//   - File, a single PEM file holding the certificate chain and the key, in
//     any order;
//   - CertFile and KeyFile, a PEM certificate chain and a PEM key.
//
// The zero Key is no key. Password decrypts an encrypted key and is ignored
// for an unencrypted one or a Certificate; see ParsePrivateKey for the
// formats. A Key is plain data; Load does not modify it.
type Key struct {
	Certificate *tls.Certificate
	File        string
	CertFile    string
	KeyFile     string
	Password    []byte
}

// IsSet reports whether any source of k is set. A Key with a source set
// wrongly (CertFile without KeyFile, two sources) is set: Load reports the
// mistake rather than letting a client fall back to password
// authentication.
func (k Key) IsSet() bool {
	return k.Certificate != nil || k.File != "" || k.CertFile != "" || k.KeyFile != ""
}

// Load reads and checks the certificate and key: the key decrypts with
// Password, and its public half matches the leaf certificate. The result
// has Leaf set. Errors are *KeyError values wrapping ErrKeySource when the
// sources are not exactly one; the error of reading a file, which matches
// fs.ErrNotExist when it is missing; or the errors of KeyPair.
func (k Key) Load() (tls.Certificate, error) {
	n := 0
	if k.Certificate != nil {
		n++
	}
	if k.File != "" {
		n++
	}
	if k.CertFile != "" || k.KeyFile != "" {
		n++
		if k.CertFile == "" || k.KeyFile == "" {
			n = -1
		}
	}
	switch {
	case n != 1:
		return tls.Certificate{}, &KeyError{Err: ErrKeySource}
	case k.Certificate != nil:
		return checkCertificate(*k.Certificate)
	case k.File != "":
		data, err := os.ReadFile(k.File)
		if err != nil {
			return tls.Certificate{}, &KeyError{File: k.File, Err: err}
		}
		defer clear(data)
		return keyPair(data, data, k.Password, k.File, k.File)
	}
	certPEM, err := os.ReadFile(k.CertFile)
	if err != nil {
		return tls.Certificate{}, &KeyError{File: k.CertFile, Err: err}
	}
	keyPEM, err := os.ReadFile(k.KeyFile)
	if err != nil {
		return tls.Certificate{}, &KeyError{File: k.KeyFile, Err: err}
	}
	defer clear(keyPEM)
	return keyPair(certPEM, keyPEM, k.Password, k.CertFile, k.KeyFile)
}

// String describes k without its password, for logs: for example
// auth.Key{File: "client.pem", Password: <redacted>}.
func (k Key) String() string {
	var b strings.Builder
	b.WriteString("auth.Key{")
	sep := ""
	field := func(name, value string) {
		b.WriteString(sep + name + ": " + value)
		sep = ", "
	}
	if k.Certificate != nil {
		field("Certificate", "<set>")
	}
	if k.File != "" {
		field("File", strconv.Quote(k.File))
	}
	if k.CertFile != "" {
		field("CertFile", strconv.Quote(k.CertFile))
	}
	if k.KeyFile != "" {
		field("KeyFile", strconv.Quote(k.KeyFile))
	}
	if len(k.Password) > 0 {
		field("Password", "<redacted>")
	}
	b.WriteByte('}')
	return b.String()
}

// GoString is String, so that %#v does not print the password either.
func (k Key) GoString() string { return k.String() }
