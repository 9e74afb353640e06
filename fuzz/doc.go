// Package fuzz holds native Go fuzz targets for Petrel's codec. They use
// only the exported API of package packet and are seeded from the golden
// vectors of internal/packettest, so `go test ./fuzz/` runs every seed as a
// unit test and `make fuzz` (or `go test -fuzz=FuzzReader ./fuzz/`) explores
// further.
//
//   - FuzzReader feeds arbitrary bytes to a packet.Reader: it must never
//     panic, must end with io.EOF, io.ErrUnexpectedEOF or a
//     *packet.ProtocolError, and must allocate in proportion to the bytes it
//     received and never beyond its maximum packet size.
//   - FuzzRoundTrip decodes arbitrary bytes; whatever decodes must encode,
//     and decode again to the same packet and the same bytes.
//   - FuzzEncode builds packets from arbitrary field values; whatever the
//     encoder emits, the decoder must accept as the same packet.
package fuzz
