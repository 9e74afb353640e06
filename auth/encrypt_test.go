package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"hash"
	"strings"
	"testing"
)

// Test-only encryptors: the inverse of pbes2.go and legacy.go, written from
// RFC 8018 and OpenSSL's PEM_write_bio rather than by calling the code under
// test, so that a round trip checks the decryptors against an independent
// implementation. TestEncryptorsAgainstOpenSSL checks these against the
// openssl command line when it is installed.

// Dotted OIDs for the encryptors' parameters.
const (
	oidAES128CBC   = "2.16.840.1.101.3.4.1.2"
	oidAES192CBC   = "2.16.840.1.101.3.4.1.22"
	oidAES256CBC   = "2.16.840.1.101.3.4.1.42"
	oidDESEDE3CBC  = "1.2.840.113549.3.7"
	oidDESCBC      = "1.3.14.3.2.7"
	oidHMACSHA1    = "1.2.840.113549.2.7"
	oidHMACSHA224  = "1.2.840.113549.2.8"
	oidHMACSHA256  = "1.2.840.113549.2.9"
	oidHMACSHA384  = "1.2.840.113549.2.10"
	oidHMACSHA512  = "1.2.840.113549.2.11"
	oidAES256GCM   = "2.16.840.1.101.3.4.1.46"
	oidHMACMD5     = "1.2.840.113549.2.6"
	oidScryptKDF   = "1.3.6.1.4.1.11591.4.11"
	oidUnknownTest = "1.3.6.1.4.1.99999.1"
)

// pbes2Options are the parameters of a test encryption. The zero value is
// AES-256-CBC, hmacWithSHA256, 2,048 iterations, as OpenSSL 3 writes.
type pbes2Options struct {
	Cipher     string // dotted OID; default AES-256-CBC
	PRF        string // dotted OID; "" writes hmacWithSHA256, "omit" leaves the field out (hmacWithSHA1)
	KDF        string // dotted OID; default PBKDF2
	Iterations int    // default 2048
	KeyLength  int    // written when non-zero
	IVLength   int    // default: the cipher's block size
	NoEncrypt  bool   // write garbage, for parameters the decryptor must refuse before deriving
}

// encryptPBES2 wraps a PKCS#8 PrivateKeyInfo in an "ENCRYPTED PRIVATE KEY"
// block.
func encryptPBES2(t testing.TB, der, password []byte, o pbes2Options) *pem.Block {
	t.Helper()
	if o.Cipher == "" {
		o.Cipher = oidAES256CBC
	}
	if o.KDF == "" {
		o.KDF = "1.2.840.113549.1.5.12"
	}
	if o.Iterations == 0 {
		o.Iterations = 2048
	}
	keyLen, blockSize, newBlock := testCipher(o.Cipher)
	if o.IVLength == 0 {
		o.IVLength = blockSize
	}
	salt := randBytes(t, 8)
	iv := randBytes(t, o.IVLength)

	type prfParams struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue
	}
	type kdfParams struct {
		Salt       []byte
		Iterations int
		KeyLength  int       `asn1:"optional"`
		PRF        prfParams `asn1:"optional"`
	}
	prf, h := o.PRF, testPRF(o.PRF)
	if prf == "" {
		prf = oidHMACSHA256
	}
	kp := kdfParams{Salt: salt, Iterations: o.Iterations, KeyLength: o.KeyLength}
	if prf != "omit" {
		kp.PRF = prfParams{Algorithm: mustOID(t, prf), Parameters: asn1.NullRawValue}
	}
	ciphertext := make([]byte, len(der)) // garbage if the cipher is not one testCipher knows
	if newBlock != nil && !o.NoEncrypt {
		key, err := pbkdf2.Key(h, string(password), salt, o.Iterations, keyLen)
		if err != nil {
			t.Fatal(err)
		}
		ciphertext = cbcEncrypt(t, newBlock, key, iv, der)
	}
	params := pkix.AlgorithmIdentifier{
		Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13},
		Parameters: rawValue(t, struct {
			KDF    pkix.AlgorithmIdentifier
			Scheme pkix.AlgorithmIdentifier
		}{
			KDF:    pkix.AlgorithmIdentifier{Algorithm: mustOID(t, o.KDF), Parameters: rawValue(t, kp)},
			Scheme: pkix.AlgorithmIdentifier{Algorithm: mustOID(t, o.Cipher), Parameters: rawValue(t, iv)},
		}),
	}
	out, err := asn1.Marshal(encryptedPrivateKeyInfo{Algorithm: params, EncryptedData: ciphertext})
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: out}
}

// encryptLegacy encrypts der the way OpenSSL's PEM_write_bio does with a
// cipher: a random IV, EVP_BytesToKey(MD5, password, IV[:8], 1 iteration),
// CBC with PKCS#7 padding, and the Proc-Type and DEK-Info headers.
func encryptLegacy(t testing.TB, blockType string, der, password []byte, dekCipher string) *pem.Block {
	t.Helper()
	var keyLen, blockSize int
	var newBlock func([]byte) (cipher.Block, error)
	switch dekCipher {
	case "AES-128-CBC":
		keyLen, blockSize, newBlock = 16, aes.BlockSize, aes.NewCipher
	case "AES-192-CBC":
		keyLen, blockSize, newBlock = 24, aes.BlockSize, aes.NewCipher
	case "AES-256-CBC":
		keyLen, blockSize, newBlock = 32, aes.BlockSize, aes.NewCipher
	case "DES-EDE3-CBC":
		keyLen, blockSize, newBlock = 24, des.BlockSize, des.NewTripleDESCipher
	case "DES-CBC":
		keyLen, blockSize, newBlock = 8, des.BlockSize, des.NewCipher
	default:
		t.Fatalf("encryptLegacy: no cipher %s", dekCipher)
	}
	iv := randBytes(t, blockSize)
	// EVP_BytesToKey, written out again rather than calling bytesToKey.
	var key, d []byte
	for len(key) < keyLen {
		h := md5.Sum(append(append(append([]byte(nil), d...), password...), iv[:8]...))
		d = h[:]
		key = append(key, d...)
	}
	return &pem.Block{
		Type: blockType,
		Headers: map[string]string{
			"Proc-Type": "4,ENCRYPTED",
			"DEK-Info":  dekCipher + "," + strings.ToUpper(hex.EncodeToString(iv)),
		},
		Bytes: cbcEncrypt(t, newBlock, key[:keyLen], iv, der),
	}
}

// cbcEncrypt pads plaintext (PKCS#7) and encrypts it in CBC mode.
func cbcEncrypt(t testing.TB, newBlock func([]byte) (cipher.Block, error), key, iv, plaintext []byte) []byte {
	t.Helper()
	block, err := newBlock(key)
	if err != nil {
		t.Fatal(err)
	}
	bs := block.BlockSize()
	p := bs - len(plaintext)%bs
	padded := append(append([]byte(nil), plaintext...), make([]byte, p)...)
	for i := len(plaintext); i < len(padded); i++ {
		padded[i] = byte(p)
	}
	if len(iv) != bs { // a test of a malformed IV: encrypt with any IV
		iv = make([]byte, bs)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(padded, padded)
	return padded
}

// testCipher returns the key length, block size and constructor of a PBES2
// cipher OID, or a nil constructor for one the tests use as unsupported.
func testCipher(oid string) (keyLen, blockSize int, newBlock func([]byte) (cipher.Block, error)) {
	switch oid {
	case oidAES128CBC:
		return 16, 16, aes.NewCipher
	case oidAES192CBC:
		return 24, 16, aes.NewCipher
	case oidAES256CBC:
		return 32, 16, aes.NewCipher
	case oidDESEDE3CBC:
		return 24, 8, des.NewTripleDESCipher
	case oidDESCBC:
		return 8, 8, des.NewCipher
	}
	return 16, 16, nil
}

// testPRF returns the hash of a PRF OID; an unknown one gets SHA-256, for
// tests that expect the decryptor to refuse it before deriving.
func testPRF(oid string) func() hash.Hash {
	if oid == "omit" {
		return prfs[oidHMACSHA1]
	}
	if h, ok := prfs[oid]; ok {
		return h
	}
	return prfs[oidHMACSHA256]
}

func mustOID(t testing.TB, s string) asn1.ObjectIdentifier {
	t.Helper()
	var oid asn1.ObjectIdentifier
	for _, part := range strings.Split(s, ".") {
		n := 0
		for _, c := range part {
			n = n*10 + int(c-'0')
		}
		oid = append(oid, n)
	}
	return oid
}

func rawValue(t testing.TB, v any) asn1.RawValue {
	t.Helper()
	der, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return asn1.RawValue{FullBytes: der}
}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
