package transport

import (
	"encoding/binary"
	"strconv"
	"unicode/utf8"
)

// WebSocket framing, RFC 6455 section 5.2:
//
//	byte 0: FIN, RSV1, RSV2, RSV3, opcode (4 bits)
//	byte 1: MASK, payload length (7 bits: 0-125, or 126 or 127 for an
//	        extended length in the next 2 or 8 bytes, big-endian)
//	then the 4-byte masking key when MASK is set, then the payload.

type opcode byte

const (
	opContinuation opcode = 0x0
	opText         opcode = 0x1
	opBinary       opcode = 0x2
	opClose        opcode = 0x8
	opPing         opcode = 0x9
	opPong         opcode = 0xA
)

const (
	finBit  = 0x80
	rsvBits = 0x70
	maskBit = 0x80

	maxControlPayload = 125 // RFC 6455 section 5.5
	maxFrameHeader    = 14  // 2 + 8 (extended length) + 4 (masking key)
)

// Close status codes, RFC 6455 section 7.4.1.
const (
	closeNormal         uint16 = 1000
	closeGoingAway      uint16 = 1001
	closeProtocolError  uint16 = 1002
	closeUnsupported    uint16 = 1003
	closeNoStatus       uint16 = 1005 // never sent: a close frame without a code
	closeInvalidPayload uint16 = 1007
)

type frameHeader struct {
	fin    bool
	rsv    byte // RSV1-3 bits, in place
	op     opcode
	masked bool
	length int64
	key    [4]byte
}

// frameHeaderLen returns the length of the header whose first two bytes are
// b0 and b1.
func frameHeaderLen(b0, b1 byte) int {
	n := 2
	switch b1 &^ maskBit {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&maskBit != 0 {
		n += 4
	}
	return n
}

// parseFrameHeader decodes a header of frameHeaderLen bytes and checks the
// rules that do not depend on the connection's state.
func parseFrameHeader(b []byte) (frameHeader, *FrameError) {
	h := frameHeader{
		fin:    b[0]&finBit != 0,
		rsv:    b[0] & rsvBits,
		op:     opcode(b[0] & 0x0F),
		masked: b[1]&maskBit != 0,
	}
	rest := b[2:]
	switch l := b[1] &^ maskBit; l {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(rest))
		rest = rest[2:]
	case 127:
		u := binary.BigEndian.Uint64(rest)
		if u>>63 != 0 {
			return h, &FrameError{Reason: "payload length with the most significant bit set", Rule: "5.2"}
		}
		h.length = int64(u)
		rest = rest[8:]
	default:
		h.length = int64(l)
	}
	if h.masked {
		copy(h.key[:], rest)
	}
	switch {
	case h.rsv != 0:
		return h, &FrameError{Reason: "RSV bits set without a negotiated extension", Rule: "5.2"}
	case h.masked:
		return h, &FrameError{Reason: "masked frame from the server", Rule: "5.1"}
	}
	switch h.op {
	case opContinuation, opText, opBinary:
	case opClose, opPing, opPong:
		if !h.fin {
			return h, &FrameError{Reason: "fragmented control frame", Rule: "5.5"}
		}
		if h.length > maxControlPayload {
			return h, &FrameError{Reason: "control frame payload of " + strconv.FormatInt(h.length, 10) + " bytes, more than 125", Rule: "5.5"}
		}
	default:
		return h, &FrameError{Reason: "reserved opcode " + strconv.Itoa(int(h.op)), Rule: "5.2"}
	}
	return h, nil
}

// appendFrameHeader appends a frame header with FIN set. With masked, key
// follows the length.
func appendFrameHeader(b []byte, op opcode, length int, masked bool, key [4]byte) []byte {
	b = append(b, finBit|byte(op))
	var m byte
	if masked {
		m = maskBit
	}
	switch {
	case length <= 125:
		b = append(b, m|byte(length))
	case length <= 0xFFFF:
		b = append(b, m|126)
		b = binary.BigEndian.AppendUint16(b, uint16(length))
	default:
		b = append(b, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(length))
	}
	if masked {
		b = append(b, key[:]...)
	}
	return b
}

// mask XORs b with key, starting at position pos of the key (0-3), and
// returns the position after b. Masking twice unmasks (section 5.3).
func mask(key [4]byte, pos int, b []byte) int {
	i := 0
	for ; i < len(b) && pos&3 != 0; i++ {
		b[i] ^= key[pos&3]
		pos++
	}
	if len(b)-i >= 8 {
		k := uint64(binary.LittleEndian.Uint32(key[:]))
		k |= k << 32
		for ; len(b)-i >= 8; i += 8 {
			binary.LittleEndian.PutUint64(b[i:], binary.LittleEndian.Uint64(b[i:])^k)
		}
	}
	for ; i < len(b); i++ {
		b[i] ^= key[pos&3]
		pos++
	}
	return pos & 3
}

// parseClosePayload returns the status code and reason of a close frame's
// payload (section 5.5.1): empty (closeNoStatus), or a code of two bytes
// followed by a UTF-8 reason.
func parseClosePayload(p []byte) (uint16, string, *FrameError) {
	switch len(p) {
	case 0:
		return closeNoStatus, "", nil
	case 1:
		return 0, "", &FrameError{Reason: "close frame with a 1-byte payload", Rule: "5.5.1"}
	}
	code := binary.BigEndian.Uint16(p)
	if !validCloseCode(code) {
		return 0, "", &FrameError{Reason: "close frame with status " + strconv.Itoa(int(code)) + ", which may not be sent", Rule: "7.4"}
	}
	if !utf8.Valid(p[2:]) {
		return 0, "", &FrameError{Reason: "close frame reason is not UTF-8", Rule: "5.5.1"}
	}
	return code, string(p[2:]), nil
}

// validCloseCode reports whether an endpoint may send code (section 7.4):
// the defined codes that are not reserved for local use, and the ranges
// for libraries and applications.
func validCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	default:
		return code >= 3000 && code <= 4999
	}
}
