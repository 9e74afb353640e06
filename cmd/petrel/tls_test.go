package main

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// keyPassword encrypts the client keys of these tests.
const keyPassword = "correct horse"

// clientFiles are a CA and a client certificate it issued, whose key is
// encrypted with keyPassword.
type clientFiles struct {
	ca                *mosquittotest.CA
	caFile            string
	certFile, keyFile string // the certificate; the encrypted key
	bothFile          string // the certificate and the encrypted key in one file
}

// newClientFiles writes a CA and a client certificate with a key encrypted
// by "openssl pkcs8 -topk8 -v2 aes-256-cbc", as users make them. Without
// openssl the test is skipped, or fails if CI is "true".
func newClientFiles(t *testing.T) *clientFiles {
	t.Helper()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl not found (CI=true: a missing tool fails the test)")
		}
		t.Skip("openssl not found")
	}
	dir := t.TempDir()
	ca := mosquittotest.NewCA(t, "petrel test CA")
	client := ca.Issue(t, mosquittotest.CertOptions{CommonName: "petrel-client", Client: true})
	certFile, plainKey := client.WriteFiles(t, dir, "client")
	f := &clientFiles{ca: ca, caFile: ca.WriteFile(t, dir), certFile: certFile, keyFile: filepath.Join(dir, "client-encrypted.key")}
	out, err := exec.Command(openssl, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", plainKey, "-out", f.keyFile,
		"-passout", "pass:"+keyPassword).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	encrypted, err := os.ReadFile(f.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(encrypted, []byte("ENCRYPTED PRIVATE KEY")) {
		t.Fatalf("openssl wrote no encrypted key:\n%s", encrypted)
	}
	f.bothFile = filepath.Join(dir, "client.pem")
	if err := os.WriteFile(f.bothFile, append(client.CertPEM, encrypted...), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestClientCertificate publishes over TLS to a broker that requires a
// client certificate, with an encrypted key, its password from each
// source.
func TestClientCertificate(t *testing.T) {
	f := newClientFiles(t)
	server := f.ca.ServerTLS(t)
	server.RequireCertificate = true
	b := startBroker(t, mosquittotest.Options{TLS: server})
	u, err := url.Parse(b.TLSURL())
	if err != nil {
		t.Fatal(err)
	}
	tlsFlags := []string{"-h", "127.0.0.1", "-p", u.Port(), "-t", "petrel/tls"}
	sub := start(t, nil, nil, subArgs(b, "-t", "petrel/tls", "-C", "4", "-i", "petrel-tls-sub")...)
	waitSubscribed(t, b, "petrel-tls-sub", 0, "petrel/tls")

	// The built command, the password in a flag, QoS 1.
	mustExec(t, "", join([]string{"pub", "--cafile", f.caFile, "--cert", f.certFile, "--key", f.keyFile,
		"--key-password", keyPassword, "-m", "flag", "-q", "1"}, tlsFlags)...)

	// In the test process (at QoS 0: see TestPubInProcess), the password in
	// the environment, the broker as an mqtts:// URL, the key in the
	// certificate's file.
	pub := start(t, nil, map[string]string{keyPasswordEnv: keyPassword}, "pub", "-L", b.TLSURL()+"/petrel/tls",
		"--cafile", f.caFile, "--cert", f.bothFile, "-m", "environment")
	pub.check(t, exitOK, "")

	// The prompt, as when standard input is a terminal.
	var prompt string
	e := &env{stdin: strings.NewReader(""), stdout: new(syncBuffer), stderr: new(syncBuffer), getenv: func(string) string { return "" },
		password: func(_ context.Context, p string) ([]byte, error) {
			prompt = p
			return []byte(keyPassword), nil
		}}
	args := join([]string{"pub", "--cafile", f.caFile, "--cert", f.certFile, "--key", f.keyFile, "-m", "prompt"}, tlsFlags)
	if code := run(context.Background(), e, args); code != exitOK {
		t.Errorf("prompt: exit code %d, stderr %q", code, e.stderr.(*syncBuffer).String())
	}
	if want := "Password for the key in " + f.keyFile + ": "; prompt != want {
		t.Errorf("prompt %q, want %q", prompt, want)
	}

	// --insecure: no CA, a warning.
	pub = start(t, nil, nil, join([]string{"pub", "--insecure", "--cert", f.certFile, "--key", f.keyFile,
		"--key-password", keyPassword, "-m", "insecure"}, tlsFlags)...)
	pub.check(t, exitOK, "")
	if stderr := pub.stderr.String(); !strings.Contains(stderr, "WARNING: --insecure: the server's certificate is NOT verified") {
		t.Errorf("--insecure: stderr %q, want the warning", stderr)
	}
	sub.check(t, exitOK, "flag\nenvironment\nprompt\ninsecure\n")

	// What goes wrong.
	for _, c := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"wrong password", []string{"--cafile", f.caFile, "--cert", f.certFile, "--key", f.keyFile, "--key-password", "wrong"},
			exitUsage, []string{"petrel: --key: key file " + f.keyFile + ": incorrect key password (the password came from --key-password)"}},
		{"no password", []string{"--cafile", f.caFile, "--cert", f.certFile, "--key", f.keyFile},
			exitUsage, []string{"the key is encrypted: give --key-password, set PETREL_KEY_PASSWORD"}},
		{"no client certificate", []string{"--cafile", f.caFile},
			exitConnect, []string{"petrel: ", "(if the broker requires a client certificate, give --cert and --key)"}},
		{"unknown CA", []string{"--tls", "--cert", f.certFile, "--key", f.keyFile, "--key-password", keyPassword},
			exitConnect, []string{"petrel: dial mqtts://127.0.0.1:" + u.Port(), "tls handshake", "x509: certificate signed by unknown authority", "give the CA certificate that signed the broker's with --cafile"}},
	} {
		code, stdout, stderr := petrel(t, "", join([]string{"pub"}, c.args, tlsFlags, []string{"-m", "x"})...)
		if code != c.code || stdout != "" {
			t.Errorf("%s: exit code %d, stdout %q, stderr %q; want %d", c.name, code, stdout, stderr, c.code)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q does not hold %q", c.name, stderr, w)
			}
		}
	}
}

// TestKeyPassword checks where the password of an encrypted key comes from,
// and the errors that name its source.
func TestKeyPassword(t *testing.T) {
	f := newClientFiles(t)
	prompt := func(password string, err error) func(context.Context, string) ([]byte, error) {
		return func(context.Context, string) ([]byte, error) { return []byte(password), err }
	}
	tests := []struct {
		name     string
		flags    []string
		env      string
		password func(context.Context, string) ([]byte, error)
		want     string // in the error; "" for success
	}{
		{name: "flag", flags: []string{"--key-password", keyPassword}},
		{name: "environment", env: keyPassword},
		{name: "flag before environment", flags: []string{"--key-password", keyPassword}, env: "wrong"},
		{name: "prompt", password: prompt(keyPassword, nil)},
		{name: "environment before prompt", env: keyPassword, password: prompt("wrong", nil)},
		{name: "wrong flag", flags: []string{"--key-password", "wrong"}, want: "incorrect key password (the password came from --key-password)"},
		{name: "wrong environment", env: "wrong", want: "incorrect key password (the password came from PETREL_KEY_PASSWORD)"},
		{name: "wrong prompt", password: prompt("wrong", nil), want: "incorrect key password (the password came from the prompt)"},
		{name: "prompt fails", password: prompt("", errors.New("no password typed")),
			want: "could not be read (no password typed): give --key-password or set PETREL_KEY_PASSWORD"},
		{name: "no terminal", want: "the key is encrypted: give --key-password, set PETREL_KEY_PASSWORD, or run petrel from a terminal"},
	}
	for _, tt := range tests {
		for _, files := range [][]string{{"--cert", f.certFile, "--key", f.keyFile}, {"--cert", f.bothFile}} {
			t.Run(tt.name+" "+filepath.Base(files[len(files)-1]), func(t *testing.T) {
				var fl connFlags
				fs := pubFlagSet(&fl, new(pubFlags))
				if err := fl.parse(fs, append(files, tt.flags...)); err != nil {
					t.Fatal(err)
				}
				e := &env{stderr: new(bytes.Buffer), password: tt.password, getenv: func(k string) string {
					if k == keyPasswordEnv {
						return tt.env
					}
					return ""
				}}
				cfg, err := fl.config(context.Background(), e)
				switch {
				case tt.want == "" && err != nil:
					t.Fatal(err)
				case tt.want == "" && (cfg.PrivateKey.Certificate == nil || cfg.PrivateKey.Certificate.Leaf.Subject.CommonName != "petrel-client"):
					t.Errorf("PrivateKey %v, want the loaded certificate", cfg.PrivateKey)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
					t.Errorf("error %v, want it to hold %q", err, tt.want)
				}
			})
		}
	}
}
