package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// dialWS dials the test server at addr over ws:// with a short timeout.
func dialWS(t *testing.T, addr string, header http.Header) net.Conn {
	t.Helper()
	d := Dialer{Timeout: 5 * time.Second, Header: header}
	conn, err := d.Dial(context.Background(), "ws://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func encode(t *testing.T, ps ...interface {
	AppendBinary([]byte) ([]byte, error)
}) []byte {
	t.Helper()
	var b []byte
	for _, p := range ps {
		var err error
		if b, err = p.AppendBinary(b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// TestWebSocketStream sends MQTT packets split across continuation frames
// with a ping between them [MQTT-6.0.0-2], several packets in one frame,
// and a packet split across messages, then closes; the client must read
// the packets in order, answer the ping, then see io.EOF and answer the
// close.
func TestWebSocketStream(t *testing.T) {
	connect := encode(t, &packet.Connect{ClientID: []byte("x"), CleanSession: true, KeepAlive: 30})
	connack := encode(t, &packet.Connack{SessionPresent: false})
	several := encode(t,
		&packet.Suback{PacketID: 1, ReturnCodes: []packet.SubackCode{1}},
		&packet.Publish{Topic: []byte("a/b"), Payload: []byte("hello")},
		&packet.Pingresp{})
	split := encode(t, &packet.Publish{Topic: []byte("c"), Payload: bytes.Repeat([]byte("z"), 300)})
	bin, cont := byte(opBinary), byte(opContinuation)

	type result struct {
		connect, pong, closing clientFrame
		err                    error
	}
	done := make(chan result, 1)
	addr := serve(t, nil, func(c net.Conn) {
		var r result
		defer func() { done <- r }()
		// The first fragment goes out in the same write as the 101 response.
		s, err := wsAccept(c, Subprotocol, "", frame(bin, connack[:1]))
		if r.err = err; err != nil {
			return
		}
		if r.connect, r.err = s.readFrame(); r.err != nil {
			return
		}
		var b []byte
		b = append(b, frame(finBit|byte(opPing), []byte("are you there"))...)
		b = append(b, frame(cont, connack[1:2])...)
		b = append(b, frame(cont, nil)...)
		b = append(b, frame(finBit|cont, connack[2:])...)
		b = append(b, frame(finBit|bin, several)...)
		b = append(b, frame(finBit|bin, split[:7])...)
		b = append(b, frame(bin, split[7:200])...)
		b = append(b, frame(finBit|byte(opPong), []byte("unsolicited"))...)
		b = append(b, frame(finBit|cont, split[200:])...)
		b = append(b, frame(finBit|bin, nil)...)
		b = append(b, closeFrame(closeNormal, "bye")...)
		if _, r.err = c.Write(b); r.err != nil {
			return
		}
		if r.pong, r.err = s.readFrame(); r.err != nil {
			return
		}
		r.closing, r.err = s.readFrame()
	})

	conn := dialWS(t, addr, nil)
	if n, err := conn.Write(connect); err != nil || n != len(connect) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	r := packet.NewReader(conn, 0)
	want := []packet.Type{packet.TypeConnack, packet.TypeSuback, packet.TypePublish, packet.TypePingresp, packet.TypePublish}
	for i, w := range want {
		p, err := r.ReadPacket()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if p.Type() != w {
			t.Fatalf("packet %d is %v, want %v", i, p.Type(), w)
		}
		if pub, ok := p.(*packet.Publish); ok && i == 4 && len(pub.Payload) != 300 {
			t.Errorf("split PUBLISH payload has %d bytes, want 300", len(pub.Payload))
		}
	}
	if _, err := r.ReadPacket(); err != io.EOF {
		t.Fatalf("after the close frame: %v, want io.EOF", err)
	}
	if _, err := conn.Write(connect); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after the server's close: %v, want net.ErrClosed", err)
	}

	res := <-done
	if res.err != nil {
		t.Fatal("server:", res.err)
	}
	if f := res.connect; f.op != opBinary || !f.fin || !bytes.Equal(f.payload, connect) {
		t.Errorf("CONNECT frame: fin %v op %d payload %x, want one binary frame with %x", f.fin, f.op, f.payload, connect)
	}
	if f := res.pong; f.op != opPong || string(f.payload) != "are you there" {
		t.Errorf("answer to ping: op %d payload %q, want a pong echoing the ping", f.op, f.payload)
	}
	if f := res.closing; f.op != opClose || !bytes.Equal(f.payload, []byte{0x03, 0xE8}) {
		t.Errorf("answer to close: op %d payload %x, want close 03e8 (1000)", f.op, f.payload)
	}
}

// TestWebSocketBadFrames checks that frames breaking MQTT section 6 or RFC
// 6455 end Read with a *FrameError and close the connection with a close
// frame carrying the right status.
func TestWebSocketBadFrames(t *testing.T) {
	big := make([]byte, 126)
	for _, tc := range []struct {
		name  string
		frame []byte
		rule  string
		code  uint16
	}{
		{"text", frame(finBit|byte(opText), []byte{0x20, 0x02, 0x00, 0x00}), "MQTT-6.0.0-1", closeUnsupported},
		{"rsv1", frame(finBit|0x40|byte(opBinary), []byte{0x20}), "5.2", closeProtocolError},
		{"rsv3", frame(finBit|0x10|byte(opBinary), nil), "5.2", closeProtocolError},
		{"reserved data opcode", frame(finBit|0x3, nil), "5.2", closeProtocolError},
		{"reserved control opcode", frame(finBit|0xB, nil), "5.2", closeProtocolError},
		{"masked", []byte{finBit | byte(opBinary), maskBit | 1, 1, 2, 3, 4, 0x20}, "5.1", closeProtocolError},
		{"long ping", frame(finBit|byte(opPing), big), "5.5", closeProtocolError},
		{"fragmented ping", frame(byte(opPing), nil), "5.5", closeProtocolError},
		{"lone continuation", frame(finBit|byte(opContinuation), []byte{0x20}), "5.4", closeProtocolError},
		{"binary inside a message", append(frame(byte(opBinary), []byte{0x20}), frame(finBit|byte(opBinary), nil)...), "5.4", closeProtocolError},
		{"length MSB", []byte{finBit | byte(opBinary), 127, 0x80, 0, 0, 0, 0, 0, 0, 1}, "5.2", closeProtocolError},
		{"close with 1 byte", frame(finBit|byte(opClose), []byte{3}), "5.5.1", closeProtocolError},
		{"close 1005", closeFrame(closeNoStatus, ""), "7.4", closeProtocolError},
		{"close 999", closeFrame(999, ""), "7.4", closeProtocolError},
		{"close reason not UTF-8", closeFrame(closeNormal, "\xff"), "5.5.1", closeProtocolError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan clientFrame, 1)
			addr := serve(t, nil, func(c net.Conn) {
				defer close(got)
				s, err := wsAccept(c, Subprotocol, "", tc.frame)
				if err != nil {
					return
				}
				if f, err := s.readClose(); err == nil {
					got <- f
				}
			})
			conn := dialWS(t, addr, nil)
			_, err := io.ReadAll(conn)
			var fe *FrameError
			if !errors.As(err, &fe) || fe.Rule != tc.rule {
				t.Fatalf("Read: %v, want a *FrameError for rule %s", err, tc.rule)
			}
			if _, err2 := conn.Read(make([]byte, 1)); err2 != err {
				t.Errorf("second Read: %v, want the same error", err2)
			}
			f, ok := <-got
			if !ok {
				t.Fatal("the server got no close frame")
			}
			if len(f.payload) < 2 || binary.BigEndian.Uint16(f.payload) != tc.code {
				t.Errorf("close frame payload %x, want status %d", f.payload, tc.code)
			}
		})
	}
}

func TestWebSocketCloseStatus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		frame     []byte
		want      error
		wantReply []byte
	}{
		{"no status", frame(finBit|byte(opClose), nil), io.EOF, nil},
		{"going away", closeFrame(closeGoingAway, ""), io.EOF, []byte{0x03, 0xE9}},
		{"internal error", closeFrame(1011, "oops"), &CloseError{Code: 1011, Reason: "oops"}, []byte{0x03, 0xF3}},
		{"application", closeFrame(4000, ""), &CloseError{Code: 4000}, []byte{0x0F, 0xA0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan clientFrame, 1)
			addr := serve(t, nil, func(c net.Conn) {
				defer close(got)
				s, err := wsAccept(c, Subprotocol, "", tc.frame)
				if err != nil {
					return
				}
				if f, err := s.readClose(); err == nil {
					got <- f
				}
			})
			conn := dialWS(t, addr, nil)
			_, err := conn.Read(make([]byte, 10))
			if ce, ok := tc.want.(*CloseError); ok {
				var got *CloseError
				if !errors.As(err, &got) || *got != *ce {
					t.Errorf("Read: %v, want %v", err, ce)
				}
			} else if err != tc.want {
				t.Errorf("Read: %v, want %v", err, tc.want)
			}
			if f := <-got; !bytes.Equal(f.payload, tc.wantReply) {
				t.Errorf("close reply payload %x, want %x", f.payload, tc.wantReply)
			}
		})
	}
}

// TestWebSocketHugeLength checks that a frame claiming 2^62 bytes costs no
// more memory than the bytes that arrive.
func TestWebSocketHugeLength(t *testing.T) {
	hdr := binary.BigEndian.AppendUint64([]byte{finBit | byte(opBinary), 127}, 1<<62)
	addr := serve(t, nil, func(c net.Conn) {
		if _, err := wsAccept(c, Subprotocol, "", hdr, bytes.Repeat([]byte{'x'}, 10000)); err != nil {
			return
		}
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
	})
	conn := dialWS(t, addr, nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	buf := make([]byte, 1024)
	total := 0
	var err error
	for err == nil {
		var n int
		n, err = conn.Read(buf)
		total += n
	}
	runtime.ReadMemStats(&after)
	if total != 10000 || err != io.ErrUnexpectedEOF {
		t.Errorf("read %d bytes then %v, want 10000 then io.ErrUnexpectedEOF", total, err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("reading allocated %d bytes", d)
	}
}

// TestWebSocketConcurrent has the server ping while the client writes
// large and small frames from another goroutine: every frame must arrive
// whole, pongs never inside a data frame.
func TestWebSocketConcurrent(t *testing.T) {
	const writes, pings = 100, 200
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1+i*997%70000) }
	errc := make(chan error, 1)
	addr := serve(t, nil, func(c net.Conn) {
		errc <- func() error {
			s, err := wsAccept(c, Subprotocol, "")
			if err != nil {
				return err
			}
			var wg sync.WaitGroup
			defer wg.Wait()
			wg.Go(func() {
				for i := range pings {
					c.Write(frame(finBit|byte(opPing), []byte{byte(i)}))
				}
			})
			gotPongs, gotData := 0, 0
			for gotData < writes || gotPongs < pings {
				f, err := s.readFrame()
				if err != nil {
					return err
				}
				switch {
				case f.op == opPong && len(f.payload) == 1 && int(f.payload[0]) == gotPongs:
					gotPongs++
				case f.op == opBinary && f.fin && bytes.Equal(f.payload, payload(gotData)):
					gotData++
				default:
					return errors.New("unexpected frame")
				}
			}
			c.Write(closeFrame(closeNormal, ""))
			return nil
		}()
	})
	conn := dialWS(t, addr, nil)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range writes {
			if _, err := conn.Write(payload(i)); err != nil {
				t.Error(err)
				return
			}
		}
	})
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read = %d, %v; want 0, io.EOF", n, err)
	}
	wg.Wait()
	if err := <-errc; err != nil {
		t.Fatal("server:", err)
	}
}

// TestWebSocketClose checks that Close sends a close frame with status
// 1000, and that it returns within its bound when the server reads nothing
// and a Write is blocked.
func TestWebSocketClose(t *testing.T) {
	got := make(chan clientFrame, 1)
	addr := serve(t, nil, func(c net.Conn) {
		s, err := wsAccept(c, Subprotocol, "")
		if err != nil {
			return
		}
		f, _ := s.readClose()
		got <- f
	})
	conn := dialWS(t, addr, nil)
	if err := conn.Close(); err != nil {
		t.Fatal(err)
	}
	if f := <-got; f.op != opClose || !bytes.Equal(f.payload, []byte{0x03, 0xE8}) {
		t.Errorf("server got op %d payload %x, want close 1000", f.op, f.payload)
	}
	if err := conn.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Read after Close: %v, want net.ErrClosed", err)
	}

	block := make(chan struct{})
	addr = serve(t, nil, func(c net.Conn) {
		wsAccept(c, Subprotocol, "")
		<-block // never reads
	})
	defer close(block)
	conn = dialWS(t, addr, nil)
	werr := make(chan error, 1)
	go func() {
		big := make([]byte, 1<<20)
		for {
			if _, err := conn.Write(big); err != nil {
				werr <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond) // let the writer fill the socket buffers
	start := time.Now()
	conn.Close()
	if d := time.Since(start); d > closeTimeout+500*time.Millisecond {
		t.Errorf("Close took %v with a blocked writer", d)
	}
	if err := <-werr; err == nil {
		t.Error("the blocked Write did not fail")
	}
}

// TestWebSocketReadDeadline checks that a read timeout, even inside a frame
// header, leaves the connection usable.
func TestWebSocketReadDeadline(t *testing.T) {
	step := make(chan struct{})
	addr := serve(t, nil, func(c net.Conn) {
		if _, err := wsAccept(c, Subprotocol, ""); err != nil {
			return
		}
		f := frame(finBit|byte(opBinary), []byte("abc"))
		<-step
		c.Write(f[:1]) // half a header
		<-step
		c.Write(f[1:])
		<-step
	})
	conn := dialWS(t, addr, nil)
	defer close(step)
	buf := make([]byte, 10)
	for i := range 2 {
		conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := conn.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read %d: %v, want os.ErrDeadlineExceeded", i, err)
		}
		step <- struct{}{}
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(buf); err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("Read = %q, %v; want abc", buf[:n], err)
	}
}

func TestMask(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	for n := range 40 {
		for split := range n + 1 {
			b := make([]byte, n)
			want := make([]byte, n)
			for i := range b {
				b[i] = byte(i * 7)
				want[i] = b[i] ^ key[i%4]
			}
			pos := mask(key, 0, b[:split])
			mask(key, pos, b[split:])
			if !bytes.Equal(b, want) {
				t.Fatalf("n=%d split=%d: %x, want %x", n, split, b, want)
			}
		}
	}
}
