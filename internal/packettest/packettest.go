// Package packettest holds golden byte vectors for the packet codec: valid
// packets with the values they decode to, and malformed packets with the
// rule each breaks. The vectors are derived by hand from the MQTT 3.1.1
// text and annotated byte by byte. Tests and fuzz seeds use them; no
// non-test code of the library does.
package packettest

import "github.com/petrel-mqtt/petrel/packet"

// Vector is a valid encoded packet and the packet it decodes to.
type Vector struct {
	Name   string        // unique, usable as a subtest name
	Bytes  []byte        // the whole packet, fixed header included
	Packet packet.Packet // what Bytes decodes to, and encodes from
}

// Malformed is an encoded packet that breaks one rule of the spec.
type Malformed struct {
	Name  string // unique, usable as a subtest name
	Bytes []byte // the whole packet as a peer would send it
	Rule  string // the *packet.ProtocolError Rule the decoder must report
	Err   error  // the sentinel the decoder's error must wrap
}
