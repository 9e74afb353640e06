package testbroker

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/petrel-mqtt/petrel/packet"
)

// Long packets are shown cut short: at most maxHex bytes in hex, and at
// most maxQuoted bytes of each byte field.
const (
	maxHex    = 128
	maxQuoted = 64
)

// decode decodes the whole packet raw with a Decoder of its own, so the
// packet it returns is the caller's; raw must not change afterwards.
func decode(raw []byte) (packet.Packet, error) {
	d := packet.Decoder{MaxPacketSize: packet.MaxRemainingLength + 5}
	p, n, err := d.Decode(raw)
	if err == nil && n != len(raw) {
		err = fmt.Errorf("%d bytes left over after the packet", len(raw)-n)
	}
	return p, err
}

// dump describes raw on two lines: its bytes in hex, then the packet they
// decode to or why they do not decode.
func dump(raw []byte) string {
	h := fmt.Sprintf("% x", raw[:min(len(raw), maxHex)])
	if len(raw) > maxHex {
		h += fmt.Sprintf(" ... (%d bytes)", len(raw))
	}
	return h + "\n        " + describeBytes(raw)
}

// describeBytes returns the packet raw decodes to, as describe shows it,
// or why it does not decode.
func describeBytes(raw []byte) string {
	p, err := decode(raw)
	if err != nil {
		return fmt.Sprintf("(does not decode: %v)", err)
	}
	return describe(p)
}

// describe shows a packet as %+v would, with its type name first and its
// byte fields quoted: PUBLISH{Dup:false QoS:QoS 1 ... Topic:"a/b" ...}.
func describe(p packet.Packet) string {
	var b strings.Builder
	b.WriteString(p.Type().String())
	formatValue(&b, reflect.ValueOf(p))
	return b.String()
}

var byteType = reflect.TypeFor[byte]()

func formatValue(b *strings.Builder, v reflect.Value) {
	switch {
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		formatValue(b, v.Elem())
	case v.Kind() == reflect.Struct:
		b.WriteByte('{')
		for i := range v.NumField() {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(v.Type().Field(i).Name)
			b.WriteByte(':')
			formatValue(b, v.Field(i))
		}
		b.WriteByte('}')
	case v.Kind() == reflect.Slice && v.Type().Elem() == byteType:
		s := v.Bytes()
		b.WriteString(strconv.Quote(string(s[:min(len(s), maxQuoted)])))
		if len(s) > maxQuoted {
			fmt.Fprintf(b, "...(%d bytes)", len(s))
		}
	case v.Kind() == reflect.Slice:
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteByte(' ')
			}
			formatValue(b, v.Index(i))
		}
		b.WriteByte(']')
	default:
		fmt.Fprint(b, v)
	}
}
