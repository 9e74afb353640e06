package auth

import (
	"bytes"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keyErrors are the classes every key error falls in.
var keyErrors = []error{
	ErrMalformedKey, ErrIncorrectPassword, ErrPasswordRequired, ErrUnsupported,
	ErrNoPrivateKey, ErrNoCertificate, ErrKeyMismatch,
}

// checkKnown fails unless err is nil or a *KeyError of a known class.
func checkKnown(t testing.TB, err error, input string) {
	t.Helper()
	if err == nil {
		return
	}
	var ke *KeyError
	if !errors.As(err, &ke) {
		t.Fatalf("%s: err = %T %v, want a *KeyError", input, err, err)
	}
	for _, class := range keyErrors {
		if errors.Is(err, class) {
			return
		}
	}
	t.Fatalf("%s: err = %v is in no known class", input, err)
}

func TestMalformedPBES2(t *testing.T) {
	pw := []byte("pw")
	keys := testKeys(t)
	der := keys[1].pkcs8
	good := encryptPBES2(t, der, pw, pbes2Options{Iterations: 1})
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(good.Bytes, &info); err != nil {
		t.Fatal(err)
	}
	// withInfo re-marshals good with a change.
	withInfo := func(change func(*encryptedPrivateKeyInfo)) *pem.Block {
		i := info
		change(&i)
		b, err := asn1.Marshal(i)
		if err != nil {
			t.Fatal(err)
		}
		return &pem.Block{Type: typeEncryptedPKCS8, Bytes: b}
	}
	// withParams replaces the PBES2 parameters.
	withParams := func(params any) *pem.Block {
		return withInfo(func(i *encryptedPrivateKeyInfo) { i.Algorithm.Parameters = rawValue(t, params) })
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		t.Fatal(err)
	}
	otherSalt := params
	otherSalt.KeyDerivationFunc.Parameters = rawValue(t, struct {
		Salt       pkix.AlgorithmIdentifier
		Iterations int
	}{pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 3}}, 1})
	intSalt := params
	intSalt.KeyDerivationFunc.Parameters = rawValue(t, struct{ Salt, Iterations int }{5, 1})

	for _, tc := range []struct {
		name  string
		block *pem.Block
		want  error
		what  string // UnsupportedError.What
		alg   string // UnsupportedError.Name
	}{
		{"iterations 0", encryptPBES2(t, der, pw, pbes2Options{Iterations: -1, NoEncrypt: true}), ErrMalformedKey, "", ""},
		{"iterations too many", encryptPBES2(t, der, pw, pbes2Options{Iterations: maxIterations + 1, NoEncrypt: true}), ErrMalformedKey, "", ""},
		{"key length", encryptPBES2(t, der, pw, pbes2Options{Iterations: 1, KeyLength: 16}), ErrMalformedKey, "", ""},
		{"IV length", encryptPBES2(t, der, pw, pbes2Options{Iterations: 1, IVLength: 8}), ErrMalformedKey, "", ""},
		{"ciphertext length", withInfo(func(i *encryptedPrivateKeyInfo) { i.EncryptedData = i.EncryptedData[1:] }), ErrMalformedKey, "", ""},
		{"empty ciphertext", withInfo(func(i *encryptedPrivateKeyInfo) { i.EncryptedData = nil }), ErrMalformedKey, "", ""},
		{"ciphertext cut a block short", withInfo(func(i *encryptedPrivateKeyInfo) { i.EncryptedData = i.EncryptedData[:len(i.EncryptedData)-16] }), ErrIncorrectPassword, "", ""},
		{"trailing data", &pem.Block{Type: typeEncryptedPKCS8, Bytes: append(bytes.Clone(good.Bytes), 0)}, ErrMalformedKey, "", ""},
		{"params not a SEQUENCE", withInfo(func(i *encryptedPrivateKeyInfo) { i.Algorithm.Parameters = asn1.NullRawValue }), ErrMalformedKey, "", ""},
		{"params missing", withInfo(func(i *encryptedPrivateKeyInfo) { i.Algorithm.Parameters = asn1.RawValue{} }), ErrMalformedKey, "", ""},
		{"salt an INTEGER", withParams(intSalt), ErrMalformedKey, "", ""},
		{"legacy headers too", &pem.Block{Type: typeEncryptedPKCS8, Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: good.Bytes}, ErrMalformedKey, "", ""},

		{"AES-GCM", encryptPBES2(t, der, pw, pbes2Options{Cipher: oidAES256GCM}), ErrUnsupported, "cipher", "aes-256-gcm"},
		{"unknown cipher", encryptPBES2(t, der, pw, pbes2Options{Cipher: oidUnknownTest}), ErrUnsupported, "cipher", oidUnknownTest},
		{"hmacWithMD5", encryptPBES2(t, der, pw, pbes2Options{PRF: oidHMACMD5}), ErrUnsupported, "PRF", "hmacWithMD5"},
		{"unknown PRF", encryptPBES2(t, der, pw, pbes2Options{PRF: oidUnknownTest}), ErrUnsupported, "PRF", oidUnknownTest},
		{"scrypt", encryptPBES2(t, der, pw, pbes2Options{KDF: oidScryptKDF}), ErrUnsupported, "key derivation function", "scrypt"},
		{"salt otherSource", withParams(otherSalt), ErrUnsupported, "salt source", "otherSource"},
		{"PKCS#12 PBE", withInfo(func(i *encryptedPrivateKeyInfo) {
			i.Algorithm.Algorithm = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
		}), ErrUnsupported, "encryption scheme", "pbeWithSHAAnd3-KeyTripleDES-CBC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePrivateKey(tc.block, pw)
			checkError(t, err, tc.want, tc.what, tc.alg)
		})
	}
}

func TestMalformedLegacy(t *testing.T) {
	pw := []byte("pw")
	k := testKeys(t)[1]
	good := encryptLegacy(t, k.trad, k.tradDER, pw, "AES-128-CBC")
	with := func(headers map[string]string, data []byte) *pem.Block {
		b := &pem.Block{Type: good.Type, Headers: map[string]string{}, Bytes: good.Bytes}
		for h, v := range good.Headers {
			b.Headers[h] = v
		}
		for h, v := range headers {
			if v == "-" {
				delete(b.Headers, h)
			} else {
				b.Headers[h] = v
			}
		}
		if data != nil {
			b.Bytes = data
		}
		return b
	}
	iv := strings.TrimPrefix(good.Headers["DEK-Info"], "AES-128-CBC,")
	for _, tc := range []struct {
		name  string
		block *pem.Block
		want  error
		what  string
		alg   string
	}{
		{"lowercase cipher name", with(map[string]string{"DEK-Info": "aes-128-cbc," + iv}, nil), nil, "", ""},
		{"no DEK-Info", with(map[string]string{"DEK-Info": "-"}, nil), ErrMalformedKey, "", ""},
		{"no Proc-Type", with(map[string]string{"Proc-Type": "-"}, nil), ErrMalformedKey, "", ""},
		{"Proc-Type 3", with(map[string]string{"Proc-Type": "3,ENCRYPTED"}, nil), ErrMalformedKey, "", ""},
		{"no IV", with(map[string]string{"DEK-Info": "AES-128-CBC"}, nil), ErrMalformedKey, "", ""},
		{"IV not hex", with(map[string]string{"DEK-Info": "AES-128-CBC,XYZ"}, nil), ErrMalformedKey, "", ""},
		{"IV short", with(map[string]string{"DEK-Info": "AES-128-CBC," + iv[:16]}, nil), ErrMalformedKey, "", ""},
		{"empty IV", with(map[string]string{"DEK-Info": "AES-128-CBC,"}, nil), ErrMalformedKey, "", ""},
		{"ciphertext length", with(nil, good.Bytes[1:]), ErrMalformedKey, "", ""},
		{"no ciphertext", with(nil, []byte{}), ErrMalformedKey, "", ""},
		{"AES-GCM", with(map[string]string{"DEK-Info": "AES-256-GCM," + iv}, nil), ErrUnsupported, "cipher", "AES-256-GCM"},
		{"control characters", with(map[string]string{"DEK-Info": "X\x1b[31m," + iv}, nil), ErrUnsupported, "cipher", `"X\x1b[31m"`},
		{"DSA key format", &pem.Block{Type: "DSA PRIVATE KEY", Headers: good.Headers, Bytes: good.Bytes}, ErrUnsupported, "key format", "DSA PRIVATE KEY"},
		{"OpenSSH key format", &pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte("openssh-key-v1\x00")}, ErrUnsupported, "key format", "OPENSSH PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePrivateKey(tc.block, pw)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkError(t, err, tc.want, tc.what, tc.alg)
		})
	}
}

func checkError(t *testing.T, err, want error, what, name string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	checkKnown(t, err, "")
	if what != "" {
		var u *UnsupportedError
		if !errors.As(err, &u) || u.What != what || u.Name != name {
			t.Fatalf("err = %#v, want What %q Name %q", err, what, name)
		}
	}
}

func TestMalformedPEM(t *testing.T) {
	cert, key := readFile(t, "ecdsa.crt"), readFile(t, "ecdsa-sec1.key")
	ecParams := "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
	badCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 3, 1, 2, 3}})
	for _, tc := range []struct {
		name      string
		cert, key []byte
		want      error
	}{
		{"EC PARAMETERS skipped", cert, append([]byte(ecParams), key...), nil},
		{"text around blocks", append([]byte("subject=CN = x\n"), cert...), append(key, "trailing text\n"...), nil},
		{"CRLF line endings", bytes.ReplaceAll(cert, []byte("\n"), []byte("\r\n")), bytes.ReplaceAll(key, []byte("\n"), []byte("\r\n")), nil},
		{"empty", nil, nil, ErrNoCertificate},
		{"no certificate", key, key, ErrNoCertificate},
		{"no key", cert, cert, ErrNoPrivateKey},
		{"DER, not PEM", cert, []byte{0x30, 0x03, 0x02, 0x01, 0x01}, ErrNoPrivateKey},
		{"two keys", cert, append(bytes.Clone(key), key...), ErrMalformedKey},
		{"truncated key", cert, key[:len(key)-20], ErrMalformedKey},
		{"truncated certificate", cert[:len(cert)-30], key, ErrMalformedKey},
		{"bad base64", cert, bytes.Replace(key, []byte("M"), []byte("*"), 1), ErrMalformedKey},
		{"bad certificate DER", badCert, key, ErrMalformedKey},
		{"bad key DER", cert, pem.EncodeToMemory(&pem.Block{Type: typeSEC1, Bytes: []byte{0x30, 0}}), ErrMalformedKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := KeyPair(tc.cert, tc.key, nil)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkError(t, err, tc.want, "", "")
		})
	}
	if _, err := ParsePrivateKey(nil, nil); !errors.Is(err, ErrNoPrivateKey) {
		t.Errorf("ParsePrivateKey(nil): err = %v", err)
	}
}

func TestUnpad(t *testing.T) {
	for _, tc := range []struct {
		last  []byte // the last block
		n     int    // bytes of data in it, or -1 for bad padding
		block int
	}{
		{bytes.Repeat([]byte{16}, 16), 0, 16},
		{append(bytes.Repeat([]byte{'a'}, 15), 1), 15, 16},
		{append(bytes.Repeat([]byte{'a'}, 12), 4, 4, 4, 4), 12, 16},
		{append(bytes.Repeat([]byte{'a'}, 12), 3, 4, 4, 4), -1, 16},
		{append(bytes.Repeat([]byte{'a'}, 15), 0), -1, 16},
		{append(bytes.Repeat([]byte{17}, 15), 17), -1, 16},
		{append(bytes.Repeat([]byte{'a'}, 15), 0xff), -1, 16},
		{[]byte{1, 2, 3, 4, 5, 3, 3, 3}, 5, 8},
		{[]byte{9, 9, 9, 9, 9, 9, 9, 9}, -1, 8},
		{[]byte{8, 8, 8, 8, 8, 8, 8, 8}, 0, 8},
	} {
		b := append(bytes.Repeat([]byte{'x'}, tc.block), tc.last...) // a first block, not padding
		n, ok := unpad(b, tc.block)
		if want := tc.n >= 0; ok != want || ok && n != tc.block+tc.n {
			t.Errorf("unpad(%x) = %d, %v; want %d, %v", tc.last, n, ok, tc.block+tc.n, want)
		}
	}
}

func TestBytesToKey(t *testing.T) {
	// `openssl enc -aes-256-cbc -P -md md5 -S 0102030405060708 -pass
	// pass:password` prints EVP_BytesToKey's output as key and IV: three
	// MD5 rounds.
	const want = "e7b0971e52ca5cc8d0539fb3412f6316f7ba2e6ee293d9f3457b99436b51ce02" + "8d450e2ed75a84a923d4eac9fe49226b"
	salt := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	for _, n := range []int{8, 16, 24, 32, 48} {
		if got := hex.EncodeToString(bytesToKey([]byte("password"), salt, n)); got != want[:2*n] {
			t.Errorf("bytesToKey(%d) = %s, want %s", n, got, want[:2*n])
		}
	}
}

// TestTruncated feeds every prefix of every testdata file, and of the DER
// inside each key block: no panic, and only known errors.
func TestTruncated(t *testing.T) {
	files := testdataFiles(t)
	pw := []byte(testPassword)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			for n := range len(data) - 1 { // the whole file is TestLoad*'s
				b, err := findKeyBlock(data[:n])
				if err == nil {
					_, err = parseKeyBlock(b, pw)
				}
				if err != nil {
					checkKnown(t, &KeyError{Err: err}, "prefix")
				}
			}
			block, err := findKeyBlock(data)
			if err != nil {
				return // a certificate
			}
			for n := range len(block.Bytes) {
				b := *block
				b.Bytes = block.Bytes[:n]
				_, err := ParsePrivateKey(&b, pw)
				if err == nil {
					t.Fatalf("DER prefix of %d bytes parsed", n)
				}
				checkKnown(t, err, "DER prefix")
			}
		})
	}
}

// TestMutated flips each byte of encrypted keys: no panic, only known
// errors. The keys use one PBKDF2 iteration, to keep it fast.
func TestMutated(t *testing.T) {
	pw := []byte("pw")
	k := testKeys(t)[1]
	for name, block := range map[string]*pem.Block{
		"pbes2":  encryptPBES2(t, k.pkcs8, pw, pbes2Options{Iterations: 1, Cipher: oidAES128CBC}),
		"legacy": encryptLegacy(t, k.trad, k.tradDER, pw, "DES-EDE3-CBC"),
	} {
		t.Run(name, func(t *testing.T) {
			for i := range block.Bytes {
				for _, mask := range []byte{0x01, 0x80, 0xff} {
					b := *block
					b.Bytes = bytes.Clone(block.Bytes)
					b.Bytes[i] ^= mask
					_, err := ParsePrivateKey(&b, pw)
					checkKnown(t, err, "mutation")
				}
			}
		})
	}
}

// TestGarbage parses random bytes as each key type, with and without
// encryption headers.
func TestGarbage(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'p', 'e', 't', 'r', 'e', 'l'}))
	headers := []map[string]string{
		nil,
		{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"},
		{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "DES-CBC,0011223344556677"},
	}
	for range 2000 {
		data := make([]byte, rng.IntN(300))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		if len(data) > 2 && rng.IntN(2) == 0 { // mostly-valid DER framing
			data[0], data[1] = 0x30, byte(len(data)-2)
		}
		for _, typ := range []string{typePKCS8, typeEncryptedPKCS8, typePKCS1, typeSEC1} {
			for _, h := range headers {
				_, err := ParsePrivateKey(&pem.Block{Type: typ, Headers: h, Bytes: data}, []byte("pw"))
				if err == nil {
					t.Fatalf("garbage %x parsed as %s", data, typ)
				}
				checkKnown(t, err, "garbage")
			}
		}
		_, err := KeyPair(data, data, []byte("pw"))
		checkKnown(t, err, "garbage PEM")
	}
}

// testdataFiles lists the key and certificate files of testdata.
func testdataFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.key", "*.crt", "*.pem"} {
		m, err := filepath.Glob(td(pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 40 {
		t.Fatalf("found %d testdata files; run testdata/generate.sh", len(files))
	}
	return files
}

// FuzzKeyPair feeds arbitrary files to KeyPair and every block of them to
// ParsePrivateKey. Seeded with testdata.
func FuzzKeyPair(f *testing.F) {
	for _, file := range testdataFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	pw := []byte(testPassword)
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := KeyPair(data, data, pw)
		checkKnown(t, err, "KeyPair")
		for rest := data; ; {
			var b *pem.Block
			if b, rest = pem.Decode(rest); b == nil {
				break
			}
			_, err := ParsePrivateKey(b, pw)
			checkKnown(t, err, "ParsePrivateKey")
		}
	})
}
