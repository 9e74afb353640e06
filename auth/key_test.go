package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// testPassword is the password testdata/generate.sh encrypts every key
// with.
const testPassword = "petrel-test-password"

// keyTypes are the key types of testdata: each has <type>.key, .crt and
// .pem.
var keyTypes = []string{"rsa", "ecdsa", "ed25519"}

// encryptedFiles lists testdata's encrypted keys by key type. Every one
// holds the same key as testdata/<type>.key.
var encryptedFiles = map[string][]string{
	"rsa": {
		"rsa-genpkey-aes256.key",
		"rsa-pkcs8-aes128-sha256.key", "rsa-pkcs8-aes128-sha1.key",
		"rsa-pkcs8-aes192-sha256.key", "rsa-pkcs8-aes192-sha1.key",
		"rsa-pkcs8-aes256-sha256.key", "rsa-pkcs8-aes256-sha1.key",
		"rsa-pkcs8-des3-sha256.key",
		"rsa-legacy-aes128.key", "rsa-legacy-aes192.key", "rsa-legacy-aes256.key", "rsa-legacy-des3.key",
	},
	"ecdsa": {
		"ecdsa-pkcs8-aes128-sha256.key", "ecdsa-pkcs8-aes128-sha1.key",
		"ecdsa-pkcs8-aes192-sha256.key", "ecdsa-pkcs8-aes192-sha1.key",
		"ecdsa-pkcs8-aes256-sha256.key", "ecdsa-pkcs8-aes256-sha1.key",
		"ecdsa-pkcs8-aes256-sha512.key",
		"ecdsa-legacy-aes128.key", "ecdsa-legacy-aes192.key", "ecdsa-legacy-aes256.key", "ecdsa-legacy-des3.key",
	},
	"ed25519": {
		"ed25519-pkcs8-aes128-sha256.key", "ed25519-pkcs8-aes128-sha1.key",
		"ed25519-pkcs8-aes192-sha256.key", "ed25519-pkcs8-aes192-sha1.key",
		"ed25519-pkcs8-aes256-sha256.key", "ed25519-pkcs8-aes256-sha1.key",
	},
}

// plainFiles lists testdata's unencrypted keys by key type.
var plainFiles = map[string][]string{
	"rsa":     {"rsa.key", "rsa-pkcs1.key"},
	"ecdsa":   {"ecdsa.key", "ecdsa-sec1.key"},
	"ed25519": {"ed25519.key"},
}

// unsupportedFiles are testdata's keys in encryptions this package refuses,
// with the *UnsupportedError each must give.
var unsupportedFiles = map[string]UnsupportedError{
	"unsupported-pkcs8-aria128.key":      {What: "cipher", Name: "aria-128-cbc"},
	"unsupported-pkcs8-scrypt.key":       {What: "key derivation function", Name: "scrypt"},
	"unsupported-legacy-camellia128.key": {What: "cipher", Name: "CAMELLIA-128-CBC"},
}

func td(name string) string { return filepath.Join("testdata", name) }

// TestTestdataListed keeps the tables above in step with testdata/: a file
// generate.sh makes but no table lists would go untested.
func TestTestdataListed(t *testing.T) {
	listed := map[string]bool{"generate.sh": true, "chain.pem": true}
	for _, typ := range keyTypes {
		listed[typ+".crt"], listed[typ+".pem"] = true, true
		for _, f := range append(slices.Clone(encryptedFiles[typ]), plainFiles[typ]...) {
			listed[f] = true
		}
	}
	for f := range unsupportedFiles {
		listed[f] = true
	}
	files, err := filepath.Glob(td("*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is in testdata but in no test table", f)
		}
		delete(listed, filepath.Base(f))
	}
	for f := range listed {
		t.Errorf("%s is listed but missing from testdata; run testdata/generate.sh", f)
	}
}

func TestLoadEncrypted(t *testing.T) {
	for _, typ := range keyTypes {
		for _, f := range encryptedFiles[typ] {
			t.Run(f, func(t *testing.T) {
				t.Parallel()
				key := Key{CertFile: td(typ + ".crt"), KeyFile: td(f), Password: []byte(testPassword)}
				cert, err := key.Load()
				if err != nil {
					t.Fatalf("Load with the right password: %v", err)
				}
				checkPair(t, cert, typ)

				key.Password = []byte("wrong-password")
				_, err = key.Load()
				wantKeyError(t, err, td(f), ErrIncorrectPassword)

				key.Password = nil
				_, err = key.Load()
				wantKeyError(t, err, td(f), ErrPasswordRequired)
			})
		}
	}
}

// TestLoadUnencrypted: an unencrypted key ignores a password given for it,
// so that one configuration can carry a password whichever key it names.
func TestLoadUnencrypted(t *testing.T) {
	for _, typ := range keyTypes {
		for _, f := range plainFiles[typ] {
			for _, pw := range []string{"", "ignored"} {
				t.Run(f+"/password="+pw, func(t *testing.T) {
					cert, err := Key{CertFile: td(typ + ".crt"), KeyFile: td(f), Password: []byte(pw)}.Load()
					if err != nil {
						t.Fatal(err)
					}
					checkPair(t, cert, typ)
				})
			}
		}
	}
}

func TestLoadSingleFile(t *testing.T) {
	for _, typ := range keyTypes {
		t.Run(typ, func(t *testing.T) {
			cert, err := Key{File: td(typ + ".pem")}.Load()
			if err != nil {
				t.Fatal(err)
			}
			checkPair(t, cert, typ)
		})
	}
	t.Run("chain", func(t *testing.T) {
		// chain.pem holds, in order, the CA certificate, the encrypted key
		// and the leaf certificate: the leaf must come first in the result.
		key := Key{File: td("chain.pem"), Password: []byte(testPassword)}
		cert, err := key.Load()
		if err != nil {
			t.Fatal(err)
		}
		if len(cert.Certificate) != 2 {
			t.Fatalf("chain of %d certificates, want 2", len(cert.Certificate))
		}
		if cn := cert.Leaf.Subject.CommonName; cn != "petrel test leaf" {
			t.Errorf("Leaf is %q, want the leaf", cn)
		}
		ca, err := x509.ParseCertificate(cert.Certificate[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := cert.Leaf.CheckSignatureFrom(ca); err != nil {
			t.Errorf("second certificate did not sign the leaf: %v", err)
		}
		checkSigns(t, cert)

		key.Password = []byte("wrong")
		_, err = key.Load()
		wantKeyError(t, err, td("chain.pem"), ErrIncorrectPassword)
	})
}

func TestLoadMissingFile(t *testing.T) {
	for name, key := range map[string]Key{
		"File":     {File: td("missing.pem")},
		"CertFile": {CertFile: td("missing.crt"), KeyFile: td("rsa.key")},
		"KeyFile":  {CertFile: td("rsa.crt"), KeyFile: td("missing.key")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := key.Load()
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("err = %v, want fs.ErrNotExist", err)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || !strings.Contains(pe.Path, "missing") {
				t.Errorf("err = %v, want a *fs.PathError naming the missing file", err)
			}
			if strings.Count(err.Error(), "missing.") != 1 {
				t.Errorf("Error() = %q, want the path once", err)
			}
		})
	}
}

func TestLoadUnsupported(t *testing.T) {
	for f, want := range unsupportedFiles {
		t.Run(f, func(t *testing.T) {
			_, err := Key{CertFile: td("ecdsa.crt"), KeyFile: td(f), Password: []byte(testPassword)}.Load()
			wantKeyError(t, err, td(f), ErrUnsupported)
			var u *UnsupportedError
			if !errors.As(err, &u) || *u != want {
				t.Fatalf("err = %v, want %+v", err, want)
			}
			if !strings.Contains(err.Error(), want.Name) {
				t.Errorf("Error() = %q does not name %s", err, want.Name)
			}
		})
	}
}

func TestLoadMismatch(t *testing.T) {
	_, err := Key{CertFile: td("rsa.crt"), KeyFile: td("ecdsa-pkcs8-aes128-sha256.key"), Password: []byte(testPassword)}.Load()
	wantKeyError(t, err, td("ecdsa-pkcs8-aes128-sha256.key"), ErrKeyMismatch)
	if !strings.Contains(err.Error(), "rsa.crt") {
		t.Errorf("Error() = %q does not name the certificate file", err)
	}
	// A single file with another type's key: cert from rsa.pem, key from ed25519.pem.
	_, err = KeyPair(readFile(t, "rsa.crt"), readFile(t, "ed25519.key"), nil)
	if !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("KeyPair: err = %v, want ErrKeyMismatch", err)
	}
}

func TestLoadKeySource(t *testing.T) {
	cert := &tls.Certificate{}
	for name, key := range map[string]Key{
		"none":             {},
		"password only":    {Password: []byte("x")},
		"CertFile only":    {CertFile: td("rsa.crt")},
		"KeyFile only":     {KeyFile: td("rsa.key")},
		"File and pair":    {File: td("rsa.pem"), CertFile: td("rsa.crt"), KeyFile: td("rsa.key")},
		"Certificate+File": {Certificate: cert, File: td("rsa.pem")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := key.Load()
			wantKeyError(t, err, "", ErrKeySource)
			if set := name != "none" && name != "password only"; key.IsSet() != set {
				t.Errorf("IsSet() = %v, want %v", key.IsSet(), set)
			}
		})
	}
}

func TestLoadCertificateValue(t *testing.T) {
	rsaPair, err := tls.LoadX509KeyPair(td("rsa.crt"), td("rsa.key"))
	if err != nil {
		t.Fatal(err)
	}
	rsaPair.Leaf = nil
	cert, err := Key{Certificate: &rsaPair, Password: []byte("ignored")}.Load()
	if err != nil {
		t.Fatal(err)
	}
	checkPair(t, cert, "rsa")
	if rsaPair.Leaf != nil {
		t.Error("Load set Leaf on the caller's certificate")
	}

	ecPair, err := tls.LoadX509KeyPair(td("ecdsa.crt"), td("ecdsa.key"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cert tls.Certificate
		want error
	}{
		"mismatch":       {tls.Certificate{Certificate: rsaPair.Certificate, PrivateKey: ecPair.PrivateKey}, ErrKeyMismatch},
		"no certificate": {tls.Certificate{PrivateKey: ecPair.PrivateKey}, ErrNoCertificate},
		"no key":         {tls.Certificate{Certificate: ecPair.Certificate}, ErrNoPrivateKey},
		"bad DER":        {tls.Certificate{Certificate: [][]byte{{0x30, 0}}, PrivateKey: ecPair.PrivateKey}, ErrMalformedKey},
		"not a signer":   {tls.Certificate{Certificate: ecPair.Certificate, PrivateKey: "key"}, ErrUnsupported},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Key{Certificate: &tc.cert}.Load()
			wantKeyError(t, err, "", tc.want)
		})
	}
}

func TestKeyString(t *testing.T) {
	key := Key{CertFile: "c.crt", KeyFile: "c.key", Password: []byte("s3cret")}
	for _, s := range []string{key.String(), fmt.Sprint(key), fmt.Sprintf("%+v", key), fmt.Sprintf("%#v", key), fmt.Sprintf("%v", &key)} {
		if strings.Contains(s, "s3cret") || !strings.Contains(s, "<redacted>") || !strings.Contains(s, `"c.key"`) {
			t.Errorf("%q: want the files and a redacted password", s)
		}
	}
}

// checkPair checks that cert is testdata's certificate of typ with its key:
// the same certificate, a key of the right Go type matching it, a usable
// signer, and Leaf set.
func checkPair(t *testing.T, cert tls.Certificate, typ string) {
	t.Helper()
	want, err := tls.LoadX509KeyPair(td(typ+".crt"), td(typ+".key"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cert.Certificate, want.Certificate) {
		t.Errorf("certificate chain differs from %s.crt", typ)
	}
	if cert.Leaf == nil || !reflect.DeepEqual(cert.Leaf.Raw, want.Certificate[0]) {
		t.Fatalf("Leaf not set to the certificate")
	}
	var ok bool
	switch typ {
	case "rsa":
		_, ok = cert.PrivateKey.(*rsa.PrivateKey)
	case "ecdsa":
		_, ok = cert.PrivateKey.(*ecdsa.PrivateKey)
	case "ed25519":
		_, ok = cert.PrivateKey.(ed25519.PrivateKey)
	}
	if !ok {
		t.Errorf("PrivateKey is %T, want a %s key", cert.PrivateKey, typ)
	}
	if !cert.PrivateKey.(interface{ Equal(crypto.PrivateKey) bool }).Equal(want.PrivateKey) {
		t.Errorf("PrivateKey differs from %s.key", typ)
	}
	checkSigns(t, cert)
}

// checkSigns signs with cert's key and verifies with its leaf.
func checkSigns(t *testing.T, cert tls.Certificate) {
	t.Helper()
	msg := []byte("petrel")
	digest := sha256.Sum256(msg)
	signer := cert.PrivateKey.(crypto.Signer)
	var err error
	switch pub := cert.Leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		var sig []byte
		if sig, err = signer.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
		}
	case *ecdsa.PublicKey:
		var sig []byte
		if sig, err = signer.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil && !ecdsa.VerifyASN1(pub, digest[:], sig) {
			err = errors.New("ECDSA signature does not verify")
		}
	case ed25519.PublicKey:
		var sig []byte
		if sig, err = signer.Sign(rand.Reader, msg, crypto.Hash(0)); err == nil && !ed25519.Verify(pub, msg, sig) {
			err = errors.New("Ed25519 signature does not verify")
		}
	default:
		err = fmt.Errorf("public key %T", pub)
	}
	if err != nil {
		t.Errorf("sign and verify: %v", err)
	}
}

// wantKeyError checks that err is a *KeyError for file wrapping want.
func wantKeyError(t *testing.T, err error, file string, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	var ke *KeyError
	if !errors.As(err, &ke) {
		t.Fatalf("err = %T %v, want a *KeyError", err, err)
	}
	if ke.File != file {
		t.Errorf("KeyError.File = %q, want %q", ke.File, file)
	}
	if !strings.HasPrefix(err.Error(), "mqtt: ") || strings.Contains(err.Error()[6:], "mqtt: ") {
		t.Errorf("Error() = %q, want one mqtt: prefix", err)
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(td(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
