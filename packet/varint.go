package packet

import "io"

// MaxRemainingLength is the largest Remaining Length four bytes can encode
// (section 2.2.3): 268,435,455.
const MaxRemainingLength = 268_435_455

// sizeRemainingLength returns how many bytes n takes as a Remaining Length.
func sizeRemainingLength(n int) int {
	switch {
	case n < 1<<7:
		return 1
	case n < 1<<14:
		return 2
	case n < 1<<21:
		return 3
	default:
		return 4
	}
}

// appendRemainingLength appends n, which must be at most
// MaxRemainingLength, in the variable-length encoding of section 2.2.3.
func appendRemainingLength(b []byte, n int) []byte {
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

// consumeRemainingLength decodes a Remaining Length from the front of b and
// returns it with the number of bytes it took. A length that would need a
// fifth byte is refused (section 2.2.3); a b that ends inside the field gives
// io.ErrUnexpectedEOF. Non-minimal encodings (0x80 0x00) are accepted: MQTT
// 3.1.1 does not forbid them.
func consumeRemainingLength(b []byte) (n, size int, err error) {
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		c := b[i]
		n |= int(c&0x7f) << (7 * i)
		if c < 0x80 {
			return n, i + 1, nil
		}
	}
	return 0, 0, errRemainingLengthTooLong
}

var errRemainingLengthTooLong = perr(0, "remaining length", "2.2.3", ErrRemainingLength)
