package auth

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/pem"
	"strconv"
	"strings"
)

// OpenSSL's legacy ("traditional") PEM encryption: a PKCS#1, SEC1 or PKCS#8
// key block with the headers of RFC 1421 (section 4.6.1.1 and 4.6.1.3)
//
//	Proc-Type: 4,ENCRYPTED
//	DEK-Info: AES-128-CBC,<IV in hex>
//
// and a key derived by OpenSSL's EVP_BytesToKey with MD5, one iteration and
// the first 8 bytes of the IV as salt. It is what `openssl rsa -aes256
// -traditional` and `openssl ec -aes128` write. The key derivation is weak
// (a single MD5); prefer PKCS#8 for keys you create.

// legacyCiphers are the DEK-Info algorithms this package decrypts, keyed by
// their name in the header.
var legacyCiphers = map[string]*blockCipher{
	"AES-128-CBC":  aes128CBC,
	"AES-192-CBC":  aes192CBC,
	"AES-256-CBC":  aes256CBC,
	"DES-EDE3-CBC": desEDE3CBC,
	"DES-CBC":      desCBC,
}

// legacyEncrypted reports whether b carries legacy encryption headers.
func legacyEncrypted(b *pem.Block) bool {
	_, dek := b.Headers["DEK-Info"]
	return dek || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED")
}

// decryptLegacy decrypts a block for which legacyEncrypted holds and
// returns the DER inside.
func decryptLegacy(b *pem.Block, password []byte) ([]byte, error) {
	if pt := b.Headers["Proc-Type"]; pt != "4,ENCRYPTED" {
		return nil, malformed("Proc-Type " + quote(pt) + ", want 4,ENCRYPTED")
	}
	dek, ok := b.Headers["DEK-Info"]
	if !ok {
		return nil, malformed("Proc-Type 4,ENCRYPTED without DEK-Info")
	}
	name, ivHex, ok := strings.Cut(dek, ",")
	if !ok {
		return nil, malformed("DEK-Info " + quote(dek) + " without an IV")
	}
	name = strings.TrimSpace(name)
	c, ok := legacyCiphers[strings.ToUpper(name)]
	if !ok {
		return nil, &UnsupportedError{What: "cipher", Name: printable(name)}
	}
	iv, err := hex.DecodeString(strings.TrimSpace(ivHex))
	if err != nil {
		return nil, malformed("DEK-Info IV is not hexadecimal")
	}
	if err := c.check(iv, b.Bytes); err != nil {
		return nil, err
	}
	if len(password) == 0 {
		return nil, ErrPasswordRequired
	}
	key := bytesToKey(password, iv[:8], c.keyLen)
	defer clear(key)
	return c.decrypt(key, iv, b.Bytes)
}

// bytesToKey is OpenSSL's EVP_BytesToKey with MD5 and one iteration:
// D_1 = MD5(password || salt), D_i = MD5(D_{i-1} || password || salt), and
// the key is the first n bytes of D_1 || D_2 || ....
func bytesToKey(password, salt []byte, n int) []byte {
	h := md5.New()
	key := make([]byte, 0, n+md5.Size)
	var prev []byte
	for len(key) < n {
		h.Reset()
		h.Write(prev)
		h.Write(password)
		h.Write(salt)
		key = h.Sum(key)
		prev = key[len(key)-md5.Size:]
	}
	clear(key[n:])
	return key[:n]
}

// quote quotes s for an error message, shortened if long.
func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return strconv.Quote(s)
}

// printable returns s for an error message: as it is if it is short
// printable ASCII, quoted otherwise.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return quote(s)
		}
	}
	if len(s) > 40 {
		return quote(s)
	}
	return s
}
