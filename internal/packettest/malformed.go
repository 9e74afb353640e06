package packettest

import "github.com/petrel-mqtt/petrel/packet"

// MalformedVectors returns packets that each break one rule of MQTT 3.1.1,
// with the Rule and sentinel Err of the *packet.ProtocolError the decoder
// reports. Each call builds a new slice with new byte slices. (It cannot be
// called Malformed: that is the name of its element type.)
//
// Every vector is a complete packet: its Remaining Length matches the bytes
// that follow, so the failure is the named rule and not a short read. The
// one exception is the Remaining Length that would need a fifth byte, which
// no complete packet can carry.
func MalformedVectors() []Malformed {
	var m []Malformed
	m = append(m, malformedHeader()...)
	m = append(m, malformedFlags()...)
	m = append(m, malformedPublish()...)
	m = append(m, malformedPacketID()...)
	m = append(m, malformedStrings()...)
	m = append(m, malformedTopics()...)
	m = append(m, malformedFilters()...)
	m = append(m, malformedSubscribe()...)
	m = append(m, malformedConnect()...)
	m = append(m, malformedConnack()...)
	m = append(m, malformedSuback()...)
	m = append(m, malformedLength()...)
	m = append(m, malformedShort()...)
	return m
}

// malformedHeader covers the fixed header: the Remaining Length takes at
// most four bytes, and packet types 0 and 15 are reserved (section 2.2).
func malformedHeader() []Malformed {
	return []Malformed{
		{
			Name: "header/remaining-length-5-bytes",
			Bytes: []byte{
				0x30,                   // PUBLISH QoS 0
				0xFF, 0xFF, 0xFF, 0xFF, // remaining length: four bytes, all with the continuation bit
				0x01, // a fifth byte
			},
			Rule: "2.2.3", Err: packet.ErrRemainingLength,
		},
		{
			Name:  "header/remaining-length-5-bytes/PINGREQ",
			Bytes: []byte{0xC0, 0x80, 0x80, 0x80, 0x80, 0x00}, // PINGREQ; remaining length 0 in five bytes
			Rule:  "2.2.3", Err: packet.ErrRemainingLength,
		},
		{
			Name:  "header/type-0",
			Bytes: []byte{0x00, 0x00}, // reserved type 0, remaining length 0
			Rule:  "2.2.1", Err: packet.ErrPacketType,
		},
		{
			Name:  "header/type-0/with-body",
			Bytes: []byte{0x00, 0x02, 0x00, 0x01}, // reserved type 0, remaining length 2; two bytes
			Rule:  "2.2.1", Err: packet.ErrPacketType,
		},
		{
			Name:  "header/type-15",
			Bytes: []byte{0xF0, 0x00}, // reserved type 15, remaining length 0
			Rule:  "2.2.1", Err: packet.ErrPacketType,
		},
		{
			Name:  "header/type-15/flags",
			Bytes: []byte{0xFF, 0x01, 0x00}, // reserved type 15 flags 1111, remaining length 1; one byte
			Rule:  "2.2.1", Err: packet.ErrPacketType,
		},
	}
}

// malformedFlags covers the reserved fixed-header flags of every type but
// PUBLISH: 0010 for PUBREL, SUBSCRIBE and UNSUBSCRIBE, 0000 for the others
// [MQTT-2.2.2-1]. Each vector is otherwise valid.
func malformedFlags() []Malformed {
	const flags = "MQTT-2.2.2-1"
	return []Malformed{
		{
			Name: "CONNECT/flags-0001",
			Bytes: []byte{
				0x11, 0x0D, // CONNECT flags 0001, remaining length 13
				0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x00, 0x00, 0x00, // "MQTT", level 4, flags 0, keep alive 0
				0x00, 0x01, 'a', // client identifier "a"
			},
			Rule: flags, Err: packet.ErrFlags,
		},
		{
			Name: "CONNECT/flags-0010",
			Bytes: []byte{
				0x12, 0x0D, // CONNECT flags 0010, remaining length 13
				0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x00, 0x00, 0x00, // "MQTT", level 4, flags 0, keep alive 0
				0x00, 0x01, 'a', // client identifier "a"
			},
			Rule: flags, Err: packet.ErrFlags,
		},
		{Name: "CONNACK/flags-0001", Bytes: []byte{0x21, 0x02, 0x00, 0x00}, Rule: flags, Err: packet.ErrFlags},         // CONNACK flags 0001; accepted
		{Name: "PUBACK/flags-0010", Bytes: []byte{0x42, 0x02, 0x00, 0x01}, Rule: flags, Err: packet.ErrFlags},          // PUBACK flags 0010; id 1
		{Name: "PUBREC/flags-0001", Bytes: []byte{0x51, 0x02, 0x00, 0x01}, Rule: flags, Err: packet.ErrFlags},          // PUBREC flags 0001; id 1
		{Name: "PUBREL/flags-0000", Bytes: []byte{0x60, 0x02, 0x00, 0x01}, Rule: "MQTT-3.6.1-1", Err: packet.ErrFlags}, // PUBREL flags 0000; id 1
		{Name: "PUBREL/flags-0011", Bytes: []byte{0x63, 0x02, 0x00, 0x01}, Rule: "MQTT-3.6.1-1", Err: packet.ErrFlags}, // PUBREL flags 0011; id 1
		{Name: "PUBCOMP/flags-1000", Bytes: []byte{0x78, 0x02, 0x00, 0x01}, Rule: flags, Err: packet.ErrFlags},         // PUBCOMP flags 1000; id 1
		{
			Name: "SUBSCRIBE/flags-0000",
			Bytes: []byte{
				0x80, 0x08, // SUBSCRIBE flags 0000, remaining length 8
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', 'b', 0x00, // topic filter "a/b", requested QoS 0
			},
			Rule: "MQTT-3.8.1-1", Err: packet.ErrFlags,
		},
		{
			Name: "SUBSCRIBE/flags-0011",
			Bytes: []byte{
				0x83, 0x08, // SUBSCRIBE flags 0011, remaining length 8
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', 'b', 0x00, // topic filter "a/b", requested QoS 0
			},
			Rule: "MQTT-3.8.1-1", Err: packet.ErrFlags,
		},
		{Name: "SUBACK/flags-1111", Bytes: []byte{0x9F, 0x03, 0x00, 0x01, 0x00}, Rule: flags, Err: packet.ErrFlags}, // SUBACK flags 1111; id 1; QoS 0
		{
			Name: "UNSUBSCRIBE/flags-0000",
			Bytes: []byte{
				0xA0, 0x07, // UNSUBSCRIBE flags 0000, remaining length 7
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			},
			Rule: "MQTT-3.10.1-1", Err: packet.ErrFlags,
		},
		{
			Name: "UNSUBSCRIBE/flags-1010",
			Bytes: []byte{
				0xAA, 0x07, // UNSUBSCRIBE flags 1010, remaining length 7
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			},
			Rule: "MQTT-3.10.1-1", Err: packet.ErrFlags,
		},
		{Name: "UNSUBACK/flags-0010", Bytes: []byte{0xB2, 0x02, 0x00, 0x01}, Rule: flags, Err: packet.ErrFlags}, // UNSUBACK flags 0010; id 1
		{Name: "PINGREQ/flags-0001", Bytes: []byte{0xC1, 0x00}, Rule: flags, Err: packet.ErrFlags},              // PINGREQ flags 0001
		{Name: "PINGRESP/flags-1000", Bytes: []byte{0xD8, 0x00}, Rule: flags, Err: packet.ErrFlags},             // PINGRESP flags 1000
		{Name: "DISCONNECT/flags-0001", Bytes: []byte{0xE1, 0x00}, Rule: "MQTT-3.14.1-1", Err: packet.ErrFlags}, // DISCONNECT flags 0001
		{Name: "DISCONNECT/flags-0010", Bytes: []byte{0xE2, 0x00}, Rule: "MQTT-3.14.1-1", Err: packet.ErrFlags}, // DISCONNECT flags 0010
	}
}

// malformedPublish covers the PUBLISH flags: QoS 3 [MQTT-3.3.1-4] and DUP
// on QoS 0 [MQTT-3.3.1-2].
func malformedPublish() []Malformed {
	return []Malformed{
		{
			Name: "PUBLISH/qos3",
			Bytes: []byte{
				0x36, 0x07, // PUBLISH QoS 3, remaining length 7
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x01, // packet identifier 1
			},
			Rule: "MQTT-3.3.1-4", Err: packet.ErrQoS,
		},
		{
			Name: "PUBLISH/qos3/dup/retain",
			Bytes: []byte{
				0x3F, 0x07, // PUBLISH DUP QoS 3 RETAIN, remaining length 7
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x01, // packet identifier 1
			},
			Rule: "MQTT-3.3.1-4", Err: packet.ErrQoS,
		},
		{
			Name: "PUBLISH/qos0/dup",
			Bytes: []byte{
				0x38, 0x05, // PUBLISH DUP QoS 0, remaining length 5
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			},
			Rule: "MQTT-3.3.1-2", Err: packet.ErrDup,
		},
		{
			Name: "PUBLISH/qos0/dup/retain",
			Bytes: []byte{
				0x39, 0x07, // PUBLISH DUP QoS 0 RETAIN, remaining length 7
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				'h', 'i', // payload "hi"
			},
			Rule: "MQTT-3.3.1-2", Err: packet.ErrDup,
		},
	}
}

// malformedPacketID covers packet identifier 0 where one is required
// (section 2.3.1): a QoS 1 or 2 PUBLISH, SUBSCRIBE and UNSUBSCRIBE
// [MQTT-2.3.1-1], and the acknowledgements that repeat it [MQTT-2.3.1-6],
// [MQTT-2.3.1-7].
func malformedPacketID() []Malformed {
	return []Malformed{
		{
			Name: "PUBLISH/qos1/id-0",
			Bytes: []byte{
				0x32, 0x07, // PUBLISH QoS 1, remaining length 7
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x00, // packet identifier 0
			},
			Rule: "MQTT-2.3.1-1", Err: packet.ErrPacketID,
		},
		{
			Name: "PUBLISH/qos2/id-0",
			Bytes: []byte{
				0x34, 0x09, // PUBLISH QoS 2, remaining length 9
				0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
				0x00, 0x00, // packet identifier 0
				'h', 'i', // payload "hi"
			},
			Rule: "MQTT-2.3.1-1", Err: packet.ErrPacketID,
		},
		{Name: "PUBACK/id-0", Bytes: []byte{0x40, 0x02, 0x00, 0x00}, Rule: "MQTT-2.3.1-6", Err: packet.ErrPacketID},       // PUBACK; id 0
		{Name: "PUBREC/id-0", Bytes: []byte{0x50, 0x02, 0x00, 0x00}, Rule: "MQTT-2.3.1-6", Err: packet.ErrPacketID},       // PUBREC; id 0
		{Name: "PUBREL/id-0", Bytes: []byte{0x62, 0x02, 0x00, 0x00}, Rule: "MQTT-2.3.1-6", Err: packet.ErrPacketID},       // PUBREL flags 0010; id 0
		{Name: "PUBCOMP/id-0", Bytes: []byte{0x70, 0x02, 0x00, 0x00}, Rule: "MQTT-2.3.1-6", Err: packet.ErrPacketID},      // PUBCOMP; id 0
		{Name: "SUBACK/id-0", Bytes: []byte{0x90, 0x03, 0x00, 0x00, 0x00}, Rule: "MQTT-2.3.1-7", Err: packet.ErrPacketID}, // SUBACK; id 0; QoS 0
		{Name: "UNSUBACK/id-0", Bytes: []byte{0xB0, 0x02, 0x00, 0x00}, Rule: "MQTT-2.3.1-7", Err: packet.ErrPacketID},     // UNSUBACK; id 0
		{
			Name: "SUBSCRIBE/id-0",
			Bytes: []byte{
				0x82, 0x08, // SUBSCRIBE flags 0010, remaining length 8
				0x00, 0x00, // packet identifier 0
				0x00, 0x03, 'a', '/', 'b', 0x00, // topic filter "a/b", requested QoS 0
			},
			Rule: "MQTT-2.3.1-1", Err: packet.ErrPacketID,
		},
		{
			Name: "UNSUBSCRIBE/id-0",
			Bytes: []byte{
				0xA2, 0x07, // UNSUBSCRIBE flags 0010, remaining length 7
				0x00, 0x00, // packet identifier 0
				0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			},
			Rule: "MQTT-2.3.1-1", Err: packet.ErrPacketID,
		},
	}
}

// The builders below wrap one string in an otherwise valid packet, so that
// the same bad strings can be tried in every string field. They frame the
// packet by hand, as the vectors above do, and never call the encoder. The
// string must be shorter than 100 bytes, so that every Remaining Length
// takes one byte.

// publishTopic is a QoS 0 PUBLISH with topic name s and no payload.
func publishTopic(s []byte) []byte {
	b := []byte{0x30, byte(2 + len(s))} // PUBLISH QoS 0, remaining length
	b = append(b, 0x00, byte(len(s)))   // topic name length
	return append(b, s...)              // topic name; no payload
}

// connectClientID is a CONNECT with clean session and client identifier s.
func connectClientID(s []byte) []byte {
	b := []byte{0x10, byte(12 + len(s))}                                  // CONNECT, remaining length
	b = append(b, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3C) // "MQTT", level 4, clean session, keep alive 60
	b = append(b, 0x00, byte(len(s)))                                     // client identifier length
	return append(b, s...)                                                // client identifier
}

// connectUsername is a CONNECT with client identifier "c" and user name s.
func connectUsername(s []byte) []byte {
	b := []byte{0x10, byte(15 + len(s))}                                  // CONNECT, remaining length
	b = append(b, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x82, 0x00, 0x3C) // "MQTT", level 4, user name + clean session, keep alive 60
	b = append(b, 0x00, 0x01, 'c')                                        // client identifier "c"
	b = append(b, 0x00, byte(len(s)))                                     // user name length
	return append(b, s...)                                                // user name
}

// connectWillTopic is a CONNECT with client identifier "c", will topic s
// and will message "m".
func connectWillTopic(s []byte) []byte {
	b := []byte{0x10, byte(18 + len(s))}                                  // CONNECT, remaining length
	b = append(b, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x06, 0x00, 0x3C) // "MQTT", level 4, will + clean session, keep alive 60
	b = append(b, 0x00, 0x01, 'c')                                        // client identifier "c"
	b = append(b, 0x00, byte(len(s)))                                     // will topic length
	b = append(b, s...)                                                   // will topic
	return append(b, 0x00, 0x01, 'm')                                     // will message "m"
}

// subscribeFilter is a SUBSCRIBE with packet identifier 1 and the single
// filter s at requested QoS 1.
func subscribeFilter(s []byte) []byte {
	b := []byte{0x82, byte(5 + len(s))} // SUBSCRIBE flags 0010, remaining length
	b = append(b, 0x00, 0x01)           // packet identifier 1
	b = append(b, 0x00, byte(len(s)))   // topic filter length
	b = append(b, s...)                 // topic filter
	return append(b, 0x01)              // requested QoS 1
}

// unsubscribeFilter is an UNSUBSCRIBE with packet identifier 1 and the
// single filter s.
func unsubscribeFilter(s []byte) []byte {
	b := []byte{0xA2, byte(4 + len(s))} // UNSUBSCRIBE flags 0010, remaining length
	b = append(b, 0x00, 0x01)           // packet identifier 1
	b = append(b, 0x00, byte(len(s)))   // topic filter length
	return append(b, s...)              // topic filter
}

// stringField is one string field of some packet, with the builder that
// wraps a value in it and the rule the codec applies to U+0000 there:
// MQTT-1.5.3-2 for plain strings, MQTT-4.7.3-2 for topic names and filters.
type stringField struct {
	name     string
	build    func([]byte) []byte
	nullRule string
}

func stringFields() []stringField {
	return []stringField{
		{"PUBLISH/topic", publishTopic, "MQTT-4.7.3-2"},
		{"CONNECT/client-id", connectClientID, "MQTT-1.5.3-2"},
		{"CONNECT/username", connectUsername, "MQTT-1.5.3-2"},
		{"CONNECT/will-topic", connectWillTopic, "MQTT-4.7.3-2"},
		{"SUBSCRIBE/filter", subscribeFilter, "MQTT-4.7.3-2"},
		{"UNSUBSCRIBE/filter", unsubscribeFilter, "MQTT-4.7.3-2"},
	}
}

// illFormedUTF8 lists byte sequences that are not well-formed UTF-8
// (Unicode Table 3-7), each inside otherwise harmless ASCII.
func illFormedUTF8() []struct {
	name string
	s    []byte
} {
	return []struct {
		name string
		s    []byte
	}{
		{"utf8-overlong-2-byte", []byte{'a', 0xC0, 0xAF}},                        // '/' as C0 AF
		{"utf8-overlong-U+0000", []byte{'a', 0xC0, 0x80}},                        // U+0000 as C0 80 (modified UTF-8)
		{"utf8-overlong-3-byte", []byte{'a', 0xE0, 0x80, 0xAF, 'b'}},             // '/' as E0 80 AF
		{"utf8-overlong-4-byte", []byte{0xF0, 0x80, 0x80, 0xAF}},                 // '/' as F0 80 80 AF
		{"utf8-lone-continuation", []byte{'a', 0x80, 'b'}},                       // continuation byte without a lead
		{"utf8-truncated-at-end", []byte{'a', 0xE2, 0x82}},                       // U+20AC without its last byte
		{"utf8-truncated-before-ascii", []byte{0xE2, 0x82, 'a'}},                 // U+20AC cut short by 'a'
		{"utf8-above-U+10FFFF", []byte{'a', 0xF4, 0x90, 0x80, 0x80}},             // U+110000
		{"utf8-lead-F5", []byte{0xF5, 0x80, 0x80, 0x80}},                         // a lead byte that never occurs
		{"utf8-surrogate-U+D800", []byte{'a', 0xED, 0xA0, 0x80}},                 // high surrogate
		{"utf8-surrogate-U+DFFF", []byte{0xED, 0xBF, 0xBF, 'b'}},                 // low surrogate
		{"utf8-byte-FF", []byte{'a', 0xFF}},                                      // never valid in UTF-8
		{"utf8-cesu-surrogate-pair", []byte{0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80}}, // U+1F600 as two surrogates
	}
}

// malformedStrings puts ill-formed UTF-8 [MQTT-1.5.3-1] and U+0000 in every
// string field: topic name, client identifier, user name, will topic, and
// the filters of SUBSCRIBE and UNSUBSCRIBE.
func malformedStrings() []Malformed {
	var m []Malformed
	for _, f := range stringFields() {
		for _, u := range illFormedUTF8() {
			m = append(m, Malformed{
				Name:  f.name + "/" + u.name,
				Bytes: f.build(u.s),
				Rule:  "MQTT-1.5.3-1", Err: packet.ErrUTF8,
			})
		}
		m = append(m,
			Malformed{Name: f.name + "/U+0000", Bytes: f.build([]byte{'a', 0x00, 'b'}), Rule: f.nullRule, Err: packet.ErrNullChar},
			Malformed{Name: f.name + "/U+0000-alone", Bytes: f.build([]byte{0x00}), Rule: f.nullRule, Err: packet.ErrNullChar},
		)
	}
	return m
}

// malformedTopics covers topic names, in PUBLISH and as will topics: never
// empty [MQTT-4.7.3-1], never with wildcards [MQTT-3.3.2-2].
func malformedTopics() []Malformed {
	m := []Malformed{
		{
			Name: "PUBLISH/qos1/empty-topic",
			Bytes: []byte{
				0x32, 0x04, // PUBLISH QoS 1, remaining length 4
				0x00, 0x00, // topic name ""
				0x00, 0x01, // packet identifier 1
			},
			Rule: "MQTT-4.7.3-1", Err: packet.ErrEmptyTopic,
		},
		{Name: "PUBLISH/empty-topic", Bytes: publishTopic(nil), Rule: "MQTT-4.7.3-1", Err: packet.ErrEmptyTopic},
		{Name: "CONNECT/will-topic/empty", Bytes: connectWillTopic(nil), Rule: "MQTT-4.7.3-1", Err: packet.ErrEmptyTopic},
	}
	wild := []struct{ name, topic string }{
		{"plus", "+"},
		{"hash", "#"},
		{"a-slash-plus", "a/+"},
		{"a-slash-hash", "a/#"},
		{"plus-slash-b", "+/b"},
		{"a-plus-b", "a/+/b"},
		{"a-plus-in-level", "a+"},
		{"hash-a-in-level", "#a"},
		{"sport-tennis-hash", "sport/tennis/#"},
	}
	for _, w := range wild {
		m = append(m,
			Malformed{Name: "PUBLISH/topic-wildcard/" + w.name, Bytes: publishTopic([]byte(w.topic)), Rule: "MQTT-3.3.2-2", Err: packet.ErrWildcard},
			Malformed{Name: "CONNECT/will-topic-wildcard/" + w.name, Bytes: connectWillTopic([]byte(w.topic)), Rule: "MQTT-3.3.2-2", Err: packet.ErrWildcard},
		)
	}
	return m
}

// malformedFilters covers topic filters: '#' only as the whole last level
// [MQTT-4.7.1-2], '+' only as a whole level [MQTT-4.7.1-3], never empty
// [MQTT-4.7.3-1]. Each goes in a SUBSCRIBE and an UNSUBSCRIBE.
func malformedFilters() []Malformed {
	bad := []struct{ name, filter, rule string }{
		{"a-hash", "a#", "MQTT-4.7.1-2"},
		{"hash-slash-a", "#/a", "MQTT-4.7.1-2"},
		{"a-hash-b", "a/#/b", "MQTT-4.7.1-2"},
		{"hash-hash", "##", "MQTT-4.7.1-2"},
		{"a-b-hash", "a/b#", "MQTT-4.7.1-2"},
		{"a-plus", "a+", "MQTT-4.7.1-3"},
		{"plus-a", "+a", "MQTT-4.7.1-3"},
		{"a-b-plus", "a/b+", "MQTT-4.7.1-3"},
		{"a-plus-b-c", "a/+b/c", "MQTT-4.7.1-3"},
		{"plus-plus", "++", "MQTT-4.7.1-3"},
		{"plus-hash", "+#", "MQTT-4.7.1-3"},
	}
	var m []Malformed
	for _, b := range bad {
		m = append(m,
			Malformed{Name: "SUBSCRIBE/filter/" + b.name, Bytes: subscribeFilter([]byte(b.filter)), Rule: b.rule, Err: packet.ErrFilter},
			Malformed{Name: "UNSUBSCRIBE/filter/" + b.name, Bytes: unsubscribeFilter([]byte(b.filter)), Rule: b.rule, Err: packet.ErrFilter},
		)
	}
	m = append(m,
		Malformed{Name: "SUBSCRIBE/filter/empty", Bytes: subscribeFilter(nil), Rule: "MQTT-4.7.3-1", Err: packet.ErrEmptyTopic},
		Malformed{Name: "UNSUBSCRIBE/filter/empty", Bytes: unsubscribeFilter(nil), Rule: "MQTT-4.7.3-1", Err: packet.ErrEmptyTopic},
		Malformed{
			Name: "SUBSCRIBE/filter/second-bad",
			Bytes: []byte{
				0x82, 0x0D, // SUBSCRIBE flags 0010, remaining length 13
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', '#', 0x00, // topic filter "a/#", requested QoS 0
				0x00, 0x02, 'a', '#', 0x01, // topic filter "a#", requested QoS 1
			},
			Rule: "MQTT-4.7.1-2", Err: packet.ErrFilter,
		},
	)
	return m
}
