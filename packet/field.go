package packet

import "encoding/binary"

// Primitive field codecs (section 1.5): two-byte integers, length-prefixed
// UTF-8 strings and binary data. They are pure functions on byte slices; the
// consume functions never read past the slice they are given.

// maxField is the largest string or binary field a two-byte length prefix
// can describe.
const maxField = 65535

func appendUint16(b []byte, v uint16) []byte { return append(b, byte(v>>8), byte(v)) }

// consumeUint16 returns the big-endian integer at the front of b and ok false
// if b holds fewer than two bytes.
func consumeUint16(b []byte) (v uint16, ok bool) {
	if len(b) < 2 {
		return 0, false
	}
	return uint16(b[0])<<8 | uint16(b[1]), true
}

// appendBytes16 appends s with its two-byte length prefix. The caller has
// checked that len(s) <= maxField.
func appendBytes16[T string | []byte](b []byte, s T) []byte {
	b = append(b, byte(len(s)>>8), byte(len(s)))
	return append(b, s...)
}

func sizeBytes16[T string | []byte](s T) int { return 2 + len(s) }

// consumeBytes16 returns the length-prefixed field at the front of b, aliasing
// b, and the number of bytes it took; ok is false if b ends inside the field.
func consumeBytes16(b []byte) (v []byte, n int, ok bool) {
	if len(b) < 2 {
		return nil, 0, false
	}
	l := int(b[0])<<8 | int(b[1])
	if len(b)-2 < l {
		return nil, 0, false
	}
	return b[2 : 2+l : 2+l], 2 + l, true
}

// byteClass marks the bytes that need a closer look when scanning strings
// and topics: U+0000, the wildcards and non-ASCII.
var byteClass = func() (c [256]uint8) {
	c[0] = classNull
	c['+'] = classWildcard
	c['#'] = classWildcard
	for i := 0x80; i < 256; i++ {
		c[i] = classNonASCII
	}
	return c
}()

const (
	classPlain uint8 = iota
	classNull
	classWildcard
	classNonASCII
)

// ValidateString reports whether s may be sent as an MQTT UTF-8 encoded
// string, such as a ClientId or a user name: well-formed UTF-8
// [MQTT-1.5.3-1] without U+0000 [MQTT-1.5.3-2], at most 65,535 bytes. The
// error is a *ProtocolError.
func ValidateString(s string) error { return checkStringSlow(TypeConnect, "string", s) }

// checkString validates an MQTT UTF-8 encoded string (section 1.5.3): it
// must be well-formed UTF-8 without surrogates [MQTT-1.5.3-1] and without
// U+0000 [MQTT-1.5.3-2]. A U+FEFF is kept as it is [MQTT-1.5.3-3].
func checkString(t Type, field string, s []byte) error {
	if len(s) <= maxField && plainASCII(s) {
		return nil
	}
	return checkStringSlow(t, field, s)
}

func checkStringSlow[T string | []byte](t Type, field string, s T) error {
	if len(s) > maxField {
		return perr(t, field, "1.5.3", ErrFieldTooLong)
	}
	nonASCII := false
	for i := 0; i < len(s); i++ {
		switch byteClass[s[i]] {
		case classNull:
			return perr(t, field, "MQTT-1.5.3-2", ErrNullChar)
		case classNonASCII:
			nonASCII = true
		}
	}
	if nonASCII && !validUTF8(s) {
		return perr(t, field, "MQTT-1.5.3-1", ErrUTF8)
	}
	return nil
}

const (
	lsb  = 0x0101010101010101 // the lowest bit of each byte of a word
	msb  = 0x8080808080808080 // the highest bit of each byte of a word
	k7f  = 0x7f * lsb         // added to a word of ASCII bytes, sets the high bit of each non-zero byte
	bit3 = 0x08 * lsb         // '+' (0x2B) &^ bit3 == '#' (0x23)
	wild = 0x23 * lsb         // '#' in each byte
)

// The word tests below hold for words of ASCII bytes: adding 0x7F to a byte
// below 0x80 carries into its high bit exactly when the byte is not zero,
// and never into the next byte. A word with a non-ASCII byte fails on its
// own high bit, whatever the sums give.

// zeros returns the high bit of each zero byte of x, a word of ASCII bytes.
func zeros(x uint64) uint64 { return ^(x + k7f) & msb }

// wildcards returns the high bit of each '+' or '#' of x, a word of ASCII
// bytes: clearing bit 3 turns both, and nothing else, into 0x23.
func wildcards(x uint64) uint64 { return zeros(x&^bit3 ^ wild) }

// plainASCII reports whether s holds nothing but ASCII other than U+0000:
// a string that needs no further check. It looks at eight bytes at a time.
func plainASCII(s []byte) bool {
	if len(s) < 8 {
		return plainShort(s, classWildcard)
	}
	var acc uint64
	for i := 0; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		acc |= x | zeros(x)
	}
	x := binary.LittleEndian.Uint64(s[len(s)-8:]) // the tail, overlapping
	acc |= x | zeros(x)
	return acc&msb == 0
}

// plainTopic reports whether s holds nothing but ASCII other than U+0000
// and the wildcards '+' and '#': a topic name that needs no further check.
// It looks at sixteen bytes at a time.
func plainTopic(s []byte) bool {
	if len(s) < 8 {
		return plainShort(s, classPlain)
	}
	all := s
	var acc uint64
	for len(s) >= 16 {
		x := binary.LittleEndian.Uint64(s[:8])
		y := binary.LittleEndian.Uint64(s[8:16])
		s = s[16:]
		acc |= x | y | ^((x + k7f) & (x&^bit3 ^ wild + k7f) & (y + k7f) & (y&^bit3 ^ wild + k7f))
	}
	if len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s[:8])
		s = s[8:]
		acc |= x | zeros(x) | wildcards(x)
	}
	if len(s) > 0 {
		x := binary.LittleEndian.Uint64(all[len(all)-8:]) // the tail, overlapping
		acc |= x | zeros(x) | wildcards(x)
	}
	return acc&msb == 0
}

// plainShort is plainASCII (allowed = classWildcard) or plainTopic
// (allowed = classPlain) for strings shorter than a word.
func plainShort(s []byte, allowed uint8) bool {
	for _, c := range s {
		if k := byteClass[c]; k != classPlain && k != allowed {
			return false
		}
	}
	return true
}

// checkBinary validates the length of a binary data field (section 1.5.3).
func checkBinary(t Type, field string, s []byte) error {
	if len(s) > maxField {
		return perr(t, field, "1.5.3", ErrFieldTooLong)
	}
	return nil
}

// validUTF8 reports whether s is well-formed UTF-8 as Unicode defines it
// (Table 3-7): no overlong forms, no surrogates, nothing above U+10FFFF.
// It is written out so that it works on strings and byte slices alike.
func validUTF8[T string | []byte](s T) bool {
	n := len(s)
	for i := 0; i < n; {
		c := s[i]
		if c < 0x80 {
			i++
			continue
		}
		var size int
		lo, hi := byte(0x80), byte(0xBF) // range of the second byte
		switch {
		case c >= 0xC2 && c <= 0xDF:
			size = 2
		case c == 0xE0:
			size, lo = 3, 0xA0
		case c == 0xED:
			size, hi = 3, 0x9F // excludes the surrogates U+D800..U+DFFF
		case c >= 0xE1 && c <= 0xEF:
			size = 3
		case c == 0xF0:
			size, lo = 4, 0x90
		case c >= 0xF1 && c <= 0xF3:
			size = 4
		case c == 0xF4:
			size, hi = 4, 0x8F
		default:
			return false
		}
		if i+size > n {
			return false
		}
		if s[i+1] < lo || s[i+1] > hi {
			return false
		}
		for j := i + 2; j < i+size; j++ {
			if s[j]&0xC0 != 0x80 {
				return false
			}
		}
		i += size
	}
	return true
}
