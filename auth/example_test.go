package auth_test

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/petrel-mqtt/petrel/auth"
)

// The testdata keys are encrypted with this password (see
// testdata/generate.sh).
var keyPassword = []byte("petrel-test-password")

// A client with a user name and password and no key sends both.
func ExampleResolve() {
	creds, err := auth.Resolve("alice", []byte("s3cret"), auth.Key{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(creds.UsernameFlag, creds.Username, creds.PasswordFlag, string(creds.Password))
	fmt.Println(creds) // never prints the password
	// Output:
	// true alice true s3cret
	// auth.Credentials{Username: "alice", Password: <redacted>}
}

// Key authentication has priority: with a key, the user name is sent and the
// password is not.
func ExampleResolve_key() {
	key := auth.Key{CertFile: "testdata/ecdsa.crt", KeyFile: "testdata/ecdsa-pkcs8-aes256-sha256.key", Password: keyPassword}
	creds, err := auth.Resolve("alice", []byte("s3cret"), key)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(creds.UsernameFlag, creds.PasswordFlag, creds.Password == nil)
	fmt.Println(creds.Certificates[0].Leaf.Subject.CommonName)
	// Output:
	// true false true
	// petrel test ecdsa
}

// A password without a user name is refused before connecting.
func ExampleResolve_passwordWithoutUser() {
	_, err := auth.Resolve("", []byte("s3cret"), auth.Key{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, auth.ErrPasswordWithoutUser))
	// Output:
	// mqtt: UserPassword: password set without a user name (User is empty) [MQTT-3.1.2-22]
	// true
}

// One PEM file holds a chain and an encrypted key, in any order; the leaf
// comes first in the result.
func ExampleKey_Load() {
	cert, err := auth.Key{File: "testdata/chain.pem", Password: keyPassword}.Load()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(cert.Certificate), cert.Leaf.Subject.CommonName)
	// Output:
	// 2 petrel test leaf
}

// Each way a key fails to load has its own error.
func ExampleKey_Load_errors() {
	for _, key := range []auth.Key{
		{CertFile: "testdata/rsa.crt", KeyFile: "testdata/rsa-legacy-aes128.key", Password: []byte("wrong")},
		{CertFile: "testdata/rsa.crt", KeyFile: "testdata/rsa-legacy-aes128.key"},
		{File: "testdata/missing.pem"},
		{CertFile: "testdata/rsa.crt", KeyFile: "testdata/ecdsa.key"},
	} {
		_, err := key.Load()
		switch {
		case errors.Is(err, auth.ErrIncorrectPassword):
			fmt.Println("incorrect password:", err)
		case errors.Is(err, auth.ErrPasswordRequired):
			fmt.Println("password required:", err)
		case errors.Is(err, fs.ErrNotExist):
			fmt.Println("missing:", err)
		default:
			fmt.Println(err)
		}
	}
	// Output:
	// incorrect password: mqtt: key file testdata/rsa-legacy-aes128.key: incorrect key password
	// password required: mqtt: key file testdata/rsa-legacy-aes128.key: key is encrypted and no password was given
	// missing: mqtt: key: open testdata/missing.pem: no such file or directory
	// mqtt: key file testdata/ecdsa.key: private key does not match the certificate in testdata/rsa.crt
}

// An encryption the package does not implement names itself.
func ExampleUnsupportedError() {
	_, err := auth.Key{CertFile: "testdata/ecdsa.crt", KeyFile: "testdata/unsupported-pkcs8-aria128.key", Password: keyPassword}.Load()
	var u *auth.UnsupportedError
	if errors.As(err, &u) {
		fmt.Println(u.What, u.Name)
	}
	fmt.Println(err)
	// Output:
	// cipher aria-128-cbc
	// mqtt: key file testdata/unsupported-pkcs8-aria128.key: unsupported cipher aria-128-cbc
}

// KeyPair reads the certificate and key from memory.
func ExampleKeyPair() {
	certPEM, _ := os.ReadFile("testdata/ed25519.crt")
	keyPEM, _ := os.ReadFile("testdata/ed25519-pkcs8-aes128-sha1.key")
	cert, err := auth.KeyPair(certPEM, keyPEM, keyPassword)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%T\n", cert.PrivateKey)
	// Output:
	// ed25519.PrivateKey
}

// IsEncrypted tells whether to ask for a password.
func ExampleParsePrivateKey() {
	data, _ := os.ReadFile("testdata/ecdsa-legacy-des3.key")
	block, _ := pem.Decode(data)
	fmt.Println(block.Type, auth.IsEncrypted(block))
	key, err := auth.ParsePrivateKey(block, keyPassword)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%T\n", key)
	// Output:
	// EC PRIVATE KEY true
	// *ecdsa.PrivateKey
}

// TLSConfig adds the client certificate to the caller's TLS settings.
func ExampleCredentials_TLSConfig() {
	creds, err := auth.Resolve("", nil, auth.Key{File: "testdata/rsa.pem"})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := creds.TLSConfig(&tls.Config{ServerName: "broker.example", MinVersion: tls.VersionTLS12})
	fmt.Println(cfg.ServerName, len(cfg.Certificates))
	// Output:
	// broker.example 1
}
