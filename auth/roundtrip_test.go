package auth

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// generatedKey is a key made by the test, with its encodings.
type generatedKey struct {
	name    string
	signer  crypto.Signer
	pkcs8   []byte
	trad    string // "RSA PRIVATE KEY" or "EC PRIVATE KEY"; "" for Ed25519
	tradDER []byte
}

// generatedKeys are made once: RSA 2048 takes a while under -race.
var generatedKeys = sync.OnceValues(func() ([]generatedKey, error) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	keys := []generatedKey{
		{name: "rsa", signer: rsaKey, trad: typePKCS1, tradDER: x509.MarshalPKCS1PrivateKey(rsaKey)},
		{name: "p256", signer: p256, trad: typeSEC1},
		{name: "p384", signer: p384, trad: typeSEC1},
		{name: "ed25519", signer: edKey},
	}
	for i := range keys {
		k := &keys[i]
		if k.pkcs8, err = x509.MarshalPKCS8PrivateKey(k.signer); err != nil {
			return nil, err
		}
		if ec, ok := k.signer.(*ecdsa.PrivateKey); ok {
			if k.tradDER, err = x509.MarshalECPrivateKey(ec); err != nil {
				return nil, err
			}
		}
	}
	return keys, nil
})

func testKeys(t testing.TB) []generatedKey {
	t.Helper()
	keys, err := generatedKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestRoundTripPBES2(t *testing.T) {
	password := []byte("round trip")
	for _, k := range testKeys(t) {
		for _, c := range []struct{ name, oid string }{
			{"aes-128-cbc", oidAES128CBC}, {"aes-192-cbc", oidAES192CBC}, {"aes-256-cbc", oidAES256CBC},
			{"des-ede3-cbc", oidDESEDE3CBC}, {"des-cbc", oidDESCBC},
		} {
			for _, prf := range []struct{ name, oid string }{
				{"sha1-default", "omit"}, {"sha1", oidHMACSHA1}, {"sha224", oidHMACSHA224},
				{"sha256", oidHMACSHA256}, {"sha384", oidHMACSHA384}, {"sha512", oidHMACSHA512},
			} {
				t.Run(k.name+"/"+c.name+"/"+prf.name, func(t *testing.T) {
					t.Parallel()
					keyLen, _, _ := testCipher(c.oid)
					block := encryptPBES2(t, k.pkcs8, password, pbes2Options{Cipher: c.oid, PRF: prf.oid, Iterations: 100, KeyLength: keyLen})
					checkRoundTrip(t, block, password, k.signer)
				})
			}
		}
	}
}

func TestRoundTripLegacy(t *testing.T) {
	password := []byte("round trip")
	for _, k := range testKeys(t) {
		for _, c := range []string{"AES-128-CBC", "AES-192-CBC", "AES-256-CBC", "DES-EDE3-CBC", "DES-CBC"} {
			t.Run(k.name+"/"+c, func(t *testing.T) {
				t.Parallel()
				// Traditional formats where the key type has one, and
				// PKCS#8 under legacy headers (`openssl pkey -aes128
				// -traditional` is PKCS#8 for Ed25519) for all.
				if k.trad != "" {
					checkRoundTrip(t, encryptLegacy(t, k.trad, k.tradDER, password, c), password, k.signer)
				}
				checkRoundTrip(t, encryptLegacy(t, typePKCS8, k.pkcs8, password, c), password, k.signer)
			})
		}
	}
}

// checkRoundTrip decrypts block with the right password, a wrong one and
// none.
func checkRoundTrip(t *testing.T, block *pem.Block, password []byte, want crypto.Signer) {
	t.Helper()
	if !IsEncrypted(block) {
		t.Error("IsEncrypted = false")
	}
	got, err := ParsePrivateKey(block, password)
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	if !got.(interface{ Equal(crypto.PrivateKey) bool }).Equal(want) {
		t.Fatalf("decrypted a different key")
	}
	for _, wrong := range []string{"round trip ", "Round trip", "x", "round tri"} {
		if _, err := ParsePrivateKey(block, []byte(wrong)); !errors.Is(err, ErrIncorrectPassword) {
			t.Fatalf("password %q: err = %v, want ErrIncorrectPassword", wrong, err)
		}
	}
	if _, err := ParsePrivateKey(block, nil); !errors.Is(err, ErrPasswordRequired) {
		t.Fatalf("no password: err = %v, want ErrPasswordRequired", err)
	}
}

// TestRoundTripKeyPair loads a generated certificate with its encrypted key
// through KeyPair and Key.Load, from memory and from files.
func TestRoundTripKeyPair(t *testing.T) {
	password := []byte("pair")
	dir := t.TempDir()
	for _, k := range testKeys(t) {
		t.Run(k.name, func(t *testing.T) {
			certPEM := selfSigned(t, k.signer)
			keyPEM := pem.EncodeToMemory(encryptPBES2(t, k.pkcs8, password, pbes2Options{Iterations: 10}))
			cert, err := KeyPair(certPEM, keyPEM, password)
			if err != nil {
				t.Fatal(err)
			}
			checkSigns(t, cert)

			// One file, key first.
			single := filepath.Join(dir, k.name+".pem")
			if err := os.WriteFile(single, append(append([]byte{}, keyPEM...), certPEM...), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := (Key{File: single, Password: password}).Load(); err != nil {
				t.Fatal(err)
			}
			_, err = Key{File: single, Password: []byte("wrong")}.Load()
			wantKeyError(t, err, single, ErrIncorrectPassword)
		})
	}
}

// TestDecryptedNotAKey: with the right password, DER that is not a usable
// key is a malformed or unsupported key, not a wrong password.
func TestDecryptedNotAKey(t *testing.T) {
	password := []byte("pw")
	notAKey, _ := asn1.Marshal(struct{ A, B int }{1, 2})
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519DER, err := x509.MarshalPKCS8PrivateKey(x25519)
	if err != nil {
		t.Fatal(err)
	}
	dsaDER := pkcs8With(t, asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}, nil)
	k256DER := pkcs8With(t, oidECPublicKey, asn1.ObjectIdentifier{1, 3, 132, 0, 10})
	secp256k1SEC1, _ := asn1.Marshal(struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"explicit,tag:0"`
	}{1, make([]byte, 32), asn1.ObjectIdentifier{1, 3, 132, 0, 10}})

	for _, tc := range []struct {
		name     string
		typ      string
		der      []byte
		want     error
		wantName string
	}{
		{"PKCS#8 of nothing", typePKCS8, notAKey, ErrMalformedKey, ""},
		{"PKCS#1 of nothing", typePKCS1, notAKey, ErrMalformedKey, ""},
		{"SEC1 of nothing", typeSEC1, notAKey, ErrMalformedKey, ""},
		{"X25519", typePKCS8, x25519DER, ErrUnsupported, "X25519"},
		{"DSA", typePKCS8, dsaDER, ErrUnsupported, "DSA"},
		{"secp256k1 PKCS#8", typePKCS8, k256DER, ErrUnsupported, "secp256k1"},
		{"secp256k1 SEC1", typeSEC1, secp256k1SEC1, ErrUnsupported, "secp256k1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			blocks := []*pem.Block{
				{Type: tc.typ, Bytes: tc.der},
				encryptLegacy(t, tc.typ, tc.der, password, "AES-128-CBC"),
			}
			if tc.typ == typePKCS8 {
				blocks = append(blocks, encryptPBES2(t, tc.der, password, pbes2Options{Iterations: 1}))
			}
			for _, b := range blocks {
				_, err := ParsePrivateKey(b, password)
				if !errors.Is(err, tc.want) {
					t.Fatalf("%s: err = %v, want %v", b.Type, err, tc.want)
				}
				var u *UnsupportedError
				if tc.wantName != "" && (!errors.As(err, &u) || u.Name != tc.wantName) {
					t.Errorf("%s: err = %v, want it to name %s", b.Type, err, tc.wantName)
				}
			}
		})
	}
}

// TestEncryptorsAgainstOpenSSL checks the test encryptors themselves: the
// openssl command line must read what they write. Without openssl it skips.
func TestEncryptorsAgainstOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("no openssl")
	}
	password := []byte("openssl")
	k := testKeys(t)[1] // P-256
	dir := t.TempDir()
	for name, block := range map[string]*pem.Block{
		"pbes2-aes192-sha512": encryptPBES2(t, k.pkcs8, password, pbes2Options{Cipher: oidAES192CBC, PRF: oidHMACSHA512}),
		"pbes2-des3-sha1":     encryptPBES2(t, k.pkcs8, password, pbes2Options{Cipher: oidDESEDE3CBC, PRF: "omit"}),
		"legacy-aes256":       encryptLegacy(t, k.trad, k.tradDER, password, "AES-256-CBC"),
		"legacy-des3":         encryptLegacy(t, k.trad, k.tradDER, password, "DES-EDE3-CBC"),
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, name+".key")
			if err := os.WriteFile(f, pem.EncodeToMemory(block), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(openssl, "pkey", "-in", f, "-passin", "pass:"+string(password)).Output()
			if err != nil {
				t.Fatalf("openssl pkey: %v", err)
			}
			b, _ := pem.Decode(out)
			if b == nil || b.Type != typePKCS8 {
				t.Fatalf("openssl wrote %q", out)
			}
			got, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil || !k.signer.(*ecdsa.PrivateKey).Equal(got) {
				t.Fatalf("openssl decrypted another key (%v)", err)
			}
		})
	}
}

// pkcs8With returns a PrivateKeyInfo for an algorithm, with a curve as
// parameters when given.
func pkcs8With(t *testing.T, alg, curve asn1.ObjectIdentifier) []byte {
	t.Helper()
	ai := pkix.AlgorithmIdentifier{Algorithm: alg}
	if curve != nil {
		ai.Parameters = rawValue(t, curve)
	}
	der, err := asn1.Marshal(struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{0, ai, []byte{4, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// selfSigned returns a PEM certificate for key.
func selfSigned(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "petrel generated"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
