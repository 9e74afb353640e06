package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"strconv"
)

// blockCipher is a block cipher in CBC mode with PKCS#7 padding, the only
// mode either PBES2 (RFC 8018, appendix B.2) or OpenSSL's legacy PEM
// encryption uses in practice.
type blockCipher struct {
	name      string // OpenSSL's name, e.g. "aes-128-cbc"
	keyLen    int    // bytes
	blockSize int    // bytes; also the IV length
	newBlock  func(key []byte) (cipher.Block, error)
}

var (
	aes128CBC  = &blockCipher{"aes-128-cbc", 16, aes.BlockSize, aes.NewCipher}
	aes192CBC  = &blockCipher{"aes-192-cbc", 24, aes.BlockSize, aes.NewCipher}
	aes256CBC  = &blockCipher{"aes-256-cbc", 32, aes.BlockSize, aes.NewCipher}
	desEDE3CBC = &blockCipher{"des-ede3-cbc", 24, des.BlockSize, des.NewTripleDESCipher}
	desCBC     = &blockCipher{"des-cbc", 8, des.BlockSize, des.NewCipher}
)

// decrypt decrypts ciphertext into a new slice and strips its padding. The
// caller has derived key (c.keyLen bytes) from the password. A ciphertext or
// IV of the wrong length is ErrMalformedKey; bad padding, the usual result of
// a wrong password, is ErrIncorrectPassword.
func (c *blockCipher) decrypt(key, iv, ciphertext []byte) ([]byte, error) {
	if err := c.check(iv, ciphertext); err != nil {
		return nil, err
	}
	block, err := c.newBlock(key)
	if err != nil {
		return nil, malformed(err.Error()) // unreachable: key has c.keyLen bytes
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	n, ok := unpad(plain, c.blockSize)
	if !ok {
		clear(plain)
		return nil, ErrIncorrectPassword
	}
	return plain[:n], nil
}

// check reports ErrMalformedKey if iv or ciphertext has a length that
// cannot be decrypted, so that callers can refuse before deriving a key.
func (c *blockCipher) check(iv, ciphertext []byte) error {
	if len(iv) != c.blockSize {
		return malformed(c.name + " IV of " + strconv.Itoa(len(iv)) + " bytes, want " + strconv.Itoa(c.blockSize))
	}
	if len(ciphertext) == 0 || len(ciphertext)%c.blockSize != 0 {
		return malformed(c.name + " ciphertext of " + strconv.Itoa(len(ciphertext)) + " bytes, not a positive multiple of the block size")
	}
	return nil
}

// unpad checks the PKCS#7 padding (RFC 8018, section 6.1.1; RFC 1423,
// section 1.1) at the end of b, whose length is a positive multiple of
// blockSize, and returns the length of the data before it. It reads the
// whole last block and branches only on the final verdict, so its timing
// does not tell which padding byte was wrong.
func unpad(b []byte, blockSize int) (n int, ok bool) {
	last := b[len(b)-blockSize:]
	p := int(last[blockSize-1])
	good := subtle.ConstantTimeLessOrEq(1, p) & subtle.ConstantTimeLessOrEq(p, blockSize)
	for i := 1; i <= blockSize; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, p) // the i-th byte from the end is padding
		eq := subtle.ConstantTimeByteEq(last[blockSize-i], byte(p))
		good &= subtle.ConstantTimeSelect(inPad, eq, 1)
	}
	if good != 1 {
		return 0, false
	}
	return len(b) - p, true
}
