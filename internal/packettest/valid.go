package packettest

import (
	"bytes"

	"github.com/petrel-mqtt/petrel/packet"
)

// Valid returns golden vectors for every packet type and every flag
// combination of MQTT 3.1.1. Each call builds a new slice with new packet
// values and new byte slices, so callers may mutate what they get.
//
// Every byte is written out by hand from the spec text (sections 2 and 3),
// never produced by the encoder, so the vectors test the encoder as much as
// the decoder. Section numbers in names point at the spec's own
// non-normative examples.
func Valid() []Vector {
	var v []Vector
	v = append(v, validConnect()...)
	v = append(v, validConnack()...)
	v = append(v, validPublish()...)
	v = append(v, validAcks()...)
	v = append(v, validSubscribe()...)
	v = append(v, validSuback()...)
	v = append(v, validUnsubscribe()...)
	v = append(v, validEmpty()...)
	return v
}

// cat concatenates byte slices into a new one. It builds the vectors whose
// payloads are too long to write out, from literal headers and
// bytes.Repeat payloads.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// fill returns n copies of c.
func fill(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }

// validPublish covers PUBLISH (section 3.3): QoS 0, 1 and 2, DUP on QoS 1
// and 2, RETAIN on and off, empty and binary payloads, Remaining Lengths of
// one, two and three bytes at their boundaries, and topic names with
// non-ASCII characters, U+FEFF and a leading '$'.
func validPublish() []Vector {
	return []Vector{
		{
			Name: "PUBLISH/qos0",
			Bytes: []byte{
				0x30, 0x07, // PUBLISH QoS 0, remaining length 7
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{Topic: []byte("a/b"), Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos0/retain",
			Bytes: []byte{
				0x31, 0x07, // PUBLISH QoS 0 RETAIN, remaining length 7
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{Retain: true, Topic: []byte("a/b"), Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos0/empty-payload",
			Bytes: []byte{
				0x30, 0x05, // PUBLISH QoS 0, remaining length 5
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"; no payload [3.3.3]
			},
			Packet: &packet.Publish{Topic: []byte("a/b")},
		},
		{
			// A retained message with an empty payload deletes the
			// retained message of its topic [MQTT-3.3.1-10].
			Name: "PUBLISH/qos0/retain/empty-payload",
			Bytes: []byte{
				0x31, 0x05, // PUBLISH QoS 0 RETAIN, remaining length 5
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"; no payload
			},
			Packet: &packet.Publish{Retain: true, Topic: []byte("a/b")},
		},
		{
			Name: "PUBLISH/qos0/binary-payload",
			Bytes: []byte{
				0x30, 0x09, // PUBLISH QoS 0, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0xFF, 0x80, 0x0A, // payload: any bytes, U+0000 and ill-formed UTF-8 included
			},
			Packet: &packet.Publish{Topic: []byte("a/b"), Payload: []byte{0x00, 0xFF, 0x80, 0x0A}},
		},
		{
			// The variable header is the example of section 3.3.2.3.
			Name: "PUBLISH/qos1/spec-3.3.2.3",
			Bytes: []byte{
				0x32, 0x09, // PUBLISH QoS 1, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x0A, // packet identifier 10
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{QoS: packet.QoS1, Topic: []byte("a/b"), PacketID: 10, Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos1/retain",
			Bytes: []byte{
				0x33, 0x09, // PUBLISH QoS 1 RETAIN, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x0A, // packet identifier 10
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{QoS: packet.QoS1, Retain: true, Topic: []byte("a/b"), PacketID: 10, Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos1/dup",
			Bytes: []byte{
				0x3A, 0x09, // PUBLISH DUP QoS 1, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x0A, // packet identifier 10
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{Dup: true, QoS: packet.QoS1, Topic: []byte("a/b"), PacketID: 10, Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos1/dup/retain",
			Bytes: []byte{
				0x3B, 0x09, // PUBLISH DUP QoS 1 RETAIN, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x0A, // packet identifier 10
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{Dup: true, QoS: packet.QoS1, Retain: true, Topic: []byte("a/b"), PacketID: 10, Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos1/id-1/empty-payload",
			Bytes: []byte{
				0x32, 0x07, // PUBLISH QoS 1, remaining length 7
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x01, // packet identifier 1; no payload
			},
			Packet: &packet.Publish{QoS: packet.QoS1, Topic: []byte("a/b"), PacketID: 1},
		},
		{
			Name: "PUBLISH/qos1/id-65535",
			Bytes: []byte{
				0x32, 0x09, // PUBLISH QoS 1, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0xFF, 0xFF, // packet identifier 65535
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{QoS: packet.QoS1, Topic: []byte("a/b"), PacketID: 0xFFFF, Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos2",
			Bytes: []byte{
				0x34, 0x09, // PUBLISH QoS 2, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x0A, // packet identifier 10
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{QoS: packet.QoS2, Topic: []byte("a/b"), PacketID: 10, Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos2/retain",
			Bytes: []byte{
				0x35, 0x09, // PUBLISH QoS 2 RETAIN, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x0A, // packet identifier 10
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{QoS: packet.QoS2, Retain: true, Topic: []byte("a/b"), PacketID: 10, Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos2/dup",
			Bytes: []byte{
				0x3C, 0x09, // PUBLISH DUP QoS 2, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x0A, // packet identifier 10
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{Dup: true, QoS: packet.QoS2, Topic: []byte("a/b"), PacketID: 10, Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos2/dup/retain",
			Bytes: []byte{
				0x3D, 0x09, // PUBLISH DUP QoS 2 RETAIN, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x0A, // packet identifier 10
				'h', 'i', // payload "hi"
			},
			Packet: &packet.Publish{Dup: true, QoS: packet.QoS2, Retain: true, Topic: []byte("a/b"), PacketID: 10, Payload: []byte("hi")},
		},
		{
			Name: "PUBLISH/qos2/id-65535/empty-payload",
			Bytes: []byte{
				0x34, 0x07, // PUBLISH QoS 2, remaining length 7
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0xFF, 0xFF, // packet identifier 65535; no payload
			},
			Packet: &packet.Publish{QoS: packet.QoS2, Topic: []byte("a/b"), PacketID: 0xFFFF},
		},
		{
			// 127, the largest one-byte Remaining Length (section 2.2.3).
			Name: "PUBLISH/remaining-length-127",
			Bytes: cat([]byte{
				0x30, 0x7F, // PUBLISH QoS 0, remaining length 127
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			}, fill('x', 122)), // payload: 122 bytes 'x'
			Packet: &packet.Publish{Topic: []byte("a/b"), Payload: fill('x', 122)},
		},
		{
			// 128, the smallest two-byte Remaining Length: 0 + 1*128.
			Name: "PUBLISH/remaining-length-128",
			Bytes: cat([]byte{
				0x30, 0x80, 0x01, // PUBLISH QoS 0, remaining length 128 (0x80 0x01)
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			}, fill('x', 123)), // payload: 123 bytes 'x'
			Packet: &packet.Publish{Topic: []byte("a/b"), Payload: fill('x', 123)},
		},
		{
			// 205 = 77 + 1*128: two bytes, 77|0x80 then 1.
			Name: "PUBLISH/payload-200",
			Bytes: cat([]byte{
				0x30, 0xCD, 0x01, // PUBLISH QoS 0, remaining length 205 (0xCD 0x01)
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			}, fill('x', 200)), // payload: 200 bytes 'x'
			Packet: &packet.Publish{Topic: []byte("a/b"), Payload: fill('x', 200)},
		},
		{
			// 16383 = 127 + 127*128, the largest two-byte Remaining Length.
			Name: "PUBLISH/remaining-length-16383",
			Bytes: cat([]byte{
				0x30, 0xFF, 0x7F, // PUBLISH QoS 0, remaining length 16383 (0xFF 0x7F)
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			}, fill('x', 16378)), // payload: 16378 bytes 'x'
			Packet: &packet.Publish{Topic: []byte("a/b"), Payload: fill('x', 16378)},
		},
		{
			// 16384 = 0 + 0*128 + 1*128^2, the smallest three-byte one.
			Name: "PUBLISH/remaining-length-16384",
			Bytes: cat([]byte{
				0x30, 0x80, 0x80, 0x01, // PUBLISH QoS 0, remaining length 16384 (0x80 0x80 0x01)
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			}, fill('x', 16379)), // payload: 16379 bytes 'x'
			Packet: &packet.Publish{Topic: []byte("a/b"), Payload: fill('x', 16379)},
		},
		{
			// 20007 = 39 + 28*128 + 1*128^2: 39|0x80, 28|0x80, 1.
			Name: "PUBLISH/qos1/payload-20000",
			Bytes: cat([]byte{
				0x32, 0xA7, 0x9C, 0x01, // PUBLISH QoS 1, remaining length 20007 (0xA7 0x9C 0x01)
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x07, // packet identifier 7
			}, fill('y', 20000)), // payload: 20000 bytes 'y'
			Packet: &packet.Publish{QoS: packet.QoS1, Topic: []byte("a/b"), PacketID: 7, Payload: fill('y', 20000)},
		},
		{
			// Two-, three- and four-byte UTF-8 sequences; U+2A6D4 is the
			// character of the example in section 1.5.3.1.
			Name: "PUBLISH/qos1/topic-non-ascii",
			Bytes: []byte{
				0x32, 0x11, // PUBLISH QoS 1, remaining length 17
				0x00, 0x0C, // topic name length 12
				0xC3, 0xBC, // U+00FC 'ü'
				'/',
				0xE2, 0x82, 0xAC, // U+20AC '€'
				'/', 'A',
				0xF0, 0xAA, 0x9B, 0x94, // U+2A6D4
				0x12, 0x34, // packet identifier 0x1234
				'x', // payload "x"
			},
			Packet: &packet.Publish{QoS: packet.QoS1, Topic: []byte("ü/€/A\U0002A6D4"), PacketID: 0x1234, Payload: []byte("x")},
		},
		{
			// EF BB BF is U+FEFF, kept even at the start of a string where
			// it looks like a byte order mark [MQTT-1.5.3-3].
			Name: "PUBLISH/qos0/topic-U+FEFF",
			Bytes: []byte{
				0x30, 0x0B, // PUBLISH QoS 0, remaining length 11
				0x00, 0x09, // topic name length 9
				0xEF, 0xBB, 0xBF, // U+FEFF
				'a', '/',
				0xEF, 0xBB, 0xBF, // U+FEFF
				'b', // topic name "\uFEFFa/\uFEFFb"; no payload
			},
			Packet: &packet.Publish{Topic: []byte("\uFEFFa/\uFEFFb")},
		},
		{
			// Topics starting with '$' are legal names (section 4.7.2).
			Name: "PUBLISH/qos0/retain/topic-dollar",
			Bytes: []byte{
				0x31, 0x16, // PUBLISH QoS 0 RETAIN, remaining length 22
				0x00, 0x12, // topic name length 18
				'$', 'S', 'Y', 'S', '/', 'b', 'r', 'o', 'k', 'e', 'r', '/', 'u', 'p', 't', 'i', 'm', 'e', // "$SYS/broker/uptime"
				'4', '2', // payload "42"
			},
			Packet: &packet.Publish{Retain: true, Topic: []byte("$SYS/broker/uptime"), Payload: []byte("42")},
		},
		{
			// "/" is a legal topic name of two empty levels (section 4.7.1.1).
			Name: "PUBLISH/qos0/topic-slash",
			Bytes: []byte{
				0x30, 0x03, // PUBLISH QoS 0, remaining length 3
				0x00, 0x01, '/', // topic name "/"; no payload
			},
			Packet: &packet.Publish{Topic: []byte("/")},
		},
	}
}

// validAcks covers the packets made of a fixed header and a packet
// identifier (sections 3.4 to 3.7 and 3.11), each with identifiers 1 and
// 65535. PUBREL's flags are 0010 [MQTT-3.6.1-1], the others' 0000.
func validAcks() []Vector {
	return []Vector{
		{
			Name:   "PUBACK/id-1",
			Bytes:  []byte{0x40, 0x02, 0x00, 0x01}, // PUBACK, remaining length 2; packet identifier 1
			Packet: &packet.Puback{PacketID: 1},
		},
		{
			Name:   "PUBACK/id-65535",
			Bytes:  []byte{0x40, 0x02, 0xFF, 0xFF}, // PUBACK, remaining length 2; packet identifier 65535
			Packet: &packet.Puback{PacketID: 0xFFFF},
		},
		{
			Name:   "PUBREC/id-1",
			Bytes:  []byte{0x50, 0x02, 0x00, 0x01}, // PUBREC, remaining length 2; packet identifier 1
			Packet: &packet.Pubrec{PacketID: 1},
		},
		{
			Name:   "PUBREC/id-65535",
			Bytes:  []byte{0x50, 0x02, 0xFF, 0xFF}, // PUBREC, remaining length 2; packet identifier 65535
			Packet: &packet.Pubrec{PacketID: 0xFFFF},
		},
		{
			Name:   "PUBREL/id-1",
			Bytes:  []byte{0x62, 0x02, 0x00, 0x01}, // PUBREL flags 0010, remaining length 2; packet identifier 1
			Packet: &packet.Pubrel{PacketID: 1},
		},
		{
			Name:   "PUBREL/id-65535",
			Bytes:  []byte{0x62, 0x02, 0xFF, 0xFF}, // PUBREL flags 0010, remaining length 2; packet identifier 65535
			Packet: &packet.Pubrel{PacketID: 0xFFFF},
		},
		{
			Name:   "PUBCOMP/id-1",
			Bytes:  []byte{0x70, 0x02, 0x00, 0x01}, // PUBCOMP, remaining length 2; packet identifier 1
			Packet: &packet.Pubcomp{PacketID: 1},
		},
		{
			Name:   "PUBCOMP/id-65535",
			Bytes:  []byte{0x70, 0x02, 0xFF, 0xFF}, // PUBCOMP, remaining length 2; packet identifier 65535
			Packet: &packet.Pubcomp{PacketID: 0xFFFF},
		},
		{
			Name:   "UNSUBACK/id-1",
			Bytes:  []byte{0xB0, 0x02, 0x00, 0x01}, // UNSUBACK, remaining length 2; packet identifier 1
			Packet: &packet.Unsuback{PacketID: 1},
		},
		{
			Name:   "UNSUBACK/id-65535",
			Bytes:  []byte{0xB0, 0x02, 0xFF, 0xFF}, // UNSUBACK, remaining length 2; packet identifier 65535
			Packet: &packet.Unsuback{PacketID: 0xFFFF},
		},
	}
}

// validEmpty covers the packets that are a fixed header alone (sections
// 3.12 to 3.14).
func validEmpty() []Vector {
	return []Vector{
		{
			Name:   "PINGREQ",
			Bytes:  []byte{0xC0, 0x00}, // PINGREQ, remaining length 0
			Packet: &packet.Pingreq{},
		},
		{
			Name:   "PINGRESP",
			Bytes:  []byte{0xD0, 0x00}, // PINGRESP, remaining length 0
			Packet: &packet.Pingresp{},
		},
		{
			Name:   "DISCONNECT",
			Bytes:  []byte{0xE0, 0x00}, // DISCONNECT, remaining length 0
			Packet: &packet.Disconnect{},
		},
	}
}
