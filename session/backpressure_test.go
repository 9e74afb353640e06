package session

import (
	"context"
	"encoding/binary"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// floodBroker is a fake broker for the tests that need the server to read
// and write at the same time, which the scripted testbroker, one step at a
// time, cannot: while the client does not read, its writes block (net.Pipe
// has no buffer, like a full socket), yet its PINGREQs must be read.
//
// A reader goroutine reads every packet the client sends, answers CONNECT,
// and passes each PINGREQ to the writer. The writer sends CONNACK, waits
// for start, then sends the QoS 0 PUBLISHes of flood, each carrying its
// sequence number in the first 8 bytes of its payload, and answers PINGREQ
// with PINGRESP: as soon as it can, or, with pingLag set, the first time
// only after sending PUBLISHes for pingLag once the client has read
// again, as a server does whose answer waits in its socket behind the data
// it sent earlier.
type floodBroker struct {
	flood   int           // how many PUBLISHes to send
	payload int           // bytes in each
	pingLag time.Duration // see above
	start   chan struct{} // closed by the test to start the flood

	written      atomic.Int64  // PUBLISHes whose write returned: the client read them
	pingreqs     atomic.Int64  // PINGREQs read
	disconnected chan struct{} // closed when DISCONNECT arrives
	exited       chan struct{} // closed when both goroutines have returned
}

func newFloodBroker(flood, payload int) *floodBroker {
	return &floodBroker{flood: flood, payload: payload, start: make(chan struct{}),
		disconnected: make(chan struct{}), exited: make(chan struct{})}
}

// dial is the client's Config.Dial.
func (fb *floodBroker) dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	pings := make(chan struct{}, 64)
	connected := make(chan struct{})
	readerDone := make(chan struct{})
	go func() { // reader
		defer close(readerDone)
		r := packet.NewReader(server, 0)
		for {
			p, err := r.ReadPacket()
			if err != nil {
				server.Close()
				return
			}
			switch p.Type() {
			case packet.TypeConnect:
				close(connected)
			case packet.TypePingreq:
				fb.pingreqs.Add(1)
				pings <- struct{}{}
			case packet.TypeDisconnect:
				close(fb.disconnected)
			}
		}
	}()
	go func() { // writer
		defer func() { <-readerDone; close(fb.exited) }()
		select {
		case <-connected:
		case <-readerDone:
			return
		}
		if _, err := server.Write([]byte{0x20, 0x02, 0x00, 0x00}); err != nil {
			return
		}
		select {
		case <-fb.start:
		case <-readerDone:
			return
		}
		pub := packet.Publish{Topic: []byte("flood"), Payload: make([]byte, fb.payload)}
		var buf []byte
		// With pingLag, PINGRESPs are held until a PUBLISH has waited for
		// the client to read (it had stopped), then for pingLag while the
		// PUBLISHes trickle, a message every 10 ms; after that, and
		// without pingLag, PINGRESP goes out before the next PUBLISH.
		hold := fb.pingLag > 0
		var release time.Time // when the held PINGRESPs go out; zero: not yet known
		owed := 0
		for i := 0; i < fb.flood || owed > 0; i++ {
			for drained := false; !drained; {
				select {
				case <-pings:
					owed++
				default:
					drained = true
				}
			}
			if hold && !release.IsZero() && time.Now().After(release) {
				hold = false
			}
			for ; owed > 0 && !hold; owed-- {
				if _, err := server.Write([]byte{0xd0, 0x00}); err != nil {
					return
				}
			}
			if i >= fb.flood { // the flood is over, PINGRESPs are still held
				time.Sleep(10 * time.Millisecond)
				continue
			}
			binary.BigEndian.PutUint64(pub.Payload, uint64(i))
			buf, _ = pub.AppendBinary(buf[:0])
			began := time.Now()
			if _, err := server.Write(buf); err != nil {
				return
			}
			fb.written.Add(1)
			if hold && release.IsZero() && time.Since(began) > 100*time.Millisecond {
				release = time.Now().Add(fb.pingLag)
			}
			if hold && !release.IsZero() {
				time.Sleep(10 * time.Millisecond)
			}
		}
		for { // answer PINGREQ until the client goes
			select {
			case <-pings:
				if _, err := server.Write([]byte{0xd0, 0x00}); err != nil {
					return
				}
			case <-readerDone:
				return
			}
		}
	}()
	return client, nil
}

// heapAlloc returns the bytes of live heap objects, after a collection.
func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestBackpressure checks that a handler that sleeps for three keepalive
// intervals under a flood of QoS 0 messages neither loses the connection
// (the client goes on sending PINGREQ; the server's PINGRESPs wait behind
// the flood while the reader is held back) [MQTT-3.1.2-23], nor lets memory
// grow with the flood: once MessageQueue messages wait for the handler, the
// reader stops reading, so the server cannot write more (net.Pipe has no
// buffer). Heap growth is bounded by MessageQueue × (payload + 512 bytes
// for the Message, its topic and the queue slot) + 1 MiB of slack; the
// test logs what it measured.
func TestBackpressure(t *testing.T) {
	leaktest.Check(t)
	const (
		payload = 4096
		flood   = 2000
		queue   = DefaultMessageQueue
		sleep   = 3 * time.Second // three keepalive intervals
		bound   = queue*(payload+512) + 1<<20
	)
	fb := newFloodBroker(flood, payload)
	sleeping := make(chan struct{})
	got := make(chan uint64, flood)
	c, err := New(Config{ClientID: "c1", KeepAlive: time.Second, Dial: fb.dial,
		DefaultHandler: HandlerFunc(func(m *Message) {
			seq := binary.BigEndian.Uint64(m.Payload)
			if seq == 0 {
				close(sleeping)
				time.Sleep(sleep)
			}
			got <- seq
		})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Disconnect(context.Background()); <-fb.exited }()

	base := heapAlloc()
	close(fb.start)
	wait(t, sleeping)
	time.Sleep(sleep - 500*time.Millisecond) // the queue is long full
	peak := heapAlloc()
	written := fb.written.Load()
	growth := int64(peak) - int64(base)
	t.Logf("while the handler slept: heap grew %d bytes (bound %d: %d messages of %d bytes); the broker wrote %d of %d messages",
		growth, bound, queue, payload, written, flood)
	if growth > bound {
		t.Errorf("heap grew by %d bytes, more than the bound %d", growth, bound)
	}
	// One message with the handler, queue in the queue, one in the hands
	// of the blocked reader; the next write blocks.
	if written > queue+3 {
		t.Errorf("the broker wrote %d messages while the handler slept, want at most %d: the reader did not stop", written, queue+3)
	}

	for want := range uint64(flood) {
		if seq := wait(t, got); seq != want {
			t.Fatalf("message %d arrived as number %d", seq, want)
		}
	}
	if err := c.Err(); err != nil {
		t.Fatalf("connection ended: %v", err)
	}
	if n := fb.pingreqs.Load(); n < 2 {
		t.Errorf("%d PINGREQs during the handler's sleep, want at least 2", n)
	}
	if err := c.Disconnect(context.Background()); err != nil {
		t.Errorf("Disconnect: %v", err)
	}
	wait(t, fb.disconnected)
}

// TestPingrespBehindBacklog checks that a PINGRESP held up behind the
// messages the server sent while the reader was held back does not end
// the connection: once the reader reads again, the PINGRESP may take up
// to PingTimeout to arrive (section 3.1.2.10).
//
// KeepAlive is 1 s, PingTimeout 2 s. The handler sleeps 2.85 s on the
// first message and the reader stops; the PINGREQs of 1 s and 2 s wait for
// an answer. From about 2.85 s the reader reads again, but the server's
// PINGRESP comes only 0.6 s later, behind a trickle of messages, at about
// 3.45 s: after the writer's check at 3 s, when the first PINGREQ is
// already a ping timeout old, and well within a ping timeout of the
// reader going on.
func TestPingrespBehindBacklog(t *testing.T) {
	leaktest.Check(t)
	fb := newFloodBroker(400, 16)
	fb.pingLag = 600 * time.Millisecond
	sleeping := make(chan struct{})
	var handled atomic.Int64
	c, err := New(Config{ClientID: "c1", KeepAlive: time.Second, PingTimeout: 2 * time.Second,
		MessageQueue: 8, Dial: fb.dial,
		DefaultHandler: HandlerFunc(func(m *Message) {
			if handled.Add(1) == 1 {
				close(sleeping)
				time.Sleep(2850 * time.Millisecond)
			}
		})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Disconnect(context.Background()); <-fb.exited }()
	close(fb.start)
	wait(t, sleeping)
	deadline := time.Now().Add(waitLong)
	for handled.Load() < 400 && c.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("connection ended after %d messages: %v", handled.Load(), err)
	}
	if n := handled.Load(); n != 400 {
		t.Fatalf("%d messages handled, want 400", n)
	}
}
