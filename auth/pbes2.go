package auth

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"hash"
	"strconv"
)

// PKCS#8 encrypted private keys ("ENCRYPTED PRIVATE KEY", RFC 5958 section
// 3) with the PBES2 scheme of PKCS#5 v2.1 (RFC 8018, section 6.2): PBKDF2
// (section 5.2) derives the key, a CBC block cipher decrypts.

// Object identifiers of RFC 8018, appendix A and B, and of NIST's AES
// registrations.
var (
	oidPBES2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
)

// prfs are the pseudorandom functions PBKDF2 may use (RFC 8018, appendix
// B.1), keyed by dotted OID.
var prfs = map[string]func() hash.Hash{
	"1.2.840.113549.2.7":  sha1.New,          // hmacWithSHA1, the default
	"1.2.840.113549.2.8":  sha256.New224,     // hmacWithSHA224
	"1.2.840.113549.2.9":  sha256.New,        // hmacWithSHA256
	"1.2.840.113549.2.10": sha512.New384,     // hmacWithSHA384
	"1.2.840.113549.2.11": sha512.New,        // hmacWithSHA512
	"1.2.840.113549.2.12": sha512.New512_224, // hmacWithSHA512-224
	"1.2.840.113549.2.13": sha512.New512_256, // hmacWithSHA512-256
}

// pbes2Ciphers are the encryption schemes PBES2 may use (RFC 8018, appendix
// B.2), keyed by dotted OID.
var pbes2Ciphers = map[string]*blockCipher{
	"2.16.840.1.101.3.4.1.2":  aes128CBC,
	"2.16.840.1.101.3.4.1.22": aes192CBC,
	"2.16.840.1.101.3.4.1.42": aes256CBC,
	"1.2.840.113549.3.7":      desEDE3CBC,
	"1.3.14.3.2.7":            desCBC,
}

// oidNames names, for error messages, algorithms this package recognises
// but does not implement.
var oidNames = map[string]string{
	// Encryption schemes other than PBES2 (RFC 8018 appendix A.3, RFC 7292
	// appendix C).
	"1.2.840.113549.1.5.1":    "pbeWithMD2AndDES-CBC",
	"1.2.840.113549.1.5.3":    "pbeWithMD5AndDES-CBC",
	"1.2.840.113549.1.5.4":    "pbeWithMD2AndRC2-CBC",
	"1.2.840.113549.1.5.6":    "pbeWithMD5AndRC2-CBC",
	"1.2.840.113549.1.5.10":   "pbeWithSHA1AndDES-CBC",
	"1.2.840.113549.1.5.11":   "pbeWithSHA1AndRC2-CBC",
	"1.2.840.113549.1.12.1.1": "pbeWithSHAAnd128BitRC4",
	"1.2.840.113549.1.12.1.2": "pbeWithSHAAnd40BitRC4",
	"1.2.840.113549.1.12.1.3": "pbeWithSHAAnd3-KeyTripleDES-CBC",
	"1.2.840.113549.1.12.1.4": "pbeWithSHAAnd2-KeyTripleDES-CBC",
	"1.2.840.113549.1.12.1.5": "pbeWithSHAAnd128BitRC2-CBC",
	"1.2.840.113549.1.12.1.6": "pbewithSHAAnd40BitRC2-CBC",
	// Key derivation functions and PRFs.
	"1.3.6.1.4.1.11591.4.11": "scrypt",
	"1.2.840.113549.2.6":     "hmacWithMD5",
	"1.2.156.10197.1.401.2":  "hmacWithSM3",
	// Ciphers.
	"2.16.840.1.101.3.4.1.1":     "aes-128-ecb",
	"2.16.840.1.101.3.4.1.3":     "aes-128-ofb",
	"2.16.840.1.101.3.4.1.4":     "aes-128-cfb",
	"2.16.840.1.101.3.4.1.6":     "aes-128-gcm",
	"2.16.840.1.101.3.4.1.26":    "aes-192-gcm",
	"2.16.840.1.101.3.4.1.46":    "aes-256-gcm",
	"1.2.840.113549.3.2":         "rc2-cbc",
	"1.2.410.200046.1.1.2":       "aria-128-cbc",
	"1.2.410.200046.1.1.7":       "aria-192-cbc",
	"1.2.410.200046.1.1.12":      "aria-256-cbc",
	"1.2.392.200011.61.1.1.1.2":  "camellia-128-cbc",
	"1.2.392.200011.61.1.1.1.3":  "camellia-192-cbc",
	"1.2.392.200011.61.1.1.1.4":  "camellia-256-cbc",
	"1.2.156.10197.1.104.2":      "sm4-cbc",
	"1.3.6.1.4.1.3029.1.2":       "bf-cbc",
	"1.2.840.113533.7.66.10":     "cast5-cbc",
	"1.3.6.1.4.1.188.7.1.1.2":    "idea-cbc",
	"1.2.840.113549.1.9.16.3.18": "chacha20-poly1305",
}

// maxIterations bounds the PBKDF2 iteration count, so that a hostile file
// cannot keep Load busy for minutes. OpenSSL writes 2,048; the most any
// current guidance asks for is 1,300,000 (hmacWithSHA1).
const maxIterations = 10_000_000

// encryptedPrivateKeyInfo is RFC 5958's EncryptedPrivateKeyInfo.
type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

// pbes2Params is RFC 8018's PBES2-params (appendix A.4).
type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

// pbkdf2Params is RFC 8018's PBKDF2-params (appendix A.2). Salt is a CHOICE
// of which only "specified", an OCTET STRING, has ever been defined.
type pbkdf2Params struct {
	Salt           asn1.RawValue
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"` // absent: hmacWithSHA1
}

// decryptPBES2 decrypts the DER of an EncryptedPrivateKeyInfo and returns
// the DER of the PrivateKeyInfo inside.
func decryptPBES2(der, password []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if err := unmarshalAll(der, &info, "EncryptedPrivateKeyInfo"); err != nil {
		return nil, err
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, &UnsupportedError{What: "encryption scheme", Name: oidName(info.Algorithm.Algorithm)}
	}
	var params pbes2Params
	if err := unmarshalAll(info.Algorithm.Parameters.FullBytes, &params, "PBES2-params"); err != nil {
		return nil, err
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, &UnsupportedError{What: "key derivation function", Name: oidName(params.KeyDerivationFunc.Algorithm)}
	}
	c, ok := pbes2Ciphers[params.EncryptionScheme.Algorithm.String()]
	if !ok {
		return nil, &UnsupportedError{What: "cipher", Name: oidName(params.EncryptionScheme.Algorithm)}
	}
	var kdf pbkdf2Params
	if err := unmarshalAll(params.KeyDerivationFunc.Parameters.FullBytes, &kdf, "PBKDF2-params"); err != nil {
		return nil, err
	}
	prf := sha1.New
	if len(kdf.PRF.Algorithm) > 0 {
		if prf, ok = prfs[kdf.PRF.Algorithm.String()]; !ok {
			return nil, &UnsupportedError{What: "PRF", Name: oidName(kdf.PRF.Algorithm)}
		}
	}
	salt := kdf.Salt
	switch {
	case salt.Class == asn1.ClassUniversal && salt.Tag == asn1.TagOctetString && !salt.IsCompound:
	case salt.Class == asn1.ClassUniversal && salt.Tag == asn1.TagSequence:
		return nil, &UnsupportedError{What: "salt source", Name: "otherSource"}
	default:
		return nil, malformed("PBKDF2 salt is not an OCTET STRING")
	}
	if kdf.IterationCount < 1 || kdf.IterationCount > maxIterations {
		return nil, malformed("PBKDF2 iteration count " + strconv.Itoa(kdf.IterationCount) + " outside 1 to 10,000,000")
	}
	if kdf.KeyLength != 0 && kdf.KeyLength != c.keyLen {
		return nil, malformed("PBKDF2 key length " + strconv.Itoa(kdf.KeyLength) + " does not fit " + c.name)
	}
	var iv []byte
	if err := unmarshalAll(params.EncryptionScheme.Parameters.FullBytes, &iv, c.name+" IV"); err != nil {
		return nil, err
	}
	if err := c.check(iv, info.EncryptedData); err != nil {
		return nil, err
	}
	if len(password) == 0 {
		return nil, ErrPasswordRequired
	}
	key, err := pbkdf2.Key(prf, string(password), salt.Bytes, kdf.IterationCount, c.keyLen)
	if err != nil {
		return nil, err // only in FIPS 140-3 mode, for parameters it refuses
	}
	defer clear(key)
	return c.decrypt(key, iv, info.EncryptedData)
}

// unmarshalAll parses DER into v and refuses trailing bytes.
func unmarshalAll(der []byte, v any, what string) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return malformed(what + ": " + err.Error())
	}
	if len(rest) != 0 {
		return malformed(what + ": trailing data")
	}
	return nil
}

// oidName returns the name of an algorithm for an error message, or its
// dotted OID when it has none here.
func oidName(oid asn1.ObjectIdentifier) string {
	s := oid.String()
	if name, ok := oidNames[s]; ok {
		return name
	}
	if s == "" {
		return "(no OID)"
	}
	return s
}
