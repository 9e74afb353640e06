package broker

import (
	"bufio"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// benchConn is a raw client for benchmarks: a packet.Reader and a
// buffered packet.Writer, the writer behind a mutex.
type benchConn struct {
	nc net.Conn
	r  *packet.Reader
	mu sync.Mutex
	bw *bufio.Writer
	w  *packet.Writer
}

func benchDial(b *testing.B, addr, id string) *benchConn {
	b.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	bw := bufio.NewWriterSize(nc, 64<<10)
	c := &benchConn{nc: nc, r: packet.NewReader(nc, 0), bw: bw, w: packet.NewWriter(bw)}
	c.send(true, &packet.Connect{ClientID: []byte(id), CleanSession: true})
	if p, err := c.r.ReadPacket(); err != nil || p.(*packet.Connack).ReturnCode != packet.Accepted {
		b.Fatalf("CONNACK: %v %v", p, err)
	}
	return c
}

func (c *benchConn) send(flush bool, p packet.Packet) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.w.WritePacket(p); err != nil {
		return err
	}
	if flush {
		return c.bw.Flush()
	}
	return nil
}

// subscribeAndReceive subscribes c to filter and starts a goroutine that
// receives n messages, acknowledging them, and then signals wg.
func (c *benchConn) subscribeAndReceive(b *testing.B, filter string, q packet.QoS, n int, wg *sync.WaitGroup) {
	c.send(true, &packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: []byte(filter), QoS: q}}})
	if _, err := c.r.ReadPacket(); err != nil {
		b.Fatal(err)
	}
	wg.Go(func() {
		for got := 0; got < n; {
			p, err := c.r.ReadPacket()
			if err != nil {
				b.Error(err)
				return
			}
			var ack packet.Packet
			switch p := p.(type) {
			case *packet.Publish:
				got++
				switch p.QoS {
				case packet.QoS1:
					ack = &packet.Puback{PacketID: p.PacketID}
				case packet.QoS2:
					ack = &packet.Pubrec{PacketID: p.PacketID}
				}
			case *packet.Pubrel:
				ack = &packet.Pubcomp{PacketID: p.PacketID}
			}
			if ack != nil {
				c.send(true, ack)
			}
		}
	})
}

// benchPublish publishes n messages of payload at QoS q, with at most
// window of QoS 1 and 2 messages unacknowledged.
func benchPublish(b *testing.B, c *benchConn, topic string, payload []byte, q packet.QoS, n, window int) {
	slots := make(chan struct{}, window)
	done := make(chan struct{})
	if q > 0 {
		go func() {
			defer close(done)
			for acked := 0; acked < n; {
				p, err := c.r.ReadPacket()
				if err != nil {
					b.Error(err)
					return
				}
				switch p := p.(type) {
				case *packet.Puback, *packet.Pubcomp:
					acked++
					<-slots
				case *packet.Pubrec:
					c.send(true, &packet.Pubrel{PacketID: p.PacketID})
				}
			}
		}()
	} else {
		close(done)
	}
	pub := packet.Publish{Topic: []byte(topic), Payload: payload, QoS: q}
	for i := range n {
		if q > 0 {
			slots <- struct{}{}
			pub.PacketID = uint16(i%60000 + 1)
		}
		if err := c.send(q > 0 || i%64 == 63 || i == n-1, &pub); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}

// benchFanout measures messages published by one client through the
// broker to subs subscribers, at QoS q, 64-byte payloads, over loopback
// TCP.
func benchFanout(b *testing.B, q packet.QoS, subs int) {
	_, addr := startServer(b, Config{MaxQueued: 1 << 22, MaxInflight: 256})
	var wg sync.WaitGroup
	for i := range subs {
		c := benchDial(b, addr, "sub"+strconv.Itoa(i))
		c.subscribeAndReceive(b, "bench/#", q, b.N, &wg)
	}
	p := benchDial(b, addr, "pub")
	payload := make([]byte, 64)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	benchPublish(b, p, "bench/x", payload, q, b.N, 256)
	wg.Wait()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	if subs > 1 {
		b.ReportMetric(float64(b.N*subs)/elapsed.Seconds(), "deliveries/s")
	}
}

func BenchmarkBroker1to1(b *testing.B) {
	for q := range packet.QoS(3) {
		b.Run("QoS"+strconv.Itoa(int(q)), func(b *testing.B) { benchFanout(b, q, 1) })
	}
}

func BenchmarkBrokerFanout50(b *testing.B) {
	for q := range packet.QoS(2) {
		b.Run("QoS"+strconv.Itoa(int(q)), func(b *testing.B) { benchFanout(b, q, 50) })
	}
}
