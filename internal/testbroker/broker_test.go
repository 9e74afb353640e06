package testbroker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// recorder is a testing.TB that keeps the errors reported to it, so that a
// test can check how the broker fails.
type recorder struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// end runs the cleanups, as the testing package does at the end of a test.
func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

// newRecorded returns a broker that reports to a recorder, whose cleanups
// run when t ends (before those registered earlier, such as leaktest's).
func newRecorded(t *testing.T) (*Broker, *recorder) {
	r := &recorder{TB: t}
	t.Cleanup(r.end)
	return New(r), r
}

// send writes each packet to conn with a Write of its own, from a
// goroutine, and reports the first error, or nil, on the channel.
func send(conn net.Conn, packets ...[]byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		for _, p := range packets {
			if _, err := conn.Write(p); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

// receive reads n bytes from conn from a goroutine and delivers them, or
// what it got before an error, on the channel.
func receive(conn net.Conn, n int) <-chan []byte {
	done := make(chan []byte, 1)
	go func() {
		buf := make([]byte, n)
		k, _ := io.ReadFull(conn, buf)
		done <- buf[:k]
	}()
	return done
}

func encode(t *testing.T, p packet.Packet) []byte {
	t.Helper()
	b, err := p.AppendBinary(nil)
	if err != nil {
		t.Fatalf("encoding %T: %v", p, err)
	}
	return b
}

var (
	connect = &packet.Connect{ClientID: []byte("c1"), CleanSession: true, KeepAlive: 30}
	pingreq = []byte{0xc0, 0x00}
)

func TestScript(t *testing.T) {
	leaktest.Check(t)
	b := New(t)
	conn := b.Conn()
	defer conn.Close()

	pub1 := &packet.Publish{QoS: packet.QoS1, Topic: []byte("a/b"), PacketID: 7, Payload: []byte("one")}
	pub2 := &packet.Publish{QoS: packet.QoS1, Topic: []byte("c"), PacketID: 8, Payload: []byte("two")}
	sent := send(conn, encode(t, connect), pingreq, encode(t, pub1), encode(t, pub2))
	b.ExpectPacket(connect)
	b.Expect(pingreq)
	got1 := b.ExpectType(packet.TypePublish)
	got2 := b.ExpectType(packet.TypePublish)
	if err := <-sent; err != nil {
		t.Fatalf("client write: %v", err)
	}
	// got1 must not alias a buffer that reading got2 reused.
	if diff := cmp.Diff([]packet.Packet{pub1, pub2}, []packet.Packet{got1, got2}); diff != "" {
		t.Errorf("ExpectType (-want +got):\n%s", diff)
	}

	received := receive(conn, 4+2)
	b.SendPacket(&packet.Connack{SessionPresent: true})
	b.Send([]byte{0xd0, 0x00})
	if got, want := <-received, []byte{0x20, 0x02, 0x01, 0x00, 0xd0, 0x00}; string(got) != string(want) {
		t.Errorf("client received % x, want % x", got, want)
	}

	b.ExpectNothing(20 * time.Millisecond)
	sent = send(conn, pingreq) // ExpectNothing left the stream in step
	b.Expect(pingreq)
	<-sent
	conn.Close()
	b.ExpectClosed()
}

// TestExpectMalformed checks that Expect compares bytes, decodable or not.
func TestExpectMalformed(t *testing.T) {
	leaktest.Check(t)
	b := New(t)
	conn := b.Conn()
	defer conn.Close()
	bad := []byte{0x30, 0x03, 0x00, 0x05, 0x61} // topic length past the end
	sent := send(conn, bad)
	b.Expect(bad)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

func TestClose(t *testing.T) {
	leaktest.Check(t)
	b := New(t)
	conn := b.Conn()
	defer conn.Close()
	b.Close()
	if n, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("client read after Close = %d, %v; want io.EOF", n, err)
	}
}

// TestReconnect scripts a client that dials again after losing its first
// connection, from a goroutine of its own as a real client would.
func TestReconnect(t *testing.T) {
	leaktest.Check(t)
	b := New(t)
	raw := encode(t, connect)
	clientDone := make(chan error, 1)
	go func() {
		for range 2 {
			conn, err := b.Dial(context.Background())
			if err != nil {
				clientDone <- err
				return
			}
			defer conn.Close()
			if err := <-send(conn, raw); err != nil {
				clientDone <- err
				return
			}
			if _, err := conn.Read(make([]byte, 4)); !errors.Is(err, io.EOF) {
				clientDone <- fmt.Errorf("client read: %v, want io.EOF", err)
				return
			}
		}
		clientDone <- nil
	}()
	b.ExpectPacket(connect) // waits for the first dial
	b.Close()
	b.ExpectPacket(connect) // on the second connection
	b.Close()
	if err := <-clientDone; err != nil {
		t.Error(err)
	}
}

// TestAccept checks that Accept moves on without closing the connection it
// leaves.
func TestAccept(t *testing.T) {
	leaktest.Check(t)
	b := New(t)
	first, second := b.Conn(), b.Conn()
	defer first.Close()
	defer second.Close()
	b.Accept()
	b.Accept()
	sent := send(second, pingreq)
	b.Expect(pingreq)
	<-sent
	first.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := first.Write(pingreq); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("write on the connection left behind: %v, want a timeout (open, unread)", err)
	}
}

func TestDial(t *testing.T) {
	leaktest.Check(t)
	b, r := newRecorded(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Dial(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Dial with a cancelled context: %v, want context.Canceled", err)
	}
	r.end() // the test ends
	if conn, err := b.Dial(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Dial after the end = %v, %v; want an error matching net.ErrClosed", conn, err)
	}
	conn := b.Conn()
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("Conn after the end: read %v, want io.EOF", err)
	}
	conn.Close()
}

func TestDescribe(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		p    packet.Packet
		want string
	}{
		{&packet.Pingreq{}, "PINGREQ{}"},
		{&packet.Publish{QoS: packet.QoS1, Topic: []byte("a/b"), PacketID: 7, Payload: []byte("hi\x00")},
			`PUBLISH{Dup:false QoS:QoS 1 Retain:false Topic:"a/b" PacketID:7 Payload:"hi\x00"}`},
		{&packet.Publish{Topic: []byte("t"), Payload: []byte(long)},
			`PUBLISH{Dup:false QoS:QoS 0 Retain:false Topic:"t" PacketID:0 Payload:"` + long[:maxQuoted] + `"...(200 bytes)}`},
		{&packet.Suback{PacketID: 2, ReturnCodes: []packet.SubackCode{packet.GrantedQoS1, packet.Failure}},
			"SUBACK{PacketID:2 ReturnCodes:[granted QoS 1 failure]}"},
		{&packet.Subscribe{PacketID: 3, Filters: []packet.Subscription{{Filter: []byte("a/#"), QoS: packet.QoS2}}},
			`SUBSCRIBE{PacketID:3 Filters:[{Filter:"a/#" QoS:QoS 2}]}`},
	} {
		if got := describe(tc.p); got != tc.want {
			t.Errorf("describe:\n got: %s\nwant: %s", got, tc.want)
		}
	}
	raw := encode(t, &packet.Publish{Topic: []byte("t"), Payload: []byte(long)})
	if got := dump(raw); !strings.Contains(got, fmt.Sprintf(" ... (%d bytes)\n", len(raw))) {
		t.Errorf("dump of a long packet is not cut short:\n%s", got)
	}
	if got, want := describeBytes([]byte{0xc0, 0x00, 0xc0}), "(does not decode: 1 bytes left over after the packet)"; got != want {
		t.Errorf("describeBytes = %s, want %s", got, want)
	}
}
