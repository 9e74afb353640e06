package packet

import (
	"bytes"
	"errors"
	"testing"
)

// TestDecoderMQTT31Dup checks Decoder.MQTT31 and Reader.SetMQTT31: the
// DUP flag of MQTT 3.1 on PUBREL, SUBSCRIBE and UNSUBSCRIBE is accepted
// when set, refused otherwise [MQTT-3.6.1-1] [MQTT-3.8.1-1]
// [MQTT-3.10.1-1]; other flags stay refused either way.
func TestDecoderMQTT31Dup(t *testing.T) {
	for _, tt := range []struct {
		name  string
		b     []byte
		ok31  bool
		check func(Packet) bool
	}{
		{"PUBREL DUP", []byte{0x6a, 0x02, 0x00, 0x07}, true, func(p Packet) bool { return p.(*Pubrel).PacketID == 7 }},
		{"SUBSCRIBE DUP", []byte{0x8a, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x01}, true, func(p Packet) bool {
			s := p.(*Subscribe)
			return s.PacketID == 1 && string(s.Filters[0].Filter) == "a" && s.Filters[0].QoS == QoS1
		}},
		{"UNSUBSCRIBE DUP", []byte{0xaa, 0x05, 0x00, 0x02, 0x00, 0x01, 'a'}, true, func(p Packet) bool { return p.(*Unsubscribe).PacketID == 2 }},
		{"PUBREL 0011", []byte{0x63, 0x02, 0x00, 0x07}, false, nil},
		{"PUBREL 1000", []byte{0x68, 0x02, 0x00, 0x07}, false, nil},
		{"PUBACK DUP", []byte{0x48, 0x02, 0x00, 0x07}, false, nil},
	} {
		for _, v31 := range []bool{false, true} {
			d := Decoder{MQTT31: v31}
			p, n, err := d.Decode(tt.b)
			r := NewReader(bytes.NewReader(tt.b), 0)
			r.SetMQTT31(v31)
			rp, rerr := r.ReadPacket()
			if v31 && tt.ok31 {
				if err != nil || n != len(tt.b) || !tt.check(p) || rerr != nil || !tt.check(rp) {
					t.Errorf("%s, MQTT31: Decode %v, %v; ReadPacket %v, %v", tt.name, p, err, rp, rerr)
				}
				continue
			}
			if !errors.Is(err, ErrFlags) || !errors.Is(rerr, ErrFlags) {
				t.Errorf("%s, MQTT31 %v: Decode err %v, ReadPacket err %v; want ErrFlags", tt.name, v31, err, rerr)
			}
		}
	}
}
