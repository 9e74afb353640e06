package packet_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// onWire says what becomes of a fault when the packet is encoded anyway.
type onWire int

const (
	// faultKept: the bytes carry the fault and the decoder refuses them
	// with the same rule.
	faultKept onWire = iota
	// faultDropped: the offending field is not written (its flag is off),
	// so the bytes are a valid packet without it.
	faultDropped
	// faultGarbled: the field cannot be represented (longer than a
	// two-byte length prefix allows); the bytes mean something else.
	faultGarbled
)

var long65536 = []byte(strings.Repeat("a", 65536))

// invalidPackets are packet values the encoder must refuse.
var invalidPackets = []struct {
	name     string
	p        packet.Packet
	rule     string
	sentinel error
	wire     onWire
}{
	// PUBLISH.
	{"publish QoS 3", &packet.Publish{QoS: 3, PacketID: 1, Topic: []byte("a/b")}, "MQTT-3.3.1-4", packet.ErrQoS, faultKept},
	{"publish DUP QoS 0", &packet.Publish{Dup: true, Topic: []byte("a/b")}, "MQTT-3.3.1-2", packet.ErrDup, faultKept},
	{"publish QoS 1 id 0", &packet.Publish{QoS: 1, Topic: []byte("a/b"), Payload: []byte("x")}, "MQTT-2.3.1-1", packet.ErrPacketID, faultKept},
	{"publish QoS 2 id 0", &packet.Publish{QoS: 2, Topic: []byte("a/b")}, "MQTT-2.3.1-1", packet.ErrPacketID, faultKept},
	{"publish empty topic", &packet.Publish{Payload: []byte("x")}, "MQTT-4.7.3-1", packet.ErrEmptyTopic, faultKept},
	{"publish wildcard +", &packet.Publish{Topic: []byte("a/+")}, "MQTT-3.3.2-2", packet.ErrWildcard, faultKept},
	{"publish wildcard #", &packet.Publish{QoS: 1, PacketID: 9, Topic: []byte("sport/tennis/#")}, "MQTT-3.3.2-2", packet.ErrWildcard, faultKept},
	{"publish topic U+0000", &packet.Publish{Topic: []byte("a\x00b")}, "MQTT-4.7.3-2", packet.ErrNullChar, faultKept},
	{"publish topic bad UTF-8", &packet.Publish{Topic: []byte("a/\xc0\x80")}, "MQTT-1.5.3-1", packet.ErrUTF8, faultKept},
	{"publish topic surrogate", &packet.Publish{Topic: []byte("\xed\xa0\x80")}, "MQTT-1.5.3-1", packet.ErrUTF8, faultKept},
	{"publish topic too long", &packet.Publish{Topic: long65536}, "MQTT-4.7.3-3", packet.ErrFieldTooLong, faultGarbled},

	// Acknowledgements with a zero packet identifier.
	{"puback id 0", &packet.Puback{}, "MQTT-2.3.1-6", packet.ErrPacketID, faultKept},
	{"pubrec id 0", &packet.Pubrec{}, "MQTT-2.3.1-6", packet.ErrPacketID, faultKept},
	{"pubrel id 0", &packet.Pubrel{}, "MQTT-2.3.1-6", packet.ErrPacketID, faultKept},
	{"pubcomp id 0", &packet.Pubcomp{}, "MQTT-2.3.1-6", packet.ErrPacketID, faultKept},
	{"unsuback id 0", &packet.Unsuback{}, "MQTT-2.3.1-7", packet.ErrPacketID, faultKept},
	{"suback id 0", &packet.Suback{ReturnCodes: []packet.SubackCode{packet.GrantedQoS1}}, "MQTT-2.3.1-7", packet.ErrPacketID, faultKept},
	{"subscribe id 0", &packet.Subscribe{Filters: []packet.Subscription{{Filter: []byte("a/#")}}}, "MQTT-2.3.1-1", packet.ErrPacketID, faultKept},
	{"unsubscribe id 0", &packet.Unsubscribe{Filters: [][]byte{[]byte("a/#")}}, "MQTT-2.3.1-1", packet.ErrPacketID, faultKept},

	// SUBSCRIBE and UNSUBSCRIBE payloads.
	{"subscribe no filters", &packet.Subscribe{PacketID: 1}, "MQTT-3.8.3-3", packet.ErrNoFilters, faultKept},
	{"subscribe empty filter list", &packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{}}, "MQTT-3.8.3-3", packet.ErrNoFilters, faultKept},
	{"unsubscribe no filters", &packet.Unsubscribe{PacketID: 1}, "MQTT-3.10.3-2", packet.ErrNoFilters, faultKept},
	{"subscribe filter sport+", subscribe("sport+"), "MQTT-4.7.1-3", packet.ErrFilter, faultKept},
	{"subscribe filter sport/tennis#", subscribe("ok/+", "sport/tennis#"), "MQTT-4.7.1-2", packet.ErrFilter, faultKept},
	{"subscribe filter #/ranking", subscribe("sport/tennis/#/ranking"), "MQTT-4.7.1-2", packet.ErrFilter, faultKept},
	{"subscribe empty filter", subscribe(""), "MQTT-4.7.3-1", packet.ErrEmptyTopic, faultKept},
	{"subscribe filter U+0000", subscribe("a/\x00"), "MQTT-4.7.3-2", packet.ErrNullChar, faultKept},
	{"subscribe filter bad UTF-8", subscribe("a/\xff/#"), "MQTT-1.5.3-1", packet.ErrUTF8, faultKept},
	{"subscribe filter too long", subscribe(string(long65536)), "MQTT-4.7.3-3", packet.ErrFieldTooLong, faultGarbled},
	{"subscribe requested QoS 3", &packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: []byte("a"), QoS: 1}, {Filter: []byte("b"), QoS: 3}}}, "MQTT-3.8.3-4", packet.ErrRequestedQoS, faultKept},
	{"unsubscribe filter a+", &packet.Unsubscribe{PacketID: 1, Filters: [][]byte{[]byte("a+")}}, "MQTT-4.7.1-3", packet.ErrFilter, faultKept},
	{"unsubscribe filter a/#/b", &packet.Unsubscribe{PacketID: 1, Filters: [][]byte{[]byte("x"), []byte("a/#/b")}}, "MQTT-4.7.1-2", packet.ErrFilter, faultKept},
	{"unsubscribe empty filter", &packet.Unsubscribe{PacketID: 1, Filters: [][]byte{{}}}, "MQTT-4.7.3-1", packet.ErrEmptyTopic, faultKept},
	{"unsubscribe filter bad UTF-8", &packet.Unsubscribe{PacketID: 1, Filters: [][]byte{[]byte("\xe0\x80\x80")}}, "MQTT-1.5.3-1", packet.ErrUTF8, faultKept},

	// CONNECT.
	{"connect will QoS without will", &packet.Connect{ClientID: []byte("c"), WillQoS: 1}, "MQTT-3.1.2-13", packet.ErrConnectFlags, faultKept},
	{"connect will retain without will", &packet.Connect{ClientID: []byte("c"), WillRetain: true}, "MQTT-3.1.2-15", packet.ErrConnectFlags, faultKept},
	{"connect will QoS 3", &packet.Connect{ClientID: []byte("c"), WillFlag: true, WillQoS: 3, WillTopic: []byte("w")}, "MQTT-3.1.2-14", packet.ErrQoS, faultKept},
	{"connect password without user name", &packet.Connect{ClientID: []byte("c"), PasswordFlag: true, Password: []byte("pw")}, "MQTT-3.1.2-22", packet.ErrConnectFlags, faultKept},
	{"connect will topic without will", &packet.Connect{ClientID: []byte("c"), WillTopic: []byte("w")}, "MQTT-3.1.2-11", packet.ErrConnectFlags, faultDropped},
	{"connect will message without will", &packet.Connect{ClientID: []byte("c"), WillMessage: []byte("bye")}, "MQTT-3.1.2-11", packet.ErrConnectFlags, faultDropped},
	{"connect user name without flag", &packet.Connect{ClientID: []byte("c"), Username: []byte("u")}, "MQTT-3.1.2-18", packet.ErrConnectFlags, faultDropped},
	{"connect password without flag", &packet.Connect{ClientID: []byte("c"), UsernameFlag: true, Username: []byte("u"), Password: []byte("p")}, "MQTT-3.1.2-20", packet.ErrConnectFlags, faultDropped},
	{"connect will empty topic", &packet.Connect{ClientID: []byte("c"), WillFlag: true, WillMessage: []byte("bye")}, "MQTT-4.7.3-1", packet.ErrEmptyTopic, faultKept},
	{"connect will wildcard topic", &packet.Connect{ClientID: []byte("c"), WillFlag: true, WillTopic: []byte("a/#")}, "MQTT-3.3.2-2", packet.ErrWildcard, faultKept},
	{"connect will topic U+0000", &packet.Connect{ClientID: []byte("c"), WillFlag: true, WillTopic: []byte("\x00")}, "MQTT-4.7.3-2", packet.ErrNullChar, faultKept},
	{"connect client id bad UTF-8", &packet.Connect{ClientID: []byte("id\xed\xbf\xbf")}, "MQTT-1.5.3-1", packet.ErrUTF8, faultKept},
	{"connect client id U+0000", &packet.Connect{ClientID: []byte("id\x00")}, "MQTT-1.5.3-2", packet.ErrNullChar, faultKept},
	{"connect user name bad UTF-8", &packet.Connect{ClientID: []byte("c"), UsernameFlag: true, Username: []byte("\xc1\xbf")}, "MQTT-1.5.3-1", packet.ErrUTF8, faultKept},
	{"connect client id too long", &packet.Connect{ClientID: long65536}, "1.5.3", packet.ErrFieldTooLong, faultGarbled},
	{"connect password too long", &packet.Connect{UsernameFlag: true, PasswordFlag: true, Password: long65536}, "1.5.3", packet.ErrFieldTooLong, faultGarbled},

	// CONNACK.
	{"connack return code 6", &packet.Connack{ReturnCode: 6}, "3.2.2.3", packet.ErrReturnCode, faultKept},
	{"connack return code 255", &packet.Connack{ReturnCode: 255}, "3.2.2.3", packet.ErrReturnCode, faultKept},
	{"connack session present refused", &packet.Connack{SessionPresent: true, ReturnCode: packet.RefusedNotAuthorized}, "MQTT-3.2.2-4", packet.ErrConnackFlags, faultKept},

	// SUBACK.
	{"suback code 3", &packet.Suback{PacketID: 1, ReturnCodes: []packet.SubackCode{0, 3}}, "MQTT-3.9.3-2", packet.ErrReturnCode, faultKept},
	{"suback code 0x81", &packet.Suback{PacketID: 1, ReturnCodes: []packet.SubackCode{0x81}}, "MQTT-3.9.3-2", packet.ErrReturnCode, faultKept},
	{"suback without codes", &packet.Suback{PacketID: 1}, "MQTT-3.8.4-5", packet.ErrMissingReturnCode, faultKept},
}

func subscribe(filters ...string) *packet.Subscribe {
	p := &packet.Subscribe{PacketID: 7}
	for _, f := range filters {
		p.Filters = append(p.Filters, packet.Subscription{Filter: []byte(f), QoS: packet.QoS1})
	}
	return p
}

// wantEncodeError fails t unless err is a *ProtocolError for type typ
// with the rule, matching sentinel and ErrMalformed. It returns the error.
func wantEncodeError(t *testing.T, what string, err error, typ packet.Type, rule string, sentinel error) *packet.ProtocolError {
	t.Helper()
	var pe *packet.ProtocolError
	if !errors.As(err, &pe) {
		t.Errorf("%s: error %v, want a *packet.ProtocolError", what, err)
		return nil
	}
	if pe.Rule != rule {
		t.Errorf("%s: rule %q, want %q (%v)", what, pe.Rule, rule, err)
	}
	if pe.Type != typ {
		t.Errorf("%s: type %v, want %v (%v)", what, pe.Type, typ, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: %v does not match %v", what, err, sentinel)
	}
	if !errors.Is(err, packet.ErrMalformed) {
		t.Errorf("%s: %v does not match ErrMalformed", what, err)
	}
	return pe
}

func TestEncodeRefusesInvalid(t *testing.T) {
	for _, c := range invalidPackets {
		t.Run(c.name, func(t *testing.T) {
			// A buffer with a prefix and spare capacity full of a marker
			// byte: nothing of it may change.
			backing := bytes.Repeat([]byte{0xAA}, 256)
			copy(backing, "prefix")
			b := backing[:6]
			out, err := c.p.AppendBinary(b)
			pe := wantEncodeError(t, "AppendBinary", err, c.p.Type(), c.rule, c.sentinel)
			if len(out) != len(b) || cap(out) != cap(b) || &out[0] != &b[0] {
				t.Errorf("AppendBinary returned len %d cap %d, want b unchanged (len %d cap %d)", len(out), cap(out), len(b), cap(b))
			}
			if want := append([]byte("prefix"), bytes.Repeat([]byte{0xAA}, 250)...); !bytes.Equal(backing, want) {
				t.Errorf("AppendBinary wrote into b's storage")
			}

			out, err = packet.Append(b, c.p, false)
			wantEncodeError(t, "Append(allowInvalid=false)", err, c.p.Type(), c.rule, c.sentinel)
			if len(out) != len(b) {
				t.Errorf("Append(allowInvalid=false) returned %d bytes, want %d", len(out), len(b))
			}

			var sink bytes.Buffer
			w := packet.NewWriter(&sink)
			werr := w.WritePacket(c.p)
			wpe := wantEncodeError(t, "WritePacket", werr, c.p.Type(), c.rule, c.sentinel)
			if pe != nil && wpe != nil && *pe != *wpe {
				t.Errorf("WritePacket error %+v, AppendBinary error %+v", *wpe, *pe)
			}
			if sink.Len() != 0 {
				t.Errorf("WritePacket wrote %d bytes of an invalid packet", sink.Len())
			}

			// Asked to, the encoder produces the bytes all the same.
			raw, err := packet.Append([]byte("prefix"), c.p, true)
			if err != nil {
				t.Fatalf("Append(allowInvalid=true): %v", err)
			}
			if !bytes.HasPrefix(raw, []byte("prefix")) || len(raw) != 6+c.p.Size() {
				t.Fatalf("Append(allowInvalid=true) gave %d bytes, want prefix + Size() = %d", len(raw), 6+c.p.Size())
			}
			raw = raw[6:]
			sink.Reset()
			w = packet.NewWriter(&sink)
			w.AllowInvalid = true
			if err := w.WritePacket(c.p); err != nil {
				t.Fatalf("Writer{AllowInvalid}.WritePacket: %v", err)
			}
			if !bytes.Equal(sink.Bytes(), raw) {
				t.Errorf("Writer{AllowInvalid} wrote % x, Append gave % x", clip32(sink.Bytes()), clip32(raw))
			}

			switch c.wire {
			case faultKept:
				var d packet.Decoder
				_, _, err := d.Decode(raw)
				wantEncodeError(t, "Decoder.Decode of the forced bytes", err, c.p.Type(), c.rule, c.sentinel)
				r := packet.NewReader(bytes.NewReader(raw), 0)
				_, err = r.ReadPacket()
				wantEncodeError(t, "Reader.ReadPacket of the forced bytes", err, c.p.Type(), c.rule, c.sentinel)
			case faultDropped:
				var d packet.Decoder
				p, n, err := d.Decode(raw)
				if err != nil || n != len(raw) {
					t.Fatalf("Decode of %s with the field dropped: %d, %v", c.name, n, err)
				}
				if _, err := p.AppendBinary(nil); err != nil {
					t.Errorf("the decoded packet does not encode: %v", err)
				}
			}
		})
	}
}

func clip32(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

// TestEncodeTooLarge builds a SUBSCRIBE whose Remaining Length would exceed
// 268,435,455 from a few hundred kilobytes: 4,096 filter entries that share
// one 65,535-byte filter. (A PUBLISH would need a 256 MB payload; the size
// check all the variable-length types share, checkRemainingLength, is tested
// directly in field_test.go.) Validating 256 MB of filters takes a few
// seconds under the race detector, so the test runs in parallel, after the
// sequential tests, and for one packet type only.
func TestEncodeTooLarge(t *testing.T) {
	t.Parallel()
	filter := []byte(strings.Repeat("a", 65535))
	p := &packet.Subscribe{PacketID: 1, Filters: make([]packet.Subscription, 4096)}
	for i := range p.Filters {
		p.Filters[i] = packet.Subscription{Filter: filter, QoS: packet.QoS1}
	}
	start := time.Now()
	if p.Size() <= packet.MaxRemainingLength {
		t.Fatalf("Size %d, want more than MaxRemainingLength", p.Size())
	}
	b := make([]byte, 3, 16)
	out, err := p.AppendBinary(b)
	var pe *packet.ProtocolError
	if !errors.As(err, &pe) || pe.Type != packet.TypeSubscribe {
		t.Fatalf("AppendBinary error %v, want a *ProtocolError", err)
	}
	if !errors.Is(err, packet.ErrPacketTooLarge) || errors.Is(err, packet.ErrMalformed) {
		t.Errorf("%v: want ErrPacketTooLarge and not ErrMalformed", err)
	}
	if len(out) != 3 || cap(out) != 16 {
		t.Errorf("AppendBinary did not return b unchanged")
	}
	t.Logf("refused in %v", time.Since(start))
}

// TestEncodeAcceptsLimits checks the valid values just inside each limit.
func TestEncodeAcceptsLimits(t *testing.T) {
	max := []byte(strings.Repeat("a", 65535))
	for _, p := range []packet.Packet{
		&packet.Publish{Topic: max},
		&packet.Publish{QoS: 2, Dup: true, Retain: true, PacketID: 65535, Topic: []byte("t")},
		&packet.Connect{ClientID: max, WillFlag: true, WillQoS: 2, WillRetain: true, WillTopic: max, WillMessage: max,
			UsernameFlag: true, Username: max, PasswordFlag: true, Password: max},
		&packet.Connect{}, // empty client id: legal on the wire
		&packet.Connect{UsernameFlag: true},
		&packet.Connack{SessionPresent: true},
		&packet.Connack{ReturnCode: packet.RefusedNotAuthorized},
		&packet.Suback{PacketID: 1, ReturnCodes: []packet.SubackCode{0, 1, 2, 0x80}},
		&packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: max, QoS: 2}}},
		&packet.Unsubscribe{PacketID: 65535, Filters: [][]byte{max, []byte("#")}},
	} {
		b, err := p.AppendBinary(nil)
		if err != nil {
			t.Errorf("%v: %v", p.Type(), err)
			continue
		}
		if len(b) != p.Size() {
			t.Errorf("%v: %d bytes, Size %d", p.Type(), len(b), p.Size())
		}
		var d packet.Decoder
		d.MaxPacketSize = 1 << 20
		if _, n, err := d.Decode(b); err != nil || n != len(b) {
			t.Errorf("%v: decode: %d, %v", p.Type(), n, err)
		}
	}
}
