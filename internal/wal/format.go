package wal

import (
	"encoding/binary"
	"hash/crc32"
)

// The file header: a magic string and the format version.
const (
	magic      = "PTRLWAL"
	version    = 1
	headerSize = 8 // len(magic) + 1
)

// RecordHeaderSize is the framing each record adds to its payload: length,
// CRC-32C and type.
const RecordHeaderSize = 9

// Limits on Options.MaxRecord.
const (
	DefaultMaxRecord = 16 << 20 // 16 MiB
	MaxRecordLimit   = 1 << 30  // 1 GiB
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// RecordSize returns how many bytes a record with a payload of n bytes takes
// in the file.
func RecordSize(n int) int64 { return RecordHeaderSize + int64(n) }

// appendHeader appends the file header to b.
func appendHeader(b []byte) []byte { return append(append(b, magic...), version) }

// appendRecord appends the framed record to b.
func appendRecord(b []byte, typ byte, payload []byte) []byte {
	n := len(b)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, 0, 0, 0, 0, typ)
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b[n+4:], checksum(b[n+8:]))
	return b
}

// checksum is the CRC-32C of a record's type and payload, which are
// contiguous in the file.
func checksum(typeAndPayload []byte) uint32 { return crc32.Checksum(typeAndPayload, castagnoli) }
