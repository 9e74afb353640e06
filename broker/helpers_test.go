package broker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/petrel-mqtt/petrel/packet"
)

// wait is how long a test waits for something that should happen.
const wait = 5 * time.Second

// quiet is how long a test waits for something that should not happen.
const quiet = 150 * time.Millisecond

// startServer starts a broker with cfg on a loopback port and returns it
// and its address. Cleanup shuts it down and checks that Serve returned.
func startServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s, l.Addr().String()
}

// client is a raw MQTT client for scripted tests: it sends exact bytes and
// reads whole packets.
type client struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
	d  packet.Decoder
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return newClient(t, nc)
}

func newClient(t testing.TB, nc net.Conn) *client {
	return &client{t: t, nc: nc, br: bufio.NewReader(nc), d: packet.Decoder{MaxPacketSize: packet.MaxRemainingLength + 5}}
}

// encode returns the encoding of p, which must be valid.
func encode(t testing.TB, p packet.Packet) []byte {
	t.Helper()
	b, err := p.AppendBinary(nil)
	if err != nil {
		t.Fatalf("encode %T: %v", p, err)
	}
	return b
}

// write sends raw bytes.
func (c *client) write(b ...[]byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(wait))
	if _, err := c.nc.Write(bytes.Join(b, nil)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send sends packets.
func (c *client) send(ps ...packet.Packet) {
	c.t.Helper()
	for _, p := range ps {
		c.write(encode(c.t, p))
	}
}

// read reads one packet, waiting at most d.
func (c *client) read(d time.Duration) (packet.Packet, error) {
	c.nc.SetReadDeadline(time.Now().Add(d))
	b0, err := c.br.ReadByte()
	if err != nil {
		return nil, err
	}
	frame := []byte{b0}
	rl := 0
	for i := 0; ; i++ {
		if i == 4 {
			return nil, errors.New("remaining length too long")
		}
		digit, err := c.br.ReadByte()
		if err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		frame = append(frame, digit)
		rl |= int(digit&0x7f) << (7 * i)
		if digit < 0x80 {
			break
		}
	}
	body := make([]byte, rl)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	p, _, err := c.d.Decode(append(frame, body...))
	if err != nil {
		return nil, err
	}
	return clone(p), nil
}

// clone copies a decoded packet out of the decoder's storage.
func clone(p packet.Packet) packet.Packet {
	switch p := p.(type) {
	case *packet.Publish:
		return p.Clone()
	case *packet.Suback:
		c := *p
		c.ReturnCodes = append([]packet.SubackCode(nil), p.ReturnCodes...)
		return &c
	case *packet.Connack:
		c := *p
		return &c
	case *packet.Puback:
		c := *p
		return &c
	case *packet.Pubrec:
		c := *p
		return &c
	case *packet.Pubrel:
		c := *p
		return &c
	case *packet.Pubcomp:
		c := *p
		return &c
	case *packet.Unsuback:
		c := *p
		return &c
	case *packet.Pingresp:
		c := *p
		return &c
	}
	return p
}

// next reads one packet or fails the test.
func (c *client) next() packet.Packet {
	c.t.Helper()
	p, err := c.read(wait)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return p
}

var cmpPackets = cmpopts.EquateEmpty()

// expect reads the next packet and checks that it is want.
func (c *client) expect(want packet.Packet) {
	c.t.Helper()
	got := c.next()
	if diff := cmp.Diff(want, got, cmpPackets); diff != "" {
		c.t.Fatalf("got %T, want %T; diff (-want +got):\n%s", got, want, diff)
	}
}

// expectPublish reads the next packet, checks that it is a PUBLISH like
// want, ignoring its packet identifier unless want has one, and returns it.
func (c *client) expectPublish(want *packet.Publish) *packet.Publish {
	c.t.Helper()
	p := c.next()
	got, ok := p.(*packet.Publish)
	if !ok {
		c.t.Fatalf("got %T, want PUBLISH %s", p, want.Topic)
	}
	w := *want
	if w.PacketID == 0 {
		w.PacketID = got.PacketID
	}
	if diff := cmp.Diff(&w, got, cmpPackets); diff != "" {
		c.t.Fatalf("PUBLISH diff (-want +got):\n%s", diff)
	}
	return got
}

// expectClosed checks that the broker closes the connection without
// sending anything more.
func (c *client) expectClosed() {
	c.t.Helper()
	p, err := c.read(wait)
	if err == nil {
		c.t.Fatalf("got %T, want the connection closed", p)
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatal("connection still open")
	}
}

// expectNothing checks that nothing arrives for a while.
func (c *client) expectNothing() {
	c.t.Helper()
	p, err := c.read(quiet)
	if err == nil {
		c.t.Fatalf("got %T %+v, want nothing", p, p)
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		c.t.Fatalf("got %v, want nothing", err)
	}
}

// connect sends CONNECT and checks the CONNACK.
func (c *client) connect(p *packet.Connect, want packet.Connack) {
	c.t.Helper()
	c.send(p)
	c.expect(&want)
}

// connectID connects a client with the given identifier and clean flag.
func connectID(t testing.TB, addr, id string, clean bool) *client {
	t.Helper()
	c := dial(t, addr)
	c.connect(&packet.Connect{ClientID: []byte(id), CleanSession: clean}, packet.Connack{})
	return c
}

// subscribe subscribes and checks the SUBACK.
func (c *client) subscribe(id uint16, filter string, q packet.QoS, want packet.SubackCode) {
	c.t.Helper()
	c.send(&packet.Subscribe{PacketID: id, Filters: []packet.Subscription{{Filter: []byte(filter), QoS: q}}})
	c.expect(&packet.Suback{PacketID: id, ReturnCodes: []packet.SubackCode{want}})
}

// publish sends a PUBLISH and completes its QoS flow.
func (c *client) publish(topic, payload string, q packet.QoS, retain bool, id uint16) {
	c.t.Helper()
	c.send(&packet.Publish{Topic: []byte(topic), Payload: []byte(payload), QoS: q, Retain: retain, PacketID: id})
	switch q {
	case packet.QoS1:
		c.expect(&packet.Puback{PacketID: id})
	case packet.QoS2:
		c.expect(&packet.Pubrec{PacketID: id})
		c.send(&packet.Pubrel{PacketID: id})
		c.expect(&packet.Pubcomp{PacketID: id})
	}
}

// pub returns the PUBLISH a subscriber expects.
func pub(topic, payload string, q packet.QoS, retain bool) *packet.Publish {
	return &packet.Publish{Topic: []byte(topic), Payload: []byte(payload), QoS: q, Retain: retain}
}

// eventually waits until cond holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
