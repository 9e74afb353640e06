package auth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	key := Key{File: td("ecdsa.pem")}
	long := strings.Repeat("u", maxField)
	type want struct {
		username     string
		usernameFlag bool
		password     string
		passwordFlag bool
		certificates int
	}
	for _, tc := range []struct {
		name     string
		user     string
		password []byte
		key      Key
		want     want
		err      error  // the sentinel the error must match
		field    string // for a *CredentialsError
		rule     string
	}{
		{name: "anonymous"},
		{name: "empty non-nil password is none", password: []byte{}},
		{name: "user", user: "alice", want: want{username: "alice", usernameFlag: true}},
		{name: "user and password", user: "alice", password: []byte("pw"),
			want: want{username: "alice", usernameFlag: true, password: "pw", passwordFlag: true}},
		{name: "user and empty password", user: "alice", password: []byte{},
			want: want{username: "alice", usernameFlag: true}},
		{name: "binary password", user: "alice", password: []byte{0, 0xff, 0},
			want: want{username: "alice", usernameFlag: true, password: "\x00\xff\x00", passwordFlag: true}},
		{name: "longest user and password", user: long, password: []byte(long),
			want: want{username: long, usernameFlag: true, password: long, passwordFlag: true}},

		{name: "password without user", password: []byte("pw"),
			err: ErrPasswordWithoutUser, field: "UserPassword", rule: "MQTT-3.1.2-22"},
		{name: "user too long", user: long + "u", err: ErrTooLong, field: "User", rule: "1.5.3"},
		{name: "password too long", user: "alice", password: []byte(long + "p"),
			err: ErrTooLong, field: "UserPassword", rule: "3.1.3.5"},
		{name: "user ill-formed UTF-8", user: "al\xffice", err: ErrInvalidUsername, field: "User", rule: "MQTT-1.5.3-1"},
		{name: "user encoded surrogate", user: "\xed\xa0\x80", err: ErrInvalidUsername, field: "User", rule: "MQTT-1.5.3-1"},
		{name: "user with U+0000", user: "al\x00ice", err: ErrInvalidUsername, field: "User", rule: "MQTT-1.5.3-2"},

		// Key authentication has priority: no password is sent, whatever
		// UserPassword holds.
		{name: "key", key: key, want: want{certificates: 1}},
		{name: "key and user", user: "alice", key: key,
			want: want{username: "alice", usernameFlag: true, certificates: 1}},
		{name: "key, user and password", user: "alice", password: []byte("pw"), key: key,
			want: want{username: "alice", usernameFlag: true, certificates: 1}},
		{name: "key and password without user", password: []byte("pw"), key: key,
			want: want{certificates: 1}},
		{name: "key needs its own password", user: "alice", password: []byte(testPassword),
			key: Key{File: td("chain.pem")}, err: ErrPasswordRequired},
		{name: "encrypted key", user: "alice", password: []byte("pw"),
			key:  Key{File: td("chain.pem"), Password: []byte(testPassword)},
			want: want{username: "alice", usernameFlag: true, certificates: 1}},
		// A key that fails to load never falls back to the password.
		{name: "missing key file", user: "alice", password: []byte("pw"),
			key: Key{File: td("missing.pem")}, err: fs.ErrNotExist},
		{name: "half-set key", user: "alice", password: []byte("pw"),
			key: Key{CertFile: td("rsa.crt")}, err: ErrKeySource},
		{name: "user checked with a key", user: "\xff", key: key, err: ErrInvalidUsername, field: "User", rule: "MQTT-1.5.3-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Resolve(tc.user, tc.password, tc.key)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				var ce *CredentialsError
				if errors.As(err, &ce) != (tc.field != "") {
					t.Fatalf("err = %T %v; want a *CredentialsError: %v", err, err, tc.field != "")
				}
				if ce != nil && (ce.Field != tc.field || ce.Rule != tc.rule) {
					t.Errorf("CredentialsError{Field: %q, Rule: %q}, want %q, %q", ce.Field, ce.Rule, tc.field, tc.rule)
				}
				if c.UsernameFlag || c.PasswordFlag || c.Password != nil || c.Certificates != nil {
					t.Errorf("Credentials = %v with an error, want zero", c)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{c.Username, c.UsernameFlag, string(c.Password), c.PasswordFlag, len(c.Certificates)}
			if got != tc.want {
				t.Errorf("Resolve = %+v\nwant       %+v", got, tc.want)
			}
			if !c.PasswordFlag && c.Password != nil {
				t.Errorf("Password = %q without PasswordFlag", c.Password)
			}
		})
	}
}

// TestResolvePasswordWithoutUserMessage checks the message a user sees for
// [MQTT-3.1.2-22]: it names both parameters and the rule.
func TestResolvePasswordWithoutUserMessage(t *testing.T) {
	_, err := Resolve("", []byte("pw"), Key{})
	const want = "mqtt: UserPassword: password set without a user name (User is empty) [MQTT-3.1.2-22]"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	_, err = Resolve("alice", []byte(strings.Repeat("p", maxField+1)), Key{})
	if got := fmt.Sprint(err); got != "mqtt: UserPassword: longer than 65,535 bytes (section 3.1.3.5)" {
		t.Errorf("err = %s", got)
	}
}

func TestResolveCopiesPassword(t *testing.T) {
	pw := []byte("secret")
	c, err := Resolve("alice", pw, Key{})
	if err != nil {
		t.Fatal(err)
	}
	clear(pw)
	if string(c.Password) != "secret" {
		t.Errorf("Password = %q after the caller cleared its slice", c.Password)
	}
}

func TestCredentialsString(t *testing.T) {
	c, err := Resolve("alice", []byte("s3cret"), Key{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprint(&c)} {
		if s != `auth.Credentials{Username: "alice", Password: <redacted>}` {
			t.Errorf("got %s", s)
		}
	}
	if s := (Credentials{}).String(); s != "auth.Credentials{}" {
		t.Errorf("zero Credentials: %s", s)
	}
}

func TestCredentialsTLSConfig(t *testing.T) {
	c, err := Resolve("", nil, Key{File: td("rsa.pem")})
	if err != nil {
		t.Fatal(err)
	}
	base := &tls.Config{ServerName: "broker.example", MinVersion: tls.VersionTLS12}
	cfg := c.TLSConfig(base)
	if cfg == base || base.Certificates != nil {
		t.Fatal("TLSConfig modified base instead of cloning it")
	}
	if cfg.ServerName != "broker.example" || cfg.MinVersion != tls.VersionTLS12 || len(cfg.Certificates) != 1 {
		t.Errorf("TLSConfig = ServerName %q, MinVersion %x, %d certificates", cfg.ServerName, cfg.MinVersion, len(cfg.Certificates))
	}
	if cfg := c.TLSConfig(nil); len(cfg.Certificates) != 1 {
		t.Errorf("TLSConfig(nil) has %d certificates", len(cfg.Certificates))
	}
	own := tls.Certificate{Certificate: [][]byte{{1}}}
	if cfg := (Credentials{}).TLSConfig(&tls.Config{Certificates: []tls.Certificate{own}}); len(cfg.Certificates) != 1 {
		t.Errorf("password credentials dropped the base config's certificates")
	}
}

// TestHandshake presents each loaded key in a real TLS handshake to a
// server that requires and verifies a client certificate.
func TestHandshake(t *testing.T) {
	serverCert, err := tls.LoadX509KeyPair(td("ecdsa.crt"), td("ecdsa.key"))
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]Key{
		"rsa":     {CertFile: td("rsa.crt"), KeyFile: td("rsa-legacy-aes256.key"), Password: []byte(testPassword)},
		"ecdsa":   {CertFile: td("ecdsa.crt"), KeyFile: td("ecdsa-pkcs8-aes128-sha1.key"), Password: []byte(testPassword)},
		"ed25519": {CertFile: td("ed25519.crt"), KeyFile: td("ed25519-pkcs8-aes256-sha256.key"), Password: []byte(testPassword)},
		"chain":   {File: td("chain.pem"), Password: []byte(testPassword)},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			creds, err := Resolve("alice", []byte("ignored"), key)
			if err != nil {
				t.Fatal(err)
			}
			// The server trusts the last certificate of the chain: the
			// self-signed certificate itself, or the CA of chain.pem.
			chain := creds.Certificates[0].Certificate
			root, err := x509.ParseCertificate(chain[len(chain)-1])
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AddCert(root)

			cc, sc := net.Pipe()
			defer cc.Close()
			defer sc.Close()
			server := tls.Server(sc, &tls.Config{
				Certificates: []tls.Certificate{serverCert},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    pool,
			})
			// The test server's certificate has no name to verify.
			client := tls.Client(cc, creds.TLSConfig(&tls.Config{InsecureSkipVerify: true}))
			done := make(chan error, 1)
			go func() { done <- server.Handshake() }()
			if err := client.Handshake(); err != nil {
				t.Fatalf("client handshake: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("server handshake: %v", err)
			}
			peer := server.ConnectionState().PeerCertificates
			if len(peer) == 0 || !peer[0].Equal(creds.Certificates[0].Leaf) {
				t.Errorf("server saw %d certificates, not the leaf first", len(peer))
			}
		})
	}
}
