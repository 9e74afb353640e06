//go:build unix

package session

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// The benchmarks of the client's hot paths against Mosquitto (skipped if
// it is not installed), 64-byte messages as in issue 12. Each reports
// msg/s and cpu-ns/msg, the CPU time (user and system) of this process
// per message, besides allocations: compare runs with benchstat.
//
//	go test -run '^$' -bench 'Mosquitto' -benchmem -count 6 ./session/

// benchPayload is the payload of every message.
var benchPayload = make([]byte, 64)

// benchClient returns a connected Client of b for cfg.
func benchClient(tb testing.TB, b *mosquittotest.Broker, cfg Config) *Client {
	tb.Helper()
	cfg.Address, cfg.Port = "127.0.0.1", b.Port()
	c, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := c.Connect(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c.Disconnect(ctx)
	})
	return c
}

// cpuTime returns the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs f, which handles n messages, as the timed part of b, and
// reports msg/s and cpu-ns/msg.
func measure(b *testing.B, n int, f func()) {
	b.ReportAllocs()
	b.ResetTimer()
	began, cpu := time.Now(), cpuTime()
	f()
	wall, cpu := time.Since(began), cpuTime()-cpu
	b.StopTimer()
	b.ReportMetric(float64(n)/wall.Seconds(), "msg/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/msg")
}

// BenchmarkMosquittoPublish: Publish in a loop, at QoS 0 and with one
// message in flight at QoS 1, and PublishAsync in a loop, MaxInflight 64
// in flight in order, at QoS 1 and 2.
func BenchmarkMosquittoPublish(b *testing.B) {
	for _, bc := range []struct {
		name  string
		qos   packet.QoS
		async bool
	}{
		{"serial/qos0", packet.QoS0, false},
		{"serial/qos1", packet.QoS1, false},
		{"ordered/qos1", packet.QoS1, true},
		{"ordered/qos2", packet.QoS2, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			br := mosquittotest.Start(b, mosquittotest.Options{})
			c := benchClient(b, br, Config{ClientID: "bench-pub", MaxInflight: 64})
			ctx := context.Background()
			m := Message{Topic: "bench/pub", Payload: benchPayload, QoS: bc.qos}
			measure(b, b.N, func() {
				if !bc.async {
					for range b.N {
						if err := c.Publish(ctx, m); err != nil {
							b.Fatal(err)
						}
					}
					return
				}
				var last *Ack
				for range b.N {
					a, err := c.PublishAsync(ctx, m)
					if err != nil {
						b.Fatal(err)
					}
					last = a
				}
				if err := last.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkMosquittoReceive: a subscriber at QoS 0 receives messages that
// a raw connection writes to Mosquitto as fast as it takes them, already
// encoded, so that the process's time is the subscriber's.
func BenchmarkMosquittoReceive(b *testing.B) {
	br := mosquittotest.Start(b, mosquittotest.Options{Config: "max_queued_messages 0\n"})
	var got atomic.Int64
	all := make(chan struct{})
	want := int64(b.N)
	h := HandlerFunc(func(m *Message) {
		if got.Add(1) == want {
			close(all)
		}
	})
	c := benchClient(b, br, Config{ClientID: "bench-sub"})
	if _, err := c.Subscribe(context.Background(), h, Subscription{Filter: "bench/recv", QoS: packet.QoS0}); err != nil {
		b.Fatal(err)
	}
	pub := rawPublisher(b, br)
	p := packet.Publish{Topic: []byte("bench/recv"), Payload: benchPayload}
	one, _ := p.AppendBinary(nil)
	stream := bytes.Repeat(one, b.N)
	measure(b, b.N, func() {
		go pub.Write(stream)
		select {
		case <-all:
		case <-time.After(60 * time.Second):
			b.Fatalf("%d of %d messages received within 60s", got.Load(), b.N)
		}
	})
}

// rawPublisher returns a connection to b on which CONNECT was accepted.
func rawPublisher(tb testing.TB, b *mosquittotest.Broker) net.Conn {
	tb.Helper()
	nc, err := net.Dial("tcp", b.Addr())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	conn, _ := (&packet.Connect{ClientID: []byte("bench-raw"), CleanSession: true}).AppendBinary(nil)
	if _, err := nc.Write(conn); err != nil {
		tb.Fatal(err)
	}
	if p, err := packet.NewReader(nc, 0).ReadPacket(); err != nil || p.Type() != packet.TypeConnack {
		tb.Fatalf("CONNACK: %v, %v", p, err)
	}
	return nc
}
