package packettest

import "github.com/petrel-mqtt/petrel/packet"

// validConnect covers CONNECT (section 3.1). Every vector starts with the
// ten-byte variable header of section 3.1.2: protocol name "MQTT", protocol
// level 4, connect flags and keep alive. The flags byte is, from bit 7 down:
// user name, password, will retain, will QoS (2 bits), will flag, clean
// session, reserved (0).
func validConnect() []Vector {
	return []Vector{
		{
			// The codec checks wire rules only: a zero-byte ClientId is
			// legal on the wire, with CleanSession set as MQTT-3.1.3-7 asks.
			Name: "CONNECT/empty-client-id/clean-session",
			Bytes: []byte{
				0x10, 0x0C, // CONNECT, remaining length 12
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x02,       // connect flags: clean session
				0x00, 0x00, // keep alive 0 (off)
				0x00, 0x00, // client identifier "" (zero bytes)
			},
			Packet: &packet.Connect{CleanSession: true, ClientID: []byte{}},
		},
		{
			// Also legal on the wire: the server, not the codec, answers
			// it with CONNACK 0x02 [MQTT-3.1.3-8].
			Name: "CONNECT/empty-client-id/no-clean-session",
			Bytes: []byte{
				0x10, 0x0C, // CONNECT, remaining length 12
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x00,       // connect flags: none
				0x00, 0x00, // keep alive 0
				0x00, 0x00, // client identifier ""
			},
			Packet: &packet.Connect{ClientID: []byte{}},
		},
		{
			Name: "CONNECT/minimal",
			Bytes: []byte{
				0x10, 0x0D, // CONNECT, remaining length 13
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x00,       // connect flags: none
				0x00, 0x00, // keep alive 0
				0x00, 0x01, 'a', // client identifier "a"
			},
			Packet: &packet.Connect{ClientID: []byte("a")},
		},
		{
			Name: "CONNECT/clean-session/keepalive-60",
			Bytes: []byte{
				0x10, 0x12, // CONNECT, remaining length 18
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x02,       // connect flags: clean session
				0x00, 0x3C, // keep alive 60
				0x00, 0x06, 'p', 'e', 't', 'r', 'e', 'l', // client identifier "petrel"
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: []byte("petrel")},
		},
		{
			// 65535 s, the longest keep alive: 18 h 12 min 15 s.
			Name: "CONNECT/keepalive-65535",
			Bytes: []byte{
				0x10, 0x0D, // CONNECT, remaining length 13
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x00,       // connect flags: none
				0xFF, 0xFF, // keep alive 65535
				0x00, 0x01, 'k', // client identifier "k"
			},
			Packet: &packet.Connect{KeepAlive: 0xFFFF, ClientID: []byte("k")},
		},
		{
			Name: "CONNECT/will-qos0",
			Bytes: []byte{
				0x10, 0x17, // CONNECT, remaining length 23
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x06,       // connect flags: will QoS 0, will flag, clean session
				0x00, 0x3C, // keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x03, 'w', '/', 't', // will topic "w/t"
				0x00, 0x03, 'b', 'y', 'e', // will message "bye"
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: []byte("c"),
				WillFlag: true, WillTopic: []byte("w/t"), WillMessage: []byte("bye")},
		},
		{
			Name: "CONNECT/will-qos0/retain",
			Bytes: []byte{
				0x10, 0x17, // CONNECT, remaining length 23
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x26,       // connect flags: will retain, will QoS 0, will flag, clean session
				0x00, 0x3C, // keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x03, 'w', '/', 't', // will topic "w/t"
				0x00, 0x03, 'b', 'y', 'e', // will message "bye"
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: []byte("c"),
				WillFlag: true, WillRetain: true, WillTopic: []byte("w/t"), WillMessage: []byte("bye")},
		},
		{
			Name: "CONNECT/will-qos1",
			Bytes: []byte{
				0x10, 0x17, // CONNECT, remaining length 23
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x0E,       // connect flags: will QoS 1, will flag, clean session
				0x00, 0x3C, // keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x03, 'w', '/', 't', // will topic "w/t"
				0x00, 0x03, 'b', 'y', 'e', // will message "bye"
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: []byte("c"),
				WillFlag: true, WillQoS: packet.QoS1, WillTopic: []byte("w/t"), WillMessage: []byte("bye")},
		},
		{
			Name: "CONNECT/will-qos1/retain",
			Bytes: []byte{
				0x10, 0x17, // CONNECT, remaining length 23
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x2E,       // connect flags: will retain, will QoS 1, will flag, clean session
				0x00, 0x3C, // keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x03, 'w', '/', 't', // will topic "w/t"
				0x00, 0x03, 'b', 'y', 'e', // will message "bye"
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: []byte("c"),
				WillFlag: true, WillQoS: packet.QoS1, WillRetain: true, WillTopic: []byte("w/t"), WillMessage: []byte("bye")},
		},
		{
			Name: "CONNECT/will-qos2",
			Bytes: []byte{
				0x10, 0x17, // CONNECT, remaining length 23
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x16,       // connect flags: will QoS 2, will flag, clean session
				0x00, 0x3C, // keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x03, 'w', '/', 't', // will topic "w/t"
				0x00, 0x03, 'b', 'y', 'e', // will message "bye"
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: []byte("c"),
				WillFlag: true, WillQoS: packet.QoS2, WillTopic: []byte("w/t"), WillMessage: []byte("bye")},
		},
		{
			Name: "CONNECT/will-qos2/retain",
			Bytes: []byte{
				0x10, 0x17, // CONNECT, remaining length 23
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x36,       // connect flags: will retain, will QoS 2, will flag, clean session
				0x00, 0x3C, // keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x03, 'w', '/', 't', // will topic "w/t"
				0x00, 0x03, 'b', 'y', 'e', // will message "bye"
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: []byte("c"),
				WillFlag: true, WillQoS: packet.QoS2, WillRetain: true, WillTopic: []byte("w/t"), WillMessage: []byte("bye")},
		},
		{
			// The will message is binary data of zero or more bytes
			// (section 3.1.3.3).
			Name: "CONNECT/will-empty-message",
			Bytes: []byte{
				0x10, 0x14, // CONNECT, remaining length 20
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x04,       // connect flags: will QoS 0, will flag
				0x00, 0x00, // keep alive 0
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x03, 'w', '/', 't', // will topic "w/t"
				0x00, 0x00, // will message: zero bytes
			},
			Packet: &packet.Connect{ClientID: []byte("c"), WillFlag: true, WillTopic: []byte("w/t"), WillMessage: []byte{}},
		},
		{
			Name: "CONNECT/username",
			Bytes: []byte{
				0x10, 0x13, // CONNECT, remaining length 19
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x82,       // connect flags: user name, clean session
				0x00, 0x3C, // keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x04, 'u', 's', 'e', 'r', // user name "user"
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: []byte("c"),
				UsernameFlag: true, Username: []byte("user")},
		},
		{
			// The password is binary data: U+0000 and 0xFF are fine.
			Name: "CONNECT/username-password",
			Bytes: []byte{
				0x10, 0x18, // CONNECT, remaining length 24
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0xC2,       // connect flags: user name, password, clean session
				0x00, 0x3C, // keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x04, 'u', 's', 'e', 'r', // user name "user"
				0x00, 0x03, 0x00, 0xFF, 'p', // password 00 FF 'p'
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 60, ClientID: []byte("c"),
				UsernameFlag: true, Username: []byte("user"), PasswordFlag: true, Password: []byte{0x00, 0xFF, 'p'}},
		},
		{
			Name: "CONNECT/empty-username-password",
			Bytes: []byte{
				0x10, 0x11, // CONNECT, remaining length 17
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0xC0,       // connect flags: user name, password
				0x00, 0x00, // keep alive 0
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x00, // user name ""
				0x00, 0x00, // password: zero bytes
			},
			Packet: &packet.Connect{ClientID: []byte("c"),
				UsernameFlag: true, Username: []byte{}, PasswordFlag: true, Password: []byte{}},
		},
		{
			Name: "CONNECT/everything",
			Bytes: []byte{
				0x10, 0x36, // CONNECT, remaining length 54
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0xF6,       // connect flags: user name, password, will retain, will QoS 2, will flag, clean session
				0x01, 0x2C, // keep alive 300
				0x00, 0x0A, 'e', 'v', 'e', 'r', 'y', 't', 'h', 'i', 'n', 'g', // client identifier "everything"
				0x00, 0x09, 'l', 'a', 's', 't', '/', 'w', 'i', 'l', 'l', // will topic "last/will"
				0x00, 0x04, 'g', 'o', 'n', 'e', // will message "gone"
				0x00, 0x05, 'a', 'l', 'i', 'c', 'e', // user name "alice"
				0x00, 0x06, 's', '3', 'c', 'r', 'e', 't', // password "s3cret"
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 300, ClientID: []byte("everything"),
				WillFlag: true, WillQoS: packet.QoS2, WillRetain: true, WillTopic: []byte("last/will"), WillMessage: []byte("gone"),
				UsernameFlag: true, Username: []byte("alice"), PasswordFlag: true, Password: []byte("s3cret")},
		},
		{
			// The variable header is Figure 3.6 of section 3.1.2.11: flags
			// 11001110, keep alive 10. The spec gives no payload; this one
			// carries the fields those flags call for.
			Name: "CONNECT/spec-3.1.2.11",
			Bytes: []byte{
				0x10, 0x2A, // CONNECT, remaining length 42
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0xCE,       // connect flags: user name, password, will QoS 1, will flag, clean session
				0x00, 0x0A, // keep alive 10
				0x00, 0x04, 's', 'p', 'e', 'c', // client identifier "spec"
				0x00, 0x03, 'a', '/', 'b', // will topic "a/b"
				0x00, 0x07, 'o', 'f', 'f', 'l', 'i', 'n', 'e', // will message "offline"
				0x00, 0x04, 'u', 's', 'e', 'r', // user name "user"
				0x00, 0x04, 'p', 'a', 's', 's', // password "pass"
			},
			Packet: &packet.Connect{CleanSession: true, KeepAlive: 10, ClientID: []byte("spec"),
				WillFlag: true, WillQoS: packet.QoS1, WillTopic: []byte("a/b"), WillMessage: []byte("offline"),
				UsernameFlag: true, Username: []byte("user"), PasswordFlag: true, Password: []byte("pass")},
		},
		{
			Name: "CONNECT/non-ascii-strings",
			Bytes: []byte{
				0x10, 0x2A, // CONNECT, remaining length 42
				0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name "MQTT"
				0x04,       // protocol level 4
				0x86,       // connect flags: user name, will QoS 0, will flag, clean session
				0x00, 0x00, // keep alive 0
				0x00, 0x08, // client identifier length 8
				0xC3, 0xBC, // U+00FC 'ü'
				0xE2, 0x82, 0xAC, // U+20AC '€'
				0xEF, 0xBB, 0xBF, // U+FEFF, kept [MQTT-1.5.3-3]
				0x00, 0x06, // will topic length 6
				0xE6, 0xB8, 0xA9, // U+6E29 '温'
				'/', 0xC3, 0xBC, // "/ü"
				0x00, 0x04, 0xF0, 0x9F, 0x98, 0x80, // will message: U+1F600, as bytes
				0x00, 0x06, // user name length 6
				0xE7, 0x94, 0xA8, // U+7528 '用'
				0xE6, 0x88, 0xB7, // U+6237 '户'
			},
			Packet: &packet.Connect{CleanSession: true, ClientID: []byte("ü€\uFEFF"),
				WillFlag: true, WillTopic: []byte("温/ü"), WillMessage: []byte("\U0001F600"),
				UsernameFlag: true, Username: []byte("用户")},
		},
		{
			// MQTT 3.1: protocol name "MQIsdp", level 3; the rest is laid
			// out as in 3.1.1.
			Name: "CONNECT/mqtt31/minimal",
			Bytes: []byte{
				0x10, 0x0F, // CONNECT, remaining length 15
				0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
				0x03,       // protocol level 3
				0x02,       // connect flags: clean session
				0x00, 0x3C, // keep alive 60
				0x00, 0x01, 'c', // client identifier "c"
			},
			Packet: &packet.Connect{MQTT31: true, CleanSession: true, KeepAlive: 60, ClientID: []byte("c")},
		},
		{
			Name: "CONNECT/mqtt31/will-username-password",
			Bytes: []byte{
				0x10, 0x1C, // CONNECT, remaining length 28
				0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
				0x03,       // protocol level 3
				0xEE,       // connect flags: user name, password, will retain, will QoS 1, will, clean session
				0x00, 0x0A, // keep alive 10
				0x00, 0x01, 'c', // client identifier "c"
				0x00, 0x01, 'w', // will topic "w"
				0x00, 0x01, 'm', // will message "m"
				0x00, 0x01, 'u', // user name "u"
				0x00, 0x02, 'p', 'w', // password "pw"
			},
			Packet: &packet.Connect{MQTT31: true, CleanSession: true, KeepAlive: 10, ClientID: []byte("c"),
				WillFlag: true, WillQoS: packet.QoS1, WillRetain: true, WillTopic: []byte("w"), WillMessage: []byte("m"),
				UsernameFlag: true, Username: []byte("u"), PasswordFlag: true, Password: []byte("pw")},
		},
	}
}

// validConnack covers CONNACK (section 3.2): every return code of Table
// 3.1, and Session Present, which only return code 0 may carry
// [MQTT-3.2.2-4].
func validConnack() []Vector {
	return []Vector{
		{
			Name:   "CONNACK/accepted",
			Bytes:  []byte{0x20, 0x02, 0x00, 0x00}, // CONNACK, remaining length 2; ack flags 0; return code 0 accepted
			Packet: &packet.Connack{ReturnCode: packet.Accepted},
		},
		{
			Name:   "CONNACK/accepted/session-present",
			Bytes:  []byte{0x20, 0x02, 0x01, 0x00}, // CONNACK, remaining length 2; session present; return code 0
			Packet: &packet.Connack{SessionPresent: true, ReturnCode: packet.Accepted},
		},
		{
			Name:   "CONNACK/refused-protocol-version",
			Bytes:  []byte{0x20, 0x02, 0x00, 0x01}, // CONNACK, remaining length 2; ack flags 0; return code 1
			Packet: &packet.Connack{ReturnCode: packet.RefusedProtocolVersion},
		},
		{
			Name:   "CONNACK/refused-identifier-rejected",
			Bytes:  []byte{0x20, 0x02, 0x00, 0x02}, // CONNACK, remaining length 2; ack flags 0; return code 2
			Packet: &packet.Connack{ReturnCode: packet.RefusedIdentifierRejected},
		},
		{
			Name:   "CONNACK/refused-server-unavailable",
			Bytes:  []byte{0x20, 0x02, 0x00, 0x03}, // CONNACK, remaining length 2; ack flags 0; return code 3
			Packet: &packet.Connack{ReturnCode: packet.RefusedServerUnavailable},
		},
		{
			Name:   "CONNACK/refused-bad-username-or-password",
			Bytes:  []byte{0x20, 0x02, 0x00, 0x04}, // CONNACK, remaining length 2; ack flags 0; return code 4
			Packet: &packet.Connack{ReturnCode: packet.RefusedBadUserNameOrPassword},
		},
		{
			Name:   "CONNACK/refused-not-authorized",
			Bytes:  []byte{0x20, 0x02, 0x00, 0x05}, // CONNACK, remaining length 2; ack flags 0; return code 5
			Packet: &packet.Connack{ReturnCode: packet.RefusedNotAuthorized},
		},
	}
}
