package testbroker

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// Expect reads the next packet the client sends and requires its bytes,
// fixed header included, to equal want exactly. The client's bytes need
// not decode: Expect can check a malformed packet.
func (b *Broker) Expect(want []byte) {
	b.t.Helper()
	got, ok := b.read(describeBytes(want))
	if !ok || bytes.Equal(got, want) {
		return
	}
	b.fail("packet %d differs from the expected one at byte %d:\n  got:  %s\n  want: %s",
		b.cur.packets, firstDiff(got, want), dump(got), dump(want))
}

// ExpectPacket is Expect with the bytes that p.AppendBinary makes. A p that
// does not encode fails the test.
func (b *Broker) ExpectPacket(p packet.Packet) {
	b.t.Helper()
	if b.failed {
		return
	}
	want, err := p.AppendBinary(nil)
	if err != nil {
		b.fail("ExpectPacket: cannot encode the expected packet %s: %v", describe(p), err)
		return
	}
	b.Expect(want)
}

// ExpectType reads the next packet the client sends, requires it to decode
// to a packet of type t, and returns it; the caller owns it and the byte
// slices in it. After a failure it returns a zero packet of type t, never
// nil, so that a type assertion in the script still holds; t must be one
// of the fourteen packet types.
func (b *Broker) ExpectType(t packet.Type) packet.Packet {
	b.t.Helper()
	zero := packet.New(t)
	if zero == nil {
		b.fail("ExpectType: %v is not a packet type", t)
		return nil
	}
	got, ok := b.read("a " + t.String() + " packet")
	if !ok {
		return zero
	}
	p, err := decode(got)
	switch {
	case err != nil:
		b.fail("packet %d does not decode, want a %s packet:\n  got:  %s", b.cur.packets, t, dump(got))
	case p.Type() != t:
		b.fail("packet %d is a %s packet, want a %s packet:\n  got:  %s", b.cur.packets, p.Type(), t, dump(got))
	default:
		return p
	}
	return zero
}

// ExpectClosed waits for the client to close the connection: the next read
// must find the end of the stream, rather than a packet. The connection
// then ends, and the next step takes the next one.
func (b *Broker) ExpectClosed() {
	b.t.Helper()
	c := b.current()
	if c == nil {
		return
	}
	got, err := readFrame(c, b.timeout)
	switch {
	case err == nil:
		c.packets++
		b.fail("packet %d arrived, want the connection closed:\n  got:  %s", c.packets, dump(got))
	case errors.Is(err, io.EOF):
		c.Close()
		b.cur = nil
	case errors.Is(err, os.ErrDeadlineExceeded) && len(got) == 0:
		b.fail("the client did not close the connection within %v", b.timeout)
	default:
		b.fail("want the connection closed, got %v after % x", err, got)
	}
}

// ExpectNothing requires that the client sends nothing, and keeps the
// connection open, for d.
func (b *Broker) ExpectNothing(d time.Duration) {
	b.t.Helper()
	c := b.current()
	if c == nil {
		return
	}
	got, err := readFrame(c, d)
	switch {
	case err == nil:
		c.packets++
		b.fail("packet %d arrived, want nothing for %v:\n  got:  %s", c.packets, d, dump(got))
	case errors.Is(err, os.ErrDeadlineExceeded) && len(got) == 0:
		// Silence, as expected.
	case errors.Is(err, io.EOF):
		b.fail("the client closed the connection, want nothing for %v", d)
	default:
		b.fail("want nothing for %v, got %v after % x", d, err, got)
	}
}

// Send writes p, any bytes, to the client; the client must read them
// within the timeout.
func (b *Broker) Send(p []byte) {
	b.t.Helper()
	c := b.current()
	if c == nil {
		return
	}
	c.SetWriteDeadline(time.Now().Add(b.timeout))
	if _, err := c.Write(p); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			b.fail("the client did not read %s within %v", describeBytes(p), b.timeout)
		} else {
			b.fail("sending %s: %v", describeBytes(p), err)
		}
	}
}

// SendPacket is Send with the bytes that p.AppendBinary makes. A p that
// does not encode fails the test; send malformed packets with Send, or with
// the bytes of packet.Append.
func (b *Broker) SendPacket(p packet.Packet) {
	b.t.Helper()
	if b.failed {
		return
	}
	raw, err := p.AppendBinary(nil)
	if err != nil {
		b.fail("SendPacket: cannot encode %s: %v", describe(p), err)
		return
	}
	b.Send(raw)
}

// read reads the next whole packet from the current connection. It fails
// the test, saying what it waited for, if none comes.
func (b *Broker) read(what string) ([]byte, bool) {
	b.t.Helper()
	c := b.current()
	if c == nil {
		return nil, false
	}
	got, err := readFrame(c, b.timeout)
	switch {
	case err == nil:
		c.packets++
		return got, true
	case errors.Is(err, os.ErrDeadlineExceeded) && len(got) == 0:
		b.fail("no packet within %v, want %s", b.timeout, what)
	case errors.Is(err, io.EOF):
		b.fail("the client closed the connection, want %s", what)
	default:
		b.fail("reading packet %d: %v after % x; want %s", c.packets+1, err, got, what)
	}
	return nil, false
}

// errRemainingLength is a Remaining Length longer than four bytes.
var errRemainingLength = errors.New("remaining length longer than 4 bytes")

// readFrame reads one whole packet from c, waiting at most d. It reads the
// fixed header itself, rather than with a packet.Reader, so as to return
// the bytes exactly as they came, even those of a packet that does not
// decode. It returns io.EOF if the stream ends before the packet, and
// with any other error the bytes read so far.
func readFrame(c net.Conn, d time.Duration) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(d))
	frame := make([]byte, 1, 64)
	if _, err := io.ReadFull(c, frame); err != nil {
		return nil, err
	}
	rl := 0
	for i := 0; ; i++ {
		if i == 4 {
			return frame, errRemainingLength
		}
		var digit [1]byte
		if _, err := io.ReadFull(c, digit[:]); err != nil {
			return frame, noEOF(err)
		}
		frame = append(frame, digit[0])
		rl |= int(digit[0]&0x7f) << (7 * i)
		if digit[0] < 0x80 {
			break
		}
	}
	// Grow the buffer as the body arrives, not by the length announced.
	buf := bytes.NewBuffer(frame)
	_, err := io.CopyN(buf, c, int64(rl))
	return buf.Bytes(), noEOF(err)
}

// noEOF turns the end of the stream inside a packet into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// firstDiff returns the index of the first byte where a and b differ, or
// the length of the shorter one.
func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
