// Package auth turns a client's authentication parameters into what it
// presents to an MQTT 3.1.1 server (OASIS Standard, 29 October 2014,
// https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html): the
// user name and password of CONNECT (section 3.1.3.4 and 3.1.3.5), or a TLS
// client certificate. It produces data and does no network I/O.
//
// # The rule
//
// The parameters are User, UserPassword, PrivateKey and
// PrivateKeyPassword. Resolve applies the rule between them: key
// authentication has priority, so when a key is set the client presents its
// certificate and sends the user name without any password; otherwise it
// sends the user name and password; a password without a user name is
// refused [MQTT-3.1.2-22] before any connection is made.
//
//	creds, err := auth.Resolve(user, password, auth.Key{File: "client.pem", Password: keyPassword})
//	cfg := creds.TLSConfig(&tls.Config{ServerName: host})
//	connect := packet.Connect{
//		UsernameFlag: creds.UsernameFlag, Username: []byte(creds.Username),
//		PasswordFlag: creds.PasswordFlag, Password: creds.Password,
//	}
//
// # Keys
//
// A Key names a client certificate and its private key: a tls.Certificate
// value, one PEM file with the chain and the key, or a certificate file and
// a key file. Key.Load, KeyPair and ParsePrivateKey read RSA, ECDSA and
// Ed25519 keys in PKCS#8, PKCS#1 and SEC1, unencrypted or encrypted the
// ways OpenSSL writes them: PKCS#8 with PBES2 (RFC 8018: PBKDF2 with
// HMAC-SHA1 or SHA-2, AES-CBC or DES-EDE3-CBC) and OpenSSL's legacy PEM
// encryption ("Proc-Type: 4,ENCRYPTED", AES-CBC or DES-EDE3-CBC). They
// check that the key matches its certificate. The package implements the
// decryption itself on the standard library's primitives
// (x509.DecryptPEMBlock is deprecated and knows no PKCS#8).
//
// # Errors
//
// Every error is a *CredentialsError or a *KeyError wrapping a sentinel of
// this package, an *UnsupportedError, or the file system's error; test them
// with errors.Is and errors.As. The key errors keep apart what a user must
// fix differently: a missing file (fs.ErrNotExist), a missing password
// (ErrPasswordRequired), a wrong one (ErrIncorrectPassword), a damaged file
// (ErrMalformedKey), a key of another certificate (ErrKeyMismatch), and an
// encryption this package does not implement (an *UnsupportedError that
// names it, matching ErrUnsupported). No input makes the parsers panic.
//
// # Concurrency
//
// The functions of this package are safe for concurrent use. Key and
// Credentials are plain data: share them read-only, or give each goroutine
// its own. Their String methods never print a password.
package auth
