package packettest

import "github.com/petrel-mqtt/petrel/packet"

// malformedSubscribe covers SUBSCRIBE and UNSUBSCRIBE payloads: at least
// one filter [MQTT-3.8.3-3], [MQTT-3.10.3-2], and requested QoS bytes of 0,
// 1 or 2 with the six upper bits clear [MQTT-3.8.3-4].
func malformedSubscribe() []Malformed {
	m := []Malformed{
		{
			Name:  "SUBSCRIBE/no-filters",
			Bytes: []byte{0x82, 0x02, 0x00, 0x01}, // SUBSCRIBE flags 0010, remaining length 2; packet identifier 1; no payload
			Rule:  "MQTT-3.8.3-3", Err: packet.ErrNoFilters,
		},
		{
			Name:  "UNSUBSCRIBE/no-filters",
			Bytes: []byte{0xA2, 0x02, 0x00, 0x01}, // UNSUBSCRIBE flags 0010, remaining length 2; packet identifier 1; no payload
			Rule:  "MQTT-3.10.3-2", Err: packet.ErrNoFilters,
		},
		{
			Name: "SUBSCRIBE/second-filter-qos3",
			Bytes: []byte{
				0x82, 0x0E, // SUBSCRIBE flags 0010, remaining length 14
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', 'b', 0x01, // topic filter "a/b", requested QoS 1
				0x00, 0x03, 'c', '/', 'd', 0x03, // topic filter "c/d", requested QoS 3
			},
			Rule: "MQTT-3.8.3-4", Err: packet.ErrRequestedQoS,
		},
	}
	for _, q := range []struct {
		name string
		qos  byte
	}{
		{"requested-qos-3", 0x03},
		{"requested-qos-0x04", 0x04}, // bit 2, the lowest reserved bit
		{"requested-qos-0x81", 0x81}, // bit 7 with QoS 1
		{"requested-qos-0x40", 0x40}, // bit 6 with QoS 0
		{"requested-qos-0x80", 0x80}, // the SUBACK failure code is no QoS
		{"requested-qos-0xFF", 0xFF},
	} {
		m = append(m, Malformed{
			Name: "SUBSCRIBE/" + q.name,
			Bytes: []byte{
				0x82, 0x08, // SUBSCRIBE flags 0010, remaining length 8
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
				q.qos, // requested QoS byte
			},
			Rule: "MQTT-3.8.3-4", Err: packet.ErrRequestedQoS,
		})
	}
	return m
}

// connectWithFlags is a CONNECT with the given connect flags, keep alive 60
// and client identifier "c", followed by payload (the fields the flags call
// for); the Remaining Length counts 13 bytes plus the payload.
func connectWithFlags(flags byte, payload ...byte) []byte {
	b := []byte{0x10, byte(13 + len(payload))}                             // CONNECT, remaining length
	b = append(b, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, flags, 0x00, 0x3C) // "MQTT", level 4, flags, keep alive 60
	b = append(b, 0x00, 0x01, 'c')                                         // client identifier "c"
	return append(b, payload...)
}

// malformedConnect covers the CONNECT variable header: protocol name
// [MQTT-3.1.2-1] and level [MQTT-3.1.2-2], the reserved flag
// [MQTT-3.1.2-3], and the flags that depend on one another
// [MQTT-3.1.2-13], [MQTT-3.1.2-14], [MQTT-3.1.2-15], [MQTT-3.1.2-22].
func malformedConnect() []Malformed {
	will := []byte{0x00, 0x03, 'w', '/', 't', 0x00, 0x01, 'm'} // will topic "w/t", will message "m"
	return []Malformed{
		{
			Name: "CONNECT/protocol-name-MQIsdp-lowercase",
			Bytes: []byte{
				0x10, 0x0F, // CONNECT, remaining length 15
				0x00, 0x06, 'm', 'q', 'i', 's', 'd', 'p', // protocol name "mqisdp"
				0x03, 0x02, 0x00, 0x3C, // level 3, clean session, keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
			},
			Rule: "MQTT-3.1.2-1", Err: packet.ErrProtocolName,
		},
		{
			// "MQIsdp" is MQTT 3.1's name; it goes with level 3 only.
			Name: "CONNECT/protocol-name-MQIsdp/level-4",
			Bytes: []byte{
				0x10, 0x0F, // CONNECT, remaining length 15
				0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
				0x04, 0x02, 0x00, 0x3C, // level 4, clean session, keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
			},
			Rule: "MQTT-3.1.2-2", Err: packet.ErrProtocolLevel,
		},
		{
			// MQTT 3.1 too has no will QoS 3.
			Name: "CONNECT/protocol-name-MQIsdp/will-qos3",
			Bytes: []byte{
				0x10, 0x14, // CONNECT, remaining length 20
				0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
				0x03, 0x1E, 0x00, 0x3C, // level 3, will QoS 3, will, clean session, keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x01, 'w', 0x00, 0x00, // will topic "w", will message ""
			},
			Rule: "MQTT-3.1.2-14", Err: packet.ErrQoS,
		},
		{
			// As in 3.1.1 (and Mosquitto), a password needs a user name.
			Name: "CONNECT/protocol-name-MQIsdp/password-without-username",
			Bytes: []byte{
				0x10, 0x12, // CONNECT, remaining length 18
				0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
				0x03, 0x42, 0x00, 0x3C, // level 3, password, clean session, keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x01, 'p', // password "p"
			},
			Rule: "MQTT-3.1.2-22", Err: packet.ErrConnectFlags,
		},
		{
			Name: "CONNECT/protocol-name-mqtt-lowercase",
			Bytes: []byte{
				0x10, 0x0D, // CONNECT, remaining length 13
				0x00, 0x04, 'm', 'q', 't', 't', // protocol name "mqtt"
				0x04, 0x02, 0x00, 0x3C, // level 4, clean session, keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
			},
			Rule: "MQTT-3.1.2-1", Err: packet.ErrProtocolName,
		},
		{
			Name: "CONNECT/protocol-level-3",
			Bytes: []byte{
				0x10, 0x0D, // CONNECT, remaining length 13
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x03, 0x02, 0x00, 0x3C, // level 3, clean session, keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
			},
			Rule: "MQTT-3.1.2-2", Err: packet.ErrProtocolLevel,
		},
		{
			// The CONNECT of MQTT 5.0, with an empty property list.
			Name: "CONNECT/protocol-level-5",
			Bytes: []byte{
				0x10, 0x0E, // CONNECT, remaining length 14
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x05, 0x02, 0x00, 0x3C, // level 5, clean start, keep alive 60
				0x00,            // property length 0
				0x00, 0x01, 'c', // client identifier "c"
			},
			Rule: "MQTT-3.1.2-2", Err: packet.ErrProtocolLevel,
		},
		{
			// Bit 0x80 marks a bridge (Mosquitto's try_private) on levels
			// 4 and 3 only.
			Name: "CONNECT/protocol-level-5-bridge",
			Bytes: []byte{
				0x10, 0x0E, // CONNECT, remaining length 14
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x85, 0x02, 0x00, 0x3C, // level 5 with the bridge bit, clean start, keep alive 60
				0x00,            // property length 0
				0x00, 0x01, 'c', // client identifier "c"
			},
			Rule: "MQTT-3.1.2-2", Err: packet.ErrProtocolLevel,
		},
		{Name: "CONNECT/reserved-flag", Bytes: connectWithFlags(0x01), Rule: "MQTT-3.1.2-3", Err: packet.ErrConnectFlags},                               // flags 00000001
		{Name: "CONNECT/reserved-flag/clean-session", Bytes: connectWithFlags(0x03), Rule: "MQTT-3.1.2-3", Err: packet.ErrConnectFlags},                 // flags 00000011
		{Name: "CONNECT/will-qos1-without-will-flag", Bytes: connectWithFlags(0x0A), Rule: "MQTT-3.1.2-13", Err: packet.ErrConnectFlags},                // flags 00001010
		{Name: "CONNECT/will-qos2-without-will-flag", Bytes: connectWithFlags(0x12), Rule: "MQTT-3.1.2-13", Err: packet.ErrConnectFlags},                // flags 00010010
		{Name: "CONNECT/will-qos3-without-will-flag", Bytes: connectWithFlags(0x1A), Rule: "MQTT-3.1.2-13", Err: packet.ErrConnectFlags},                // flags 00011010
		{Name: "CONNECT/will-retain-without-will-flag", Bytes: connectWithFlags(0x22), Rule: "MQTT-3.1.2-15", Err: packet.ErrConnectFlags},              // flags 00100010
		{Name: "CONNECT/will-qos3", Bytes: connectWithFlags(0x1E, will...), Rule: "MQTT-3.1.2-14", Err: packet.ErrQoS},                                  // flags 00011110
		{Name: "CONNECT/will-qos3/retain", Bytes: connectWithFlags(0x3E, will...), Rule: "MQTT-3.1.2-14", Err: packet.ErrQoS},                           // flags 00111110
		{Name: "CONNECT/password-without-username", Bytes: connectWithFlags(0x42, 0x00, 0x01, 'p'), Rule: "MQTT-3.1.2-22", Err: packet.ErrConnectFlags}, // flags 01000010; password "p"
	}
}

// malformedConnack covers the CONNACK variable header: reserved acknowledge
// flags (section 3.2.2.1), return codes 6 to 255 (section 3.2.2.3), and
// Session Present only with return code 0 [MQTT-3.2.2-4].
func malformedConnack() []Malformed {
	m := []Malformed{
		{Name: "CONNACK/ack-flags-0x02", Bytes: []byte{0x20, 0x02, 0x02, 0x00}, Rule: "3.2.2.1", Err: packet.ErrConnackFlags}, // ack flags 00000010; accepted
		{Name: "CONNACK/ack-flags-0x03", Bytes: []byte{0x20, 0x02, 0x03, 0x00}, Rule: "3.2.2.1", Err: packet.ErrConnackFlags}, // ack flags 00000011; accepted
		{Name: "CONNACK/ack-flags-0x80", Bytes: []byte{0x20, 0x02, 0x80, 0x00}, Rule: "3.2.2.1", Err: packet.ErrConnackFlags}, // ack flags 10000000; accepted
		{Name: "CONNACK/ack-flags-0xFE", Bytes: []byte{0x20, 0x02, 0xFE, 0x00}, Rule: "3.2.2.1", Err: packet.ErrConnackFlags}, // ack flags 11111110; accepted
		{Name: "CONNACK/return-code-6", Bytes: []byte{0x20, 0x02, 0x00, 0x06}, Rule: "3.2.2.3", Err: packet.ErrReturnCode},    // return code 6
		{Name: "CONNACK/return-code-0x80", Bytes: []byte{0x20, 0x02, 0x00, 0x80}, Rule: "3.2.2.3", Err: packet.ErrReturnCode}, // return code 128
		{Name: "CONNACK/return-code-0xFF", Bytes: []byte{0x20, 0x02, 0x00, 0xFF}, Rule: "3.2.2.3", Err: packet.ErrReturnCode}, // return code 255
	}
	for rc := byte(1); rc <= 5; rc++ {
		m = append(m, Malformed{
			Name:  "CONNACK/session-present/return-code-" + string('0'+rc),
			Bytes: []byte{0x20, 0x02, 0x01, rc}, // CONNACK, remaining length 2; session present; return code rc
			Rule:  "MQTT-3.2.2-4", Err: packet.ErrConnackFlags,
		})
	}
	return m
}

// malformedSuback covers the SUBACK payload: return codes 0x00, 0x01, 0x02
// and 0x80 only [MQTT-3.9.3-2], and at least one [MQTT-3.8.4-5].
func malformedSuback() []Malformed {
	return []Malformed{
		{Name: "SUBACK/return-code-3", Bytes: []byte{0x90, 0x03, 0x00, 0x01, 0x03}, Rule: "MQTT-3.9.3-2", Err: packet.ErrReturnCode},                      // id 1; code 3
		{Name: "SUBACK/return-code-0x81", Bytes: []byte{0x90, 0x03, 0x00, 0x01, 0x81}, Rule: "MQTT-3.9.3-2", Err: packet.ErrReturnCode},                   // id 1; code 0x81
		{Name: "SUBACK/return-code-0xFF", Bytes: []byte{0x90, 0x03, 0x00, 0x01, 0xFF}, Rule: "MQTT-3.9.3-2", Err: packet.ErrReturnCode},                   // id 1; code 0xFF
		{Name: "SUBACK/third-return-code-0x40", Bytes: []byte{0x90, 0x05, 0x00, 0x01, 0x00, 0x80, 0x40}, Rule: "MQTT-3.9.3-2", Err: packet.ErrReturnCode}, // id 1; codes 0, 0x80, 0x40
		{Name: "SUBACK/no-return-codes", Bytes: []byte{0x90, 0x02, 0x00, 0x01}, Rule: "MQTT-3.8.4-5", Err: packet.ErrMissingReturnCode},                   // id 1; no payload
	}
}

// malformedLength covers packets whose Remaining Length leaves bytes over
// after the last field (section 2.2.3): a CONNECT with an extra byte or
// with fields its flags do not announce, and the packets of fixed length
// with any other length, where the codec names the section that fixes the
// length of each type (3.2.1, 3.4.1, ... 3.14.1).
func malformedLength() []Malformed {
	return []Malformed{
		{
			Name: "CONNECT/trailing-byte",
			Bytes: []byte{
				0x10, 0x0E, // CONNECT, remaining length 14
				0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C, // "MQTT", level 4, clean session, keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, // one byte too many
			},
			Rule: "2.2.3", Err: packet.ErrTrailingBytes,
		},
		// A field the flags do not announce is left over too: the codec
		// cannot tell it from any other extra bytes [MQTT-3.1.2-11],
		// [MQTT-3.1.2-18], [MQTT-3.1.2-20].
		{Name: "CONNECT/will-without-will-flag", Bytes: connectWithFlags(0x02, 0x00, 0x03, 'w', '/', 't', 0x00, 0x01, 'm'), Rule: "2.2.3", Err: packet.ErrTrailingBytes}, // flags: clean session; will "w/t", "m"
		{Name: "CONNECT/username-without-flag", Bytes: connectWithFlags(0x02, 0x00, 0x01, 'u'), Rule: "2.2.3", Err: packet.ErrTrailingBytes},                             // flags: clean session; user name "u"
		{Name: "CONNECT/password-without-flag", Bytes: connectWithFlags(0x82, 0x00, 0x01, 'u', 0x00, 0x01, 'p'), Rule: "2.2.3", Err: packet.ErrTrailingBytes},            // flags: user name; "u", password "p"

		{Name: "PUBACK/remaining-length-0", Bytes: []byte{0x40, 0x00}, Rule: "3.4.1", Err: packet.ErrRemainingLength},                          // PUBACK, remaining length 0
		{Name: "PUBACK/remaining-length-1", Bytes: []byte{0x40, 0x01, 0x01}, Rule: "3.4.1", Err: packet.ErrRemainingLength},                    // PUBACK, remaining length 1
		{Name: "PUBACK/remaining-length-3", Bytes: []byte{0x40, 0x03, 0x00, 0x01, 0x00}, Rule: "3.4.1", Err: packet.ErrRemainingLength},        // PUBACK, remaining length 3
		{Name: "PUBREC/remaining-length-3", Bytes: []byte{0x50, 0x03, 0x00, 0x01, 0x00}, Rule: "3.5.1", Err: packet.ErrRemainingLength},        // PUBREC, remaining length 3
		{Name: "PUBREL/remaining-length-3", Bytes: []byte{0x62, 0x03, 0x00, 0x01, 0x00}, Rule: "3.6.1", Err: packet.ErrRemainingLength},        // PUBREL, remaining length 3
		{Name: "PUBCOMP/remaining-length-4", Bytes: []byte{0x70, 0x04, 0x00, 0x01, 0x00, 0x02}, Rule: "3.7.1", Err: packet.ErrRemainingLength}, // PUBCOMP, remaining length 4
		{Name: "UNSUBACK/remaining-length-3", Bytes: []byte{0xB0, 0x03, 0x00, 0x01, 0x00}, Rule: "3.11.1", Err: packet.ErrRemainingLength},     // UNSUBACK, remaining length 3

		{Name: "CONNACK/remaining-length-1", Bytes: []byte{0x20, 0x01, 0x00}, Rule: "3.2.1", Err: packet.ErrRemainingLength},             // CONNACK, remaining length 1
		{Name: "CONNACK/remaining-length-3", Bytes: []byte{0x20, 0x03, 0x00, 0x00, 0x00}, Rule: "3.2.1", Err: packet.ErrRemainingLength}, // CONNACK, remaining length 3
		{Name: "PINGREQ/remaining-length-1", Bytes: []byte{0xC0, 0x01, 0x00}, Rule: "3.12.1", Err: packet.ErrRemainingLength},            // PINGREQ, remaining length 1
		{Name: "PINGRESP/remaining-length-1", Bytes: []byte{0xD0, 0x01, 0x00}, Rule: "3.13.1", Err: packet.ErrRemainingLength},           // PINGRESP, remaining length 1
		{Name: "DISCONNECT/remaining-length-1", Bytes: []byte{0xE0, 0x01, 0x00}, Rule: "3.14.1", Err: packet.ErrRemainingLength},         // DISCONNECT, remaining length 1
		{Name: "DISCONNECT/remaining-length-2", Bytes: []byte{0xE0, 0x02, 0x00, 0x00}, Rule: "3.14.1", Err: packet.ErrRemainingLength},   // DISCONNECT, remaining length 2
	}
}

// malformedShort covers fields that run past the end of the packet
// (section 2.2.3): the Remaining Length ends inside a field, or a length
// prefix claims more bytes than the packet has left.
func malformedShort() []Malformed {
	const short = "2.2.3"
	return []Malformed{
		{Name: "CONNECT/empty-body", Bytes: []byte{0x10, 0x00}, Rule: short, Err: packet.ErrShortPacket},                         // CONNECT, remaining length 0
		{Name: "CONNECT/protocol-name-cut", Bytes: []byte{0x10, 0x03, 0x00, 0x04, 'M'}, Rule: short, Err: packet.ErrShortPacket}, // "MQTT" cut after 'M'
		{
			Name:  "CONNECT/variable-header-cut",
			Bytes: []byte{0x10, 0x08, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02}, // "MQTT", level 4, flags; no keep alive
			Rule:  short, Err: packet.ErrShortPacket,
		},
		{
			Name:  "CONNECT/no-client-id",
			Bytes: []byte{0x10, 0x0A, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C}, // variable header only [MQTT-3.1.3-3]
			Rule:  short, Err: packet.ErrShortPacket,
		},
		{
			Name: "CONNECT/client-id-length-past-end",
			Bytes: []byte{
				0x10, 0x0D, // CONNECT, remaining length 13
				0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C, // "MQTT", level 4, clean session, keep alive 60
				0x00, 0x05, 'a', // client identifier length 5, one byte left
			},
			Rule: short, Err: packet.ErrShortPacket,
		},
		{Name: "CONNECT/no-will-topic", Bytes: connectWithFlags(0x06), Rule: short, Err: packet.ErrShortPacket},                                                     // will flag, nothing after "c" [MQTT-3.1.2-9]
		{Name: "CONNECT/no-will-message", Bytes: connectWithFlags(0x06, 0x00, 0x03, 'w', '/', 't'), Rule: short, Err: packet.ErrShortPacket},                        // will topic "w/t" only
		{Name: "CONNECT/will-message-past-end", Bytes: connectWithFlags(0x06, 0x00, 0x03, 'w', '/', 't', 0x00, 0x09, 'm'), Rule: short, Err: packet.ErrShortPacket}, // will message length 9, one byte left
		{Name: "CONNECT/no-username", Bytes: connectWithFlags(0x82), Rule: short, Err: packet.ErrShortPacket},                                                       // user name flag, nothing after "c" [MQTT-3.1.2-19]
		{Name: "CONNECT/no-password", Bytes: connectWithFlags(0xC2, 0x00, 0x01, 'u'), Rule: short, Err: packet.ErrShortPacket},                                      // password flag, user name "u" only [MQTT-3.1.2-21]
		{Name: "CONNECT/password-past-end", Bytes: connectWithFlags(0xC2, 0x00, 0x01, 'u', 0x00, 0x02, 'p'), Rule: short, Err: packet.ErrShortPacket},               // password length 2, one byte left

		{Name: "PUBLISH/empty-body", Bytes: []byte{0x30, 0x00}, Rule: short, Err: packet.ErrShortPacket},                                          // PUBLISH QoS 0, remaining length 0
		{Name: "PUBLISH/topic-length-cut", Bytes: []byte{0x30, 0x01, 0x00}, Rule: short, Err: packet.ErrShortPacket},                              // half a length prefix
		{Name: "PUBLISH/topic-length-past-end", Bytes: []byte{0x30, 0x04, 0x00, 0x05, 'a', 'b'}, Rule: short, Err: packet.ErrShortPacket},         // topic length 5, two bytes left
		{Name: "PUBLISH/qos1/no-packet-id", Bytes: []byte{0x32, 0x05, 0x00, 0x03, 'a', '/', 'b'}, Rule: short, Err: packet.ErrShortPacket},        // topic "a/b", no identifier
		{Name: "PUBLISH/qos1/packet-id-cut", Bytes: []byte{0x32, 0x06, 0x00, 0x03, 'a', '/', 'b', 0x00}, Rule: short, Err: packet.ErrShortPacket}, // one identifier byte
		{Name: "PUBLISH/qos2/no-packet-id", Bytes: []byte{0x34, 0x05, 0x00, 0x03, 'a', '/', 'b'}, Rule: short, Err: packet.ErrShortPacket},        // topic "a/b", no identifier

		{Name: "SUBSCRIBE/empty-body", Bytes: []byte{0x82, 0x00}, Rule: short, Err: packet.ErrShortPacket},                                                // no packet identifier
		{Name: "SUBSCRIBE/packet-id-cut", Bytes: []byte{0x82, 0x01, 0x00}, Rule: short, Err: packet.ErrShortPacket},                                       // one identifier byte
		{Name: "SUBSCRIBE/filter-length-cut", Bytes: []byte{0x82, 0x03, 0x00, 0x01, 0x00}, Rule: short, Err: packet.ErrShortPacket},                       // half a length prefix
		{Name: "SUBSCRIBE/filter-length-past-end", Bytes: []byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x05, 'a', 'b'}, Rule: short, Err: packet.ErrShortPacket},  // filter length 5, two bytes left
		{Name: "SUBSCRIBE/filter-without-qos", Bytes: []byte{0x82, 0x07, 0x00, 0x01, 0x00, 0x03, 'a', '/', 'b'}, Rule: short, Err: packet.ErrShortPacket}, // "a/b", no QoS byte
		{
			Name: "SUBSCRIBE/second-filter-without-qos",
			Bytes: []byte{
				0x82, 0x0D, // SUBSCRIBE flags 0010, remaining length 13
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', 'b', 0x01, // topic filter "a/b", requested QoS 1
				0x00, 0x03, 'c', '/', 'd', // topic filter "c/d", no QoS byte
			},
			Rule: short, Err: packet.ErrShortPacket,
		},

		{Name: "UNSUBSCRIBE/empty-body", Bytes: []byte{0xA2, 0x00}, Rule: short, Err: packet.ErrShortPacket},                                          // no packet identifier
		{Name: "UNSUBSCRIBE/filter-length-cut", Bytes: []byte{0xA2, 0x03, 0x00, 0x01, 0x00}, Rule: short, Err: packet.ErrShortPacket},                 // half a length prefix
		{Name: "UNSUBSCRIBE/filter-length-past-end", Bytes: []byte{0xA2, 0x05, 0x00, 0x01, 0x00, 0x05, 'a'}, Rule: short, Err: packet.ErrShortPacket}, // filter length 5, one byte left
		{
			Name: "UNSUBSCRIBE/second-filter-past-end",
			Bytes: []byte{
				0xA2, 0x0B, // UNSUBSCRIBE flags 0010, remaining length 11
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
				0x00, 0x03, 'c', '/', // topic filter length 3, two bytes left
			},
			Rule: short, Err: packet.ErrShortPacket,
		},

		{Name: "SUBACK/empty-body", Bytes: []byte{0x90, 0x00}, Rule: short, Err: packet.ErrShortPacket},          // no packet identifier
		{Name: "SUBACK/packet-id-cut", Bytes: []byte{0x90, 0x01, 0x00}, Rule: short, Err: packet.ErrShortPacket}, // one identifier byte
	}
}
