package packet_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/petrel-mqtt/petrel/packet"
)

func ExamplePublish_AppendBinary() {
	p := &packet.Publish{
		QoS:      packet.QoS1,
		PacketID: 10,
		Topic:    []byte("a/b"),
		Payload:  []byte("hi"),
	}
	b, err := p.AppendBinary(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% x\n", b)
	fmt.Println(len(b) == p.Size())
	// Output:
	// 32 09 00 03 61 2f 62 00 0a 68 69
	// true
}

func ExampleReader_ReadPacket() {
	stream := []byte{
		0x30, 0x07, 0x00, 0x03, 'a', '/', 'b', 'h', 'i', // PUBLISH QoS 0 "a/b" "hi"
		0x32, 0x14, 0x00, 0x0c, 's', 'e', 'n', 's', 'o', 'r', 's', '/', 't', 'e', 'm', 'p', // PUBLISH QoS 1 "sensors/temp"
		0x00, 0x01, '2', '1', '.', '5', // packet identifier 1, payload "21.5"
	}
	r := packet.NewReader(bytes.NewReader(stream), 0)
	for {
		p, err := r.ReadPacket()
		if err == io.EOF {
			fmt.Println("end of stream")
			return
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		if pub, ok := p.(*packet.Publish); ok {
			fmt.Printf("%v %v %s %s\n", p.Type(), pub.QoS, pub.Topic, pub.Payload)
		}
	}
	// Output:
	// PUBLISH QoS 0 a/b hi
	// PUBLISH QoS 1 sensors/temp 21.5
	// end of stream
}

func ExampleDecoder_Decode() {
	b := []byte{
		0x40, 0x02, 0x00, 0x05, // PUBACK, packet identifier 5
		0xc0, 0x00, // PINGREQ
		0x90, 0x04, 0x00, 0x06, 0x01, 0x80, // SUBACK 6: granted QoS 1, failure
	}
	var d packet.Decoder
	for len(b) > 0 {
		p, n, err := d.Decode(b)
		if err != nil {
			fmt.Println(err)
			return
		}
		switch p := p.(type) {
		case *packet.Puback:
			fmt.Println(p.Type(), p.PacketID)
		case *packet.Suback:
			fmt.Println(p.Type(), p.PacketID, p.ReturnCodes)
		default:
			fmt.Println(p.Type())
		}
		b = b[n:]
	}
	// Output:
	// PUBACK 5
	// PINGREQ
	// SUBACK 6 [granted QoS 1 failure]
}

func ExampleProtocolError() {
	// A PUBLISH whose fixed header says QoS 3.
	b := []byte{0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}
	var d packet.Decoder
	_, _, err := d.Decode(b)

	var pe *packet.ProtocolError
	if errors.As(err, &pe) {
		fmt.Println(pe.Type, pe.Field, pe.Rule)
	}
	fmt.Println(err)
	fmt.Println(errors.Is(err, packet.ErrMalformed), errors.Is(err, packet.ErrQoS))
	// Output:
	// PUBLISH QoS MQTT-3.3.1-4
	// mqtt: PUBLISH QoS: invalid QoS [MQTT-3.3.1-4]
	// true true
}

func ExampleNew() {
	p := packet.New(packet.TypePuback)
	n, err := p.Decode([]byte{0x40, 0x02, 0x00, 0x07})
	fmt.Println(p.Type(), n, err, p.(*packet.Puback).PacketID)
	fmt.Println(packet.New(0) == nil)
	// Output:
	// PUBACK 4 <nil> 7
	// true
}
