package packettest

import "github.com/petrel-mqtt/petrel/packet"

// validSubscribe covers SUBSCRIBE (section 3.8): flags 0010, a packet
// identifier, then topic filters each followed by a requested QoS byte.
func validSubscribe() []Vector {
	return []Vector{
		{
			Name: "SUBSCRIBE/one-filter",
			Bytes: []byte{
				0x82, 0x08, // SUBSCRIBE flags 0010, remaining length 8
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
				0x00, // requested QoS 0
			},
			Packet: &packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{
				{Filter: []byte("a/b"), QoS: packet.QoS0},
			}},
		},
		{
			// Figures 3.21 and 3.23 of sections 3.8.2 and 3.8.3.1.
			Name: "SUBSCRIBE/spec-3.8.3.1",
			Bytes: []byte{
				0x82, 0x0E, // SUBSCRIBE flags 0010, remaining length 14
				0x00, 0x0A, // packet identifier 10
				0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
				0x01,                      // requested QoS 1
				0x00, 0x03, 'c', '/', 'd', // topic filter "c/d"
				0x02, // requested QoS 2
			},
			Packet: &packet.Subscribe{PacketID: 10, Filters: []packet.Subscription{
				{Filter: []byte("a/b"), QoS: packet.QoS1},
				{Filter: []byte("c/d"), QoS: packet.QoS2},
			}},
		},
		{
			// Wildcards wherever section 4.7.1 lets them stand.
			Name: "SUBSCRIBE/wildcards",
			Bytes: []byte{
				0x82, 0x2B, // SUBSCRIBE flags 0010, remaining length 43
				0xFF, 0xFF, // packet identifier 65535
				0x00, 0x01, '#', // topic filter "#"
				0x00,            // requested QoS 0
				0x00, 0x01, '+', // topic filter "+"
				0x01,                                // requested QoS 1
				0x00, 0x05, 'a', '/', '+', '/', 'b', // topic filter "a/+/b"
				0x02,                      // requested QoS 2
				0x00, 0x03, '+', '/', '+', // topic filter "+/+"
				0x00,                      // requested QoS 0
				0x00, 0x03, 'a', '/', '#', // topic filter "a/#"
				0x01,            // requested QoS 1
				0x00, 0x01, '/', // topic filter "/"
				0x02,                                     // requested QoS 2
				0x00, 0x06, '$', 'S', 'Y', 'S', '/', '#', // topic filter "$SYS/#"
				0x00, // requested QoS 0
			},
			Packet: &packet.Subscribe{PacketID: 0xFFFF, Filters: []packet.Subscription{
				{Filter: []byte("#"), QoS: packet.QoS0},
				{Filter: []byte("+"), QoS: packet.QoS1},
				{Filter: []byte("a/+/b"), QoS: packet.QoS2},
				{Filter: []byte("+/+"), QoS: packet.QoS0},
				{Filter: []byte("a/#"), QoS: packet.QoS1},
				{Filter: []byte("/"), QoS: packet.QoS2},
				{Filter: []byte("$SYS/#"), QoS: packet.QoS0},
			}},
		},
		{
			// The examples of sections 4.7.1.2 and 4.7.1.3, and a filter
			// with non-ASCII characters.
			Name: "SUBSCRIBE/spec-4.7.1-filters",
			Bytes: []byte{
				0x82, 0x29, // SUBSCRIBE flags 0010, remaining length 41
				0x00, 0x02, // packet identifier 2
				0x00, 0x0E, 's', 'p', 'o', 'r', 't', '/', 't', 'e', 'n', 'n', 'i', 's', '/', '+', // topic filter "sport/tennis/+"
				0x02,                                                         // requested QoS 2
				0x00, 0x0A, '+', '/', 't', 'e', 'n', 'n', 'i', 's', '/', '#', // topic filter "+/tennis/#"
				0x01,       // requested QoS 1
				0x00, 0x06, // topic filter length 6
				0xC3, 0xBC, '/', 0xE2, 0x82, 0xAC, // "ü/€"
				0x00, // requested QoS 0
			},
			Packet: &packet.Subscribe{PacketID: 2, Filters: []packet.Subscription{
				{Filter: []byte("sport/tennis/+"), QoS: packet.QoS2},
				{Filter: []byte("+/tennis/#"), QoS: packet.QoS1},
				{Filter: []byte("ü/€"), QoS: packet.QoS0},
			}},
		},
	}
}

// validSuback covers SUBACK (section 3.9): a packet identifier and one
// return code per filter, 0x00, 0x01, 0x02 or 0x80 [MQTT-3.9.3-2].
func validSuback() []Vector {
	return []Vector{
		{
			Name: "SUBACK/one-code",
			Bytes: []byte{
				0x90, 0x03, // SUBACK, remaining length 3
				0x00, 0x01, // packet identifier 1
				0x00, // return code: granted QoS 0
			},
			Packet: &packet.Suback{PacketID: 1, ReturnCodes: []packet.SubackCode{packet.GrantedQoS0}},
		},
		{
			// Figure 3.27 of section 3.9.3.1.
			Name: "SUBACK/spec-3.9.3.1",
			Bytes: []byte{
				0x90, 0x05, // SUBACK, remaining length 5
				0x00, 0x0A, // packet identifier 10
				0x00, // return code: granted QoS 0
				0x02, // return code: granted QoS 2
				0x80, // return code: failure
			},
			Packet: &packet.Suback{PacketID: 10, ReturnCodes: []packet.SubackCode{
				packet.GrantedQoS0, packet.GrantedQoS2, packet.Failure,
			}},
		},
		{
			Name: "SUBACK/mixed",
			Bytes: []byte{
				0x90, 0x08, // SUBACK, remaining length 8
				0xFF, 0xFF, // packet identifier 65535
				0x80, // return code: failure
				0x00, // return code: granted QoS 0
				0x01, // return code: granted QoS 1
				0x02, // return code: granted QoS 2
				0x80, // return code: failure
				0x01, // return code: granted QoS 1
			},
			Packet: &packet.Suback{PacketID: 0xFFFF, ReturnCodes: []packet.SubackCode{
				packet.Failure, packet.GrantedQoS0, packet.GrantedQoS1, packet.GrantedQoS2, packet.Failure, packet.GrantedQoS1,
			}},
		},
	}
}

// validUnsubscribe covers UNSUBSCRIBE (section 3.10): flags 0010, a packet
// identifier, then topic filters packed one after another.
func validUnsubscribe() []Vector {
	return []Vector{
		{
			Name: "UNSUBSCRIBE/one-filter",
			Bytes: []byte{
				0xA2, 0x07, // UNSUBSCRIBE flags 0010, remaining length 7
				0x00, 0x01, // packet identifier 1
				0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			},
			Packet: &packet.Unsubscribe{PacketID: 1, Filters: [][]byte{[]byte("a/b")}},
		},
		{
			// Figure 3.30 of section 3.10.3.1.
			Name: "UNSUBSCRIBE/spec-3.10.3.1",
			Bytes: []byte{
				0xA2, 0x0C, // UNSUBSCRIBE flags 0010, remaining length 12
				0x00, 0x0A, // packet identifier 10
				0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
				0x00, 0x03, 'c', '/', 'd', // topic filter "c/d"
			},
			Packet: &packet.Unsubscribe{PacketID: 10, Filters: [][]byte{[]byte("a/b"), []byte("c/d")}},
		},
		{
			Name: "UNSUBSCRIBE/wildcards",
			Bytes: []byte{
				0xA2, 0x14, // UNSUBSCRIBE flags 0010, remaining length 20
				0xFF, 0xFF, // packet identifier 65535
				0x00, 0x01, '#', // topic filter "#"
				0x00, 0x05, 'a', '/', '+', '/', 'b', // topic filter "a/+/b"
				0x00, 0x06, '$', 'S', 'Y', 'S', '/', '#', // topic filter "$SYS/#"
			},
			Packet: &packet.Unsubscribe{PacketID: 0xFFFF, Filters: [][]byte{
				[]byte("#"), []byte("a/+/b"), []byte("$SYS/#"),
			}},
		},
	}
}
