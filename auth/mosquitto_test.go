package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/transport"
)

// TestMosquittoClientCertificate connects to a real Mosquitto whose TLS
// listener requires a client certificate and takes the user name from it
// (require_certificate, use_identity_as_username): encrypted PEM keys, in
// PKCS#8 and in the legacy form, authenticate; no key is refused.
func TestMosquittoClientCertificate(t *testing.T) {
	ca := mosquittotest.NewCA(t, "petrel test CA")
	server := ca.ServerTLS(t)
	server.RequireCertificate = true
	server.UseIdentityAsUsername = true
	b := mosquittotest.Start(t, mosquittotest.Options{TLS: server})

	dir := t.TempDir()
	client := ca.Issue(t, mosquittotest.CertOptions{CommonName: "device-7", Client: true})
	certFile := filepath.Join(dir, "client.crt")
	if err := os.WriteFile(certFile, client.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(client.KeyPEM)
	password := []byte("correct horse")
	sec1 := mustSEC1(t, block.Bytes)
	keys := map[string]*pem.Block{
		"pkcs8-aes256-sha256": encryptPBES2(t, block.Bytes, password, pbes2Options{}),
		"legacy-aes128":       encryptLegacy(t, "EC PRIVATE KEY", sec1, password, "AES-128-CBC"),
	}
	for name, enc := range keys {
		t.Run(name, func(t *testing.T) {
			keyFile := filepath.Join(dir, name+".key")
			if err := os.WriteFile(keyFile, pem.EncodeToMemory(enc), 0o600); err != nil {
				t.Fatal(err)
			}
			// A password is set too: with a key it must not be sent.
			creds, err := Resolve("ignored-by-broker", []byte("not sent"), Key{CertFile: certFile, KeyFile: keyFile, Password: password})
			if err != nil {
				t.Fatal(err)
			}
			if creds.PasswordFlag || creds.Password != nil {
				t.Fatalf("key authentication would send a password: %v", creds)
			}
			if code, err := connectTLS(t, b.TLSURL(), creds, ca.Pool()); err != nil || code != packet.Accepted {
				t.Fatalf("CONNACK %v, %v; want accepted\nbroker log:\n%s", code, err, b.Log())
			}

			_, err = Resolve("", nil, Key{CertFile: certFile, KeyFile: keyFile, Password: []byte("wrong")})
			if !errors.Is(err, ErrIncorrectPassword) {
				t.Fatalf("wrong password: %v, want ErrIncorrectPassword", err)
			}
		})
	}

	t.Run("no key", func(t *testing.T) {
		creds, err := Resolve("device-7", nil, Key{})
		if err != nil {
			t.Fatal(err)
		}
		code, err := connectTLS(t, b.TLSURL(), creds, ca.Pool())
		if err == nil {
			t.Fatalf("connected without a client certificate: CONNACK %v", code)
		}
		// TLS 1.3 finishes the client's handshake before the server checks
		// the client's certificate: the refusal comes as the alert
		// "certificate required", or, if the CONNECT write loses the race
		// with the server's close, as a reset connection.
		if !strings.Contains(err.Error(), "certificate") && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("refused, but not for want of a certificate: %v", err)
		}
	})
}

// connectTLS dials address with creds over TLS trusting roots, sends
// CONNECT and returns the CONNACK's return code.
func connectTLS(t *testing.T, address string, creds Credentials, roots *x509.CertPool) (packet.ConnectReturnCode, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := transport.Dial(ctx, address, creds.TLSConfig(transport.NewTLSConfig(roots)))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := packet.Connect{
		ClientID: []byte("petrel-auth-test"), CleanSession: true, KeepAlive: 30,
		UsernameFlag: creds.UsernameFlag, Username: []byte(creds.Username),
		PasswordFlag: creds.PasswordFlag, Password: creds.Password,
	}
	if err := packet.NewWriter(conn).WritePacket(&c); err != nil {
		return 0, err
	}
	p, err := packet.NewReader(conn, 0).ReadPacket()
	if err != nil {
		return 0, err
	}
	ack, ok := p.(*packet.Connack)
	if !ok {
		return 0, errors.New("first packet is " + p.Type().String())
	}
	return ack.ReturnCode, nil
}

func mustSEC1(t *testing.T, pkcs8 []byte) []byte {
	t.Helper()
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		t.Fatal(err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("client key is %T, want ECDSA", k)
	}
	der, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
