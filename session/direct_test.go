//go:build unix

package session

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestDirectWriteFullSocket publishes over real TCP, where callers write
// their packets themselves while the writer is idle (conn.writeDirect), to
// a server that stops reading until the client's socket is full: the
// writes cut short go back to the queue for the writer, a Publish whose
// context ends while it waits returns at once, and once the server reads
// again every packet arrives whole and in call order, QoS 0 and QoS 1
// interleaved.
func TestDirectWriteFullSocket(t *testing.T) {
	leaktest.Check(t)
	// Small buffers, so that the client's socket fills after a few
	// messages: the server's receive buffer is set on the listener, so
	// that accepted connections start with it (set later, it shrinks the
	// window TCP announced, and the sender may wait out its probes).
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10)
		})
	}}
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const n = 600
	payload := make([]byte, 3000)
	resume := make(chan struct{})
	served := make(chan error, 1)
	go func() { served <- serveFull(l, n, len(payload), resume) }()

	cfg := scriptConfig()
	cfg.MaxInflight = n
	cfg.Dial = func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", l.Addr().String())
		if err == nil {
			nc.(*net.TCPConn).SetWriteBuffer(8 << 10) // full after a few messages
		}
		return nc, err
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if c.current().raw == nil {
		t.Fatal("no descriptor access on a TCP connection: the callers never write")
	}

	published := make(chan error, 1)
	var acks []*Ack
	go func() {
		for i := range n {
			binary.BigEndian.PutUint32(payload, uint32(i))
			m := Message{Topic: "t", Payload: payload, QoS: packet.QoS(i % 2)}
			if m.QoS == 0 {
				if err := c.Publish(ctx, m); err != nil {
					published <- err
					return
				}
				continue
			}
			a, err := c.PublishAsync(ctx, m)
			if err != nil {
				published <- err
				return
			}
			acks = append(acks, a)
		}
		published <- nil
	}()
	blocked(t, published, 200*time.Millisecond, "publishing into a full socket")

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err = c.Publish(short, Message{Topic: "late", QoS: packet.QoS0})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish with the socket full = %v, want its context's error", err)
	}

	close(resume)
	select {
	case err := <-published:
		if err != nil {
			t.Fatal(err)
		}
	case err := <-served: // all read, or the server failed
		if err != nil {
			t.Fatalf("the server: %v", err)
		}
		if err := wait(t, published); err != nil {
			t.Fatal(err)
		}
		served <- nil
	case <-time.After(waitLong):
		t.Fatal("publishing did not end once the server read again")
	}
	for i, a := range acks {
		if err := a.Wait(ctx); err != nil {
			t.Fatalf("QoS 1 message %d: %v", 2*i+1, err)
		}
	}
	if err := wait(t, served); err != nil {
		t.Fatal(err)
	}
	if err := c.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
}

// serveFull accepts one client, answers its CONNECT, reads nothing more
// until resume is closed, then reads n PUBLISH packets of size bytes
// each, numbered in their first four bytes, checking that they come whole
// and in order (the cancelled "late" one may come anywhere, or not at
// all), and acknowledges those at QoS 1.
func serveFull(l net.Listener, n, size int, resume <-chan struct{}) error {
	nc, err := l.Accept()
	if err != nil {
		return err
	}
	defer nc.Close()
	r := packet.NewReader(nc, 1<<20)
	if _, err := r.ReadPacket(); err != nil {
		return err
	}
	if _, err := nc.Write([]byte{0x20, 2, 0, 0}); err != nil {
		return err
	}
	<-resume
	nc.SetDeadline(time.Now().Add(3 * waitLong))
	for want := 0; want < n; {
		p, err := r.ReadPacket()
		if err != nil {
			return err
		}
		pub, ok := p.(*packet.Publish)
		if !ok {
			return errors.New("read " + p.Type().String() + ", want PUBLISH")
		}
		if string(pub.Topic) == "late" {
			continue
		}
		if len(pub.Payload) != size {
			return errors.New("a PUBLISH of the wrong size")
		}
		if got := int(binary.BigEndian.Uint32(pub.Payload)); got != want || int(pub.QoS) != want%2 {
			return errors.New("PUBLISH out of order")
		}
		if pub.QoS == packet.QoS1 {
			if _, err := nc.Write([]byte{0x40, 2, byte(pub.PacketID >> 8), byte(pub.PacketID)}); err != nil {
				return err
			}
		}
		want++
	}
	return nil
}
