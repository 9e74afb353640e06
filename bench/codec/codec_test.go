// Package codec benchmarks Petrel's packet codec beside those of
// mochi-mqtt/server (v2, the broker's packets package) and
// eclipse/paho.mqtt.golang (the client's packets package), on the same
// packets. It is a module of its own so that the main module never requires
// either library.
//
// Benchmarks are named BenchmarkCodec/case=<case>/lib=<lib>, so that
//
//	benchstat -col /lib results.txt
//
// puts the libraries side by side. TestSamePackets proves first that the
// three libraries encode the same bytes for each case and decode Petrel's
// bytes to the same fields.
//
// Each library does the same work at its best:
//
//   - encode: produce the whole packet, fixed header included, into a buffer
//     reused from one operation to the next (Petrel: AppendBinary into a
//     []byte reset to length 0; mochi: the XxxEncode method into a
//     *bytes.Buffer that is Reset; paho: Write into a bytes.Buffer that is
//     Reset), from a packet struct built once.
//   - decode: from the whole packet's bytes, already in memory, to a usable
//     packet struct (Petrel: (*Publish).Decode and friends into one reused
//     struct; mochi: FixedHeader.Decode and DecodeLength, as its server does,
//     then the XxxDecode method on the body, into one reused Packet, without
//     the defensive copy its server makes; paho: ReadPacket from a
//     bytes.Reader that is Reset, its only public decoding API).
//
// Petrel validates more on decode than the others do (topic names without
// wildcards, connect flags, protocol name and level, trailing bytes); the
// comparison does not add the other libraries' separate validation passes
// (mochi's PublishValidate, ConnectValidate, paho's Validate) to their side.
package codec

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang/packets"
	mochi "github.com/mochi-mqtt/server/v2/packets"
	"github.com/petrel-mqtt/petrel/packet"
)

// The messages every library encodes and decodes.
const (
	topic    = "sensors/building-7/floor-3/temp1" // 32 bytes, checked by TestSamePackets
	packetID = 4242

	clientID    = "petrel-bench-client-0001"
	keepAlive   = 60
	willTopic   = "clients/petrel-bench-client-0001/status"
	willMessage = "offline"
	username    = "sensor-gateway"
	password    = "correct horse battery staple"
	subID       = 7
)

var (
	payload64  = bytes.Repeat([]byte("0123456789abcdef"), 4)   // 64 bytes
	payload4Ki = bytes.Repeat([]byte("0123456789abcdef"), 256) // 4096 bytes
)

// filters are the five topic filters of the SUBSCRIBE, with their QoS.
var filters = []struct {
	filter string
	qos    byte
}{
	{"sensors/building-7/+/temp1", 1},
	{"sensors/building-7/floor-3/#", 0},
	{"alerts/#", 2},
	{"clients/+/status", 1},
	{"$SYS/broker/load/#", 0},
}

// kind names one of the packets the cases use.
type kind int

const (
	publish64 kind = iota
	publish4Ki
	connect
	subscribe5
	pingreq
)

var kinds = []kind{publish64, publish4Ki, connect, subscribe5, pingreq}

func (k kind) String() string {
	return [...]string{"publish-qos1-64B", "publish-qos1-4KiB", "connect", "subscribe5", "pingreq"}[k]
}

// ---- Petrel ----

func petrelPublish(payload []byte) *packet.Publish {
	return &packet.Publish{QoS: packet.QoS1, PacketID: packetID, Topic: []byte(topic), Payload: payload}
}

func petrelConnect() *packet.Connect {
	return &packet.Connect{
		ClientID: []byte(clientID), CleanSession: true, KeepAlive: keepAlive,
		WillFlag: true, WillQoS: packet.QoS1, WillRetain: true,
		WillTopic: []byte(willTopic), WillMessage: []byte(willMessage),
		UsernameFlag: true, Username: []byte(username),
		PasswordFlag: true, Password: []byte(password),
	}
}

func petrelSubscribe() *packet.Subscribe {
	p := &packet.Subscribe{PacketID: subID}
	for _, f := range filters {
		p.Filters = append(p.Filters, packet.Subscription{Filter: []byte(f.filter), QoS: packet.QoS(f.qos)})
	}
	return p
}

func petrelPacket(k kind) packet.Packet {
	switch k {
	case publish64:
		return petrelPublish(payload64)
	case publish4Ki:
		return petrelPublish(payload4Ki)
	case connect:
		return petrelConnect()
	case subscribe5:
		return petrelSubscribe()
	default:
		return &packet.Pingreq{}
	}
}

// wire returns Petrel's encoding of the packet of kind k: the input of every
// decode benchmark.
func wire(tb testing.TB, k kind) []byte {
	b, err := petrelPacket(k).AppendBinary(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// petrelCodec holds Petrel's reused encode buffer and decode storage.
type petrelCodec struct {
	buf  []byte
	pub  packet.Publish
	con  packet.Connect
	sub  packet.Subscribe
	ping packet.Pingreq
}

func (c *petrelCodec) encPublish(p *packet.Publish) (err error) {
	c.buf, err = p.AppendBinary(c.buf[:0])
	return err
}

func (c *petrelCodec) encConnect(p *packet.Connect) (err error) {
	c.buf, err = p.AppendBinary(c.buf[:0])
	return err
}

func (c *petrelCodec) encSubscribe(p *packet.Subscribe) (err error) {
	c.buf, err = p.AppendBinary(c.buf[:0])
	return err
}

func (c *petrelCodec) encPingreq(p *packet.Pingreq) (err error) {
	c.buf, err = p.AppendBinary(c.buf[:0])
	return err
}

func (c *petrelCodec) decPublish(b []byte) error {
	_, err := c.pub.Decode(b)
	return err
}

func (c *petrelCodec) decConnect(b []byte) error {
	_, err := c.con.Decode(b)
	return err
}

func (c *petrelCodec) decSubscribe(b []byte) error {
	_, err := c.sub.Decode(b)
	return err
}

func (c *petrelCodec) decPingreq(b []byte) error {
	_, err := c.ping.Decode(b)
	return err
}

// ---- mochi-mqtt ----

func mochiPublish(payload []byte) *mochi.Packet {
	return &mochi.Packet{
		FixedHeader:     mochi.FixedHeader{Type: mochi.Publish, Qos: 1},
		ProtocolVersion: 4,
		TopicName:       topic,
		PacketID:        packetID,
		Payload:         payload,
	}
}

func mochiConnect() *mochi.Packet {
	return &mochi.Packet{
		FixedHeader:     mochi.FixedHeader{Type: mochi.Connect},
		ProtocolVersion: 4,
		Connect: mochi.ConnectParams{
			ProtocolName:     []byte("MQTT"),
			ClientIdentifier: clientID,
			Clean:            true,
			Keepalive:        keepAlive,
			WillFlag:         true,
			WillQos:          1,
			WillRetain:       true,
			WillTopic:        willTopic,
			WillPayload:      []byte(willMessage),
			UsernameFlag:     true,
			Username:         []byte(username),
			PasswordFlag:     true,
			Password:         []byte(password),
		},
	}
}

func mochiSubscribe() *mochi.Packet {
	p := &mochi.Packet{
		FixedHeader:     mochi.FixedHeader{Type: mochi.Subscribe, Qos: 1},
		ProtocolVersion: 4,
		PacketID:        subID,
	}
	for _, f := range filters {
		p.Filters = append(p.Filters, mochi.Subscription{Filter: f.filter, Qos: f.qos})
	}
	return p
}

func mochiPingreq() *mochi.Packet {
	return &mochi.Packet{FixedHeader: mochi.FixedHeader{Type: mochi.Pingreq}, ProtocolVersion: 4}
}

// mochiCodec holds mochi's reused encode buffer, the reader its
// DecodeLength needs, and one Packet for decoding into.
type mochiCodec struct {
	buf bytes.Buffer
	rd  bytes.Reader
	in  mochi.Packet
}

func newMochiCodec() *mochiCodec {
	return &mochiCodec{in: mochi.Packet{ProtocolVersion: 4}}
}

func (c *mochiCodec) encPublish(p *mochi.Packet) error {
	c.buf.Reset()
	return p.PublishEncode(&c.buf)
}

func (c *mochiCodec) encConnect(p *mochi.Packet) error {
	c.buf.Reset()
	return p.ConnectEncode(&c.buf)
}

func (c *mochiCodec) encSubscribe(p *mochi.Packet) error {
	c.buf.Reset()
	return p.SubscribeEncode(&c.buf)
}

func (c *mochiCodec) encPingreq(p *mochi.Packet) error {
	c.buf.Reset()
	return p.PingreqEncode(&c.buf)
}

var errMochi = errors.New("mochi: unexpected packet")

// header decodes the fixed header of the packet b into c.in.FixedHeader, as
// mochi's server does (FixedHeader.Decode, then DecodeLength), and returns
// the body.
func (c *mochiCodec) header(b []byte, want byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errMochi
	}
	if err := c.in.FixedHeader.Decode(b[0]); err != nil {
		return nil, err
	}
	c.rd.Reset(b[1:])
	rl, n, err := mochi.DecodeLength(&c.rd)
	if err != nil {
		return nil, err
	}
	c.in.FixedHeader.Remaining = rl
	if c.in.FixedHeader.Type != want || len(b) < 1+n+rl {
		return nil, errMochi
	}
	return b[1+n : 1+n+rl], nil
}

func (c *mochiCodec) decPublish(b []byte) error {
	body, err := c.header(b, mochi.Publish)
	if err != nil {
		return err
	}
	return c.in.PublishDecode(body)
}

func (c *mochiCodec) decConnect(b []byte) error {
	body, err := c.header(b, mochi.Connect)
	if err != nil {
		return err
	}
	return c.in.ConnectDecode(body)
}

func (c *mochiCodec) decSubscribe(b []byte) error {
	body, err := c.header(b, mochi.Subscribe)
	if err != nil {
		return err
	}
	return c.in.SubscribeDecode(body)
}

func (c *mochiCodec) decPingreq(b []byte) error {
	body, err := c.header(b, mochi.Pingreq)
	if err != nil {
		return err
	}
	return c.in.PingreqDecode(body)
}

// ---- paho.mqtt.golang ----

func pahoPublish(payload []byte) *paho.PublishPacket {
	p := paho.NewControlPacket(paho.Publish).(*paho.PublishPacket)
	p.Qos = 1
	p.TopicName = topic
	p.MessageID = packetID
	p.Payload = payload
	return p
}

func pahoConnect() *paho.ConnectPacket {
	p := paho.NewControlPacket(paho.Connect).(*paho.ConnectPacket)
	p.ProtocolName = "MQTT"
	p.ProtocolVersion = 4
	p.ClientIdentifier = clientID
	p.CleanSession = true
	p.Keepalive = keepAlive
	p.WillFlag = true
	p.WillQos = 1
	p.WillRetain = true
	p.WillTopic = willTopic
	p.WillMessage = []byte(willMessage)
	p.UsernameFlag = true
	p.Username = username
	p.PasswordFlag = true
	p.Password = []byte(password)
	return p
}

func pahoSubscribe() *paho.SubscribePacket {
	p := paho.NewControlPacket(paho.Subscribe).(*paho.SubscribePacket)
	p.MessageID = subID
	for _, f := range filters {
		p.Topics = append(p.Topics, f.filter)
		p.Qoss = append(p.Qoss, f.qos)
	}
	return p
}

func pahoPingreq() *paho.PingreqPacket {
	return paho.NewControlPacket(paho.Pingreq).(*paho.PingreqPacket)
}

// pahoCodec holds paho's reused encode buffer and decode reader, and the
// last packet decoded (paho allocates a new one each time).
type pahoCodec struct {
	buf bytes.Buffer
	rd  bytes.Reader
	in  paho.ControlPacket
}

func (c *pahoCodec) encPublish(p *paho.PublishPacket) error {
	c.buf.Reset()
	return p.Write(&c.buf)
}

func (c *pahoCodec) encConnect(p *paho.ConnectPacket) error {
	c.buf.Reset()
	return p.Write(&c.buf)
}

func (c *pahoCodec) encSubscribe(p *paho.SubscribePacket) error {
	c.buf.Reset()
	return p.Write(&c.buf)
}

func (c *pahoCodec) encPingreq(p *paho.PingreqPacket) error {
	c.buf.Reset()
	return p.Write(&c.buf)
}

// read decodes the packet b with paho.ReadPacket and checks its type.
func (c *pahoCodec) read(b []byte, want byte) error {
	c.rd.Reset(b)
	cp, err := paho.ReadPacket(&c.rd)
	if err != nil {
		return err
	}
	var ok bool
	switch want {
	case paho.Publish:
		_, ok = cp.(*paho.PublishPacket)
	case paho.Connect:
		_, ok = cp.(*paho.ConnectPacket)
	case paho.Subscribe:
		_, ok = cp.(*paho.SubscribePacket)
	case paho.Pingreq:
		_, ok = cp.(*paho.PingreqPacket)
	}
	if !ok {
		return fmt.Errorf("paho: decoded %T", cp)
	}
	c.in = cp
	return nil
}

func (c *pahoCodec) decPublish(b []byte) error   { return c.read(b, paho.Publish) }
func (c *pahoCodec) decConnect(b []byte) error   { return c.read(b, paho.Connect) }
func (c *pahoCodec) decSubscribe(b []byte) error { return c.read(b, paho.Subscribe) }
func (c *pahoCodec) decPingreq(b []byte) error   { return c.read(b, paho.Pingreq) }

// ---- the equivalence test ----

// fields is what a decoded packet says, in a form common to the three
// libraries.
type fields struct {
	Type    byte
	QoS     byte
	Dup     bool
	Retain  bool
	ID      uint16
	Topic   string
	Payload string

	ClientID, WillTopic, WillMessage, Username, Password string
	KeepAlive                                            uint16
	Clean, Will, WillRetain, UsernameFlag, PasswordFlag  bool
	WillQoS                                              byte

	Filters []string
	QoSs    []byte
}

func (f fields) String() string {
	if len(f.Payload) > 80 {
		f.Payload = fmt.Sprintf("%.40s...(%d bytes)", f.Payload, len(f.Payload))
	}
	type plain fields // without this String method
	return fmt.Sprintf("%+v", plain(f))
}

func petrelFields(p packet.Packet) fields {
	f := fields{Type: byte(p.Type())}
	switch p := p.(type) {
	case *packet.Publish:
		f.QoS, f.Dup, f.Retain, f.ID = byte(p.QoS), p.Dup, p.Retain, p.PacketID
		f.Topic, f.Payload = string(p.Topic), string(p.Payload)
	case *packet.Connect:
		f.ClientID, f.KeepAlive, f.Clean = string(p.ClientID), p.KeepAlive, p.CleanSession
		f.Will, f.WillQoS, f.WillRetain = p.WillFlag, byte(p.WillQoS), p.WillRetain
		f.WillTopic, f.WillMessage = string(p.WillTopic), string(p.WillMessage)
		f.UsernameFlag, f.Username = p.UsernameFlag, string(p.Username)
		f.PasswordFlag, f.Password = p.PasswordFlag, string(p.Password)
	case *packet.Subscribe:
		f.ID = p.PacketID
		for _, s := range p.Filters {
			f.Filters = append(f.Filters, string(s.Filter))
			f.QoSs = append(f.QoSs, byte(s.QoS))
		}
	}
	return f
}

func mochiFields(p *mochi.Packet) fields {
	f := fields{Type: p.FixedHeader.Type}
	switch p.FixedHeader.Type {
	case mochi.Publish:
		f.QoS, f.Dup, f.Retain, f.ID = p.FixedHeader.Qos, p.FixedHeader.Dup, p.FixedHeader.Retain, p.PacketID
		f.Topic, f.Payload = p.TopicName, string(p.Payload)
	case mochi.Connect:
		c := &p.Connect
		f.ClientID, f.KeepAlive, f.Clean = c.ClientIdentifier, c.Keepalive, c.Clean
		f.Will, f.WillQoS, f.WillRetain = c.WillFlag, c.WillQos, c.WillRetain
		f.WillTopic, f.WillMessage = c.WillTopic, string(c.WillPayload)
		f.UsernameFlag, f.Username = c.UsernameFlag, string(c.Username)
		f.PasswordFlag, f.Password = c.PasswordFlag, string(c.Password)
	case mochi.Subscribe:
		f.ID = p.PacketID
		for _, s := range p.Filters {
			f.Filters = append(f.Filters, s.Filter)
			f.QoSs = append(f.QoSs, s.Qos)
		}
	}
	return f
}

func pahoFields(cp paho.ControlPacket) fields {
	var f fields
	switch p := cp.(type) {
	case *paho.PublishPacket:
		f.Type, f.QoS, f.Dup, f.Retain, f.ID = p.MessageType, p.Qos, p.Dup, p.Retain, p.MessageID
		f.Topic, f.Payload = p.TopicName, string(p.Payload)
	case *paho.ConnectPacket:
		f.Type = p.MessageType
		f.ClientID, f.KeepAlive, f.Clean = p.ClientIdentifier, p.Keepalive, p.CleanSession
		f.Will, f.WillQoS, f.WillRetain = p.WillFlag, p.WillQos, p.WillRetain
		f.WillTopic, f.WillMessage = p.WillTopic, string(p.WillMessage)
		f.UsernameFlag, f.Username = p.UsernameFlag, p.Username
		f.PasswordFlag, f.Password = p.PasswordFlag, string(p.Password)
	case *paho.SubscribePacket:
		f.Type, f.ID = p.MessageType, p.MessageID
		f.Filters, f.QoSs = append(f.Filters, p.Topics...), append(f.QoSs, p.Qoss...)
	case *paho.PingreqPacket:
		f.Type = p.MessageType
	}
	return f
}

// encodeWith encodes the packet of kind k with library lib, through the
// same methods the benchmarks call.
func encodeWith(lib string, k kind) ([]byte, error) {
	switch lib {
	case "petrel":
		var c petrelCodec
		var err error
		switch p := petrelPacket(k).(type) {
		case *packet.Publish:
			err = c.encPublish(p)
		case *packet.Connect:
			err = c.encConnect(p)
		case *packet.Subscribe:
			err = c.encSubscribe(p)
		case *packet.Pingreq:
			err = c.encPingreq(p)
		}
		return c.buf, err
	case "mochi":
		c := newMochiCodec()
		var err error
		switch k {
		case publish64:
			err = c.encPublish(mochiPublish(payload64))
		case publish4Ki:
			err = c.encPublish(mochiPublish(payload4Ki))
		case connect:
			err = c.encConnect(mochiConnect())
		case subscribe5:
			err = c.encSubscribe(mochiSubscribe())
		case pingreq:
			err = c.encPingreq(mochiPingreq())
		}
		return c.buf.Bytes(), err
	case "paho":
		var c pahoCodec
		var err error
		switch k {
		case publish64:
			err = c.encPublish(pahoPublish(payload64))
		case publish4Ki:
			err = c.encPublish(pahoPublish(payload4Ki))
		case connect:
			err = c.encConnect(pahoConnect())
		case subscribe5:
			err = c.encSubscribe(pahoSubscribe())
		case pingreq:
			err = c.encPingreq(pahoPingreq())
		}
		return c.buf.Bytes(), err
	}
	panic("unknown library " + lib)
}

// decodeWith decodes b, a packet of kind k, with library lib, through the
// same methods the benchmarks call.
func decodeWith(lib string, k kind, b []byte) (fields, error) {
	switch lib {
	case "petrel":
		var c petrelCodec
		var p packet.Packet
		var err error
		switch k {
		case publish64, publish4Ki:
			p, err = &c.pub, c.decPublish(b)
		case connect:
			p, err = &c.con, c.decConnect(b)
		case subscribe5:
			p, err = &c.sub, c.decSubscribe(b)
		case pingreq:
			p, err = &c.ping, c.decPingreq(b)
		}
		return petrelFields(p), err
	case "mochi":
		c := newMochiCodec()
		var err error
		switch k {
		case publish64, publish4Ki:
			err = c.decPublish(b)
		case connect:
			err = c.decConnect(b)
		case subscribe5:
			err = c.decSubscribe(b)
		case pingreq:
			err = c.decPingreq(b)
		}
		return mochiFields(&c.in), err
	case "paho":
		var c pahoCodec
		var err error
		switch k {
		case publish64, publish4Ki:
			err = c.decPublish(b)
		case connect:
			err = c.decConnect(b)
		case subscribe5:
			err = c.decSubscribe(b)
		case pingreq:
			err = c.decPingreq(b)
		}
		if err != nil {
			return fields{}, err
		}
		return pahoFields(c.in), nil
	}
	panic("unknown library " + lib)
}

var libs = []string{"petrel", "mochi", "paho"}

// head returns at most the first 64 bytes of b, for error messages.
func head(b []byte) []byte { return b[:min(len(b), 64)] }

// firstDiff returns the offset of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// TestSamePackets checks that the three libraries really encode and decode
// the same packets: each library's encoding of each case decodes with
// Petrel's decoder to the fields of the reference packet (and is byte for
// byte Petrel's encoding), and each library decodes Petrel's encoding to
// those fields.
func TestSamePackets(t *testing.T) {
	if len(topic) != 32 || len(payload64) != 64 || len(payload4Ki) != 4096 || len(filters) != 5 {
		t.Fatalf("inputs: topic %d bytes, payloads %d and %d bytes, %d filters",
			len(topic), len(payload64), len(payload4Ki), len(filters))
	}
	for _, k := range kinds {
		want := petrelFields(petrelPacket(k))
		ref := wire(t, k)
		for _, lib := range libs {
			t.Run(k.String()+"/"+lib, func(t *testing.T) {
				// Encoding.
				b, err := encodeWith(lib, k)
				if err != nil {
					t.Fatalf("encode: %v", err)
				}
				var d packet.Decoder
				p, n, err := d.Decode(b)
				if err != nil || n != len(b) {
					t.Fatalf("encoding % x: Petrel decodes %d of %d bytes, error %v", head(b), n, len(b), err)
				}
				if got := petrelFields(p); !reflect.DeepEqual(got, want) {
					t.Errorf("encoding decodes to\n%v\nwant\n%v", got, want)
				}
				if !bytes.Equal(b, ref) {
					t.Errorf("encoding (%d bytes) differs from Petrel's (%d bytes) at byte %d:\n% x\n% x",
						len(b), len(ref), firstDiff(b, ref), head(b), head(ref))
				}
				// Decoding.
				got, err := decodeWith(lib, k, ref)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("decodes Petrel's bytes to\n%v\nwant\n%v", got, want)
				}
			})
		}
	}
}

// ---- the benchmarks ----

// start sets up a benchmark of n-byte packets; n 0 leaves out MB/s.
func start(b *testing.B, n int) {
	if n > 0 {
		b.SetBytes(int64(n))
	}
	b.ReportAllocs()
}

func check(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

// Petrel.

func petrelEncodePublish(payload []byte) func(*testing.B) {
	return func(b *testing.B) {
		var c petrelCodec
		p := petrelPublish(payload)
		start(b, p.Size())
		for b.Loop() {
			check(b, c.encPublish(p))
		}
	}
}

func petrelDecodePublish(k kind) func(*testing.B) {
	return func(b *testing.B) {
		var c petrelCodec
		in := wire(b, k)
		start(b, len(in))
		for b.Loop() {
			check(b, c.decPublish(in))
		}
	}
}

func petrelDecodeConnect(b *testing.B) {
	var c petrelCodec
	in := wire(b, connect)
	start(b, len(in))
	for b.Loop() {
		check(b, c.decConnect(in))
	}
}

func petrelEncodeSubscribe(b *testing.B) {
	var c petrelCodec
	p := petrelSubscribe()
	start(b, p.Size())
	for b.Loop() {
		check(b, c.encSubscribe(p))
	}
}

func petrelDecodeSubscribe(b *testing.B) {
	var c petrelCodec
	in := wire(b, subscribe5)
	start(b, len(in))
	for b.Loop() {
		check(b, c.decSubscribe(in))
	}
}

func petrelEncodePingreq(b *testing.B) {
	var c petrelCodec
	p := &packet.Pingreq{}
	start(b, 0)
	for b.Loop() {
		check(b, c.encPingreq(p))
	}
}

func petrelDecodePingreq(b *testing.B) {
	var c petrelCodec
	in := wire(b, pingreq)
	start(b, 0)
	for b.Loop() {
		check(b, c.decPingreq(in))
	}
}

// mochi.

func mochiEncodePublish(payload []byte) func(*testing.B) {
	return func(b *testing.B) {
		c := newMochiCodec()
		p := mochiPublish(payload)
		start(b, petrelPublish(payload).Size())
		for b.Loop() {
			check(b, c.encPublish(p))
		}
	}
}

func mochiDecodePublish(k kind) func(*testing.B) {
	return func(b *testing.B) {
		c := newMochiCodec()
		in := wire(b, k)
		start(b, len(in))
		for b.Loop() {
			check(b, c.decPublish(in))
		}
	}
}

func mochiDecodeConnect(b *testing.B) {
	c := newMochiCodec()
	in := wire(b, connect)
	start(b, len(in))
	for b.Loop() {
		check(b, c.decConnect(in))
	}
}

func mochiEncodeSubscribe(b *testing.B) {
	c := newMochiCodec()
	p := mochiSubscribe()
	start(b, petrelSubscribe().Size())
	for b.Loop() {
		check(b, c.encSubscribe(p))
	}
}

func mochiDecodeSubscribe(b *testing.B) {
	c := newMochiCodec()
	in := wire(b, subscribe5)
	start(b, len(in))
	for b.Loop() {
		check(b, c.decSubscribe(in))
	}
}

func mochiEncodePingreq(b *testing.B) {
	c := newMochiCodec()
	p := mochiPingreq()
	start(b, 0)
	for b.Loop() {
		check(b, c.encPingreq(p))
	}
}

func mochiDecodePingreq(b *testing.B) {
	c := newMochiCodec()
	in := wire(b, pingreq)
	start(b, 0)
	for b.Loop() {
		check(b, c.decPingreq(in))
	}
}

// paho.

func pahoEncodePublish(payload []byte) func(*testing.B) {
	return func(b *testing.B) {
		var c pahoCodec
		p := pahoPublish(payload)
		start(b, petrelPublish(payload).Size())
		for b.Loop() {
			check(b, c.encPublish(p))
		}
	}
}

func pahoDecodePublish(k kind) func(*testing.B) {
	return func(b *testing.B) {
		var c pahoCodec
		in := wire(b, k)
		start(b, len(in))
		for b.Loop() {
			check(b, c.decPublish(in))
		}
	}
}

func pahoDecodeConnect(b *testing.B) {
	var c pahoCodec
	in := wire(b, connect)
	start(b, len(in))
	for b.Loop() {
		check(b, c.decConnect(in))
	}
}

func pahoEncodeSubscribe(b *testing.B) {
	var c pahoCodec
	p := pahoSubscribe()
	start(b, petrelSubscribe().Size())
	for b.Loop() {
		check(b, c.encSubscribe(p))
	}
}

func pahoDecodeSubscribe(b *testing.B) {
	var c pahoCodec
	in := wire(b, subscribe5)
	start(b, len(in))
	for b.Loop() {
		check(b, c.decSubscribe(in))
	}
}

func pahoEncodePingreq(b *testing.B) {
	var c pahoCodec
	p := pahoPingreq()
	start(b, 0)
	for b.Loop() {
		check(b, c.encPingreq(p))
	}
}

func pahoDecodePingreq(b *testing.B) {
	var c pahoCodec
	in := wire(b, pingreq)
	start(b, 0)
	for b.Loop() {
		check(b, c.decPingreq(in))
	}
}

// cases lists the benchmarks, each with one function per library, in the
// order petrel, mochi, paho.
var cases = []struct {
	name string
	libs [3]func(*testing.B)
}{
	{"publish-qos1-64B-encode", [3]func(*testing.B){petrelEncodePublish(payload64), mochiEncodePublish(payload64), pahoEncodePublish(payload64)}},
	{"publish-qos1-64B-decode", [3]func(*testing.B){petrelDecodePublish(publish64), mochiDecodePublish(publish64), pahoDecodePublish(publish64)}},
	{"publish-qos1-4KiB-encode", [3]func(*testing.B){petrelEncodePublish(payload4Ki), mochiEncodePublish(payload4Ki), pahoEncodePublish(payload4Ki)}},
	{"publish-qos1-4KiB-decode", [3]func(*testing.B){petrelDecodePublish(publish4Ki), mochiDecodePublish(publish4Ki), pahoDecodePublish(publish4Ki)}},
	{"connect-decode", [3]func(*testing.B){petrelDecodeConnect, mochiDecodeConnect, pahoDecodeConnect}},
	{"subscribe5-encode", [3]func(*testing.B){petrelEncodeSubscribe, mochiEncodeSubscribe, pahoEncodeSubscribe}},
	{"subscribe5-decode", [3]func(*testing.B){petrelDecodeSubscribe, mochiDecodeSubscribe, pahoDecodeSubscribe}},
	{"pingreq-encode", [3]func(*testing.B){petrelEncodePingreq, mochiEncodePingreq, pahoEncodePingreq}},
	{"pingreq-decode", [3]func(*testing.B){petrelDecodePingreq, mochiDecodePingreq, pahoDecodePingreq}},
}

func BenchmarkCodec(b *testing.B) {
	for _, c := range cases {
		for i, lib := range libs {
			b.Run("case="+c.name+"/lib="+lib, c.libs[i])
		}
	}
}
