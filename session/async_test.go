package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestPublishAsyncWindow checks the window of PublishAsync: it returns at
// once while fewer than MaxInflight messages await acknowledgement, the
// PUBLISH packets go out in call order with identifiers in that order,
// the next call waits for an acknowledgement (and gives up when its ctx
// ends, sending nothing), and each Ack reports its own outcome, in
// whatever order the acknowledgements come.
func TestPublishAsyncWindow(t *testing.T) {
	leaktest.Check(t)
	cfg := scriptConfig()
	cfg.MaxInflight = 2
	c, b := connected(t, cfg)
	ctx := context.Background()
	a1, err := c.PublishAsync(ctx, Message{Topic: "t", Payload: []byte("1"), QoS: packet.QoS1})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := c.PublishAsync(ctx, Message{Topic: "t", Payload: []byte("2"), QoS: packet.QoS2})
	if err != nil {
		t.Fatal(err)
	}
	b.Expect(hx("32 06 00 01 74 00 01 31"))
	b.Expect(hx("34 06 00 01 74 00 02 32"))

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := c.PublishAsync(short, Message{Topic: "t", Payload: []byte("x"), QoS: packet.QoS1}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PublishAsync with the window full = %v, want its ctx's error", err)
	}
	third := async(func() error {
		a3, err := c.PublishAsync(ctx, Message{Topic: "t", Payload: []byte("3"), QoS: packet.QoS1})
		if err != nil {
			return err
		}
		return a3.Wait(ctx)
	})
	blocked(t, third, 20*time.Millisecond, "PublishAsync with the window full")
	select {
	case <-a1.Done():
		t.Fatal("Ack 1 done before PUBACK")
	case <-a2.Done():
		t.Fatal("Ack 2 done before PUBCOMP")
	default:
	}
	if a1.Err() != nil || a2.Err() != nil {
		t.Fatal("Err not nil before Done")
	}
	b.Send(hx("50 02 00 02"))   // PUBREC 2 first
	b.Expect(hx("62 02 00 02")) // PUBREL 2
	b.Send(hx("70 02 00 02"))   // PUBCOMP 2: a place in the window
	<-a2.Done()
	if err := a2.Err(); err != nil {
		t.Fatalf("Ack 2: %v", err)
	}
	b.Expect(hx("32 06 00 01 74 00 03 33")) // the third, into the place freed
	b.Send(hx("40 02 00 01"))
	b.Send(hx("40 02 00 03"))
	if err := a1.Wait(ctx); err != nil {
		t.Fatalf("Ack 1: %v", err)
	}
	if err := wait(t, third); err != nil {
		t.Fatalf("Ack 3: %v", err)
	}
}

// TestPublishAsyncLost checks that the Acks of messages sent on a
// connection that ends report it, with ErrConnectionLost.
func TestPublishAsyncLost(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	a, err := c.PublishAsync(context.Background(), Message{Topic: "t", QoS: packet.QoS1})
	if err != nil {
		t.Fatal(err)
	}
	b.ExpectType(packet.TypePublish)
	b.Close()
	wait(t, a.Done())
	if !errors.Is(a.Err(), ErrConnectionLost) {
		t.Fatalf("Ack = %v, want ErrConnectionLost", a.Err())
	}
}

// TestMosquittoPublishAsyncOrder publishes thousands of messages from one
// goroutine with PublishAsync, at QoS 1 and at QoS 2, MaxInflight in
// flight, through Mosquitto, and checks that the subscriber gets each
// once, in the order given [MQTT-4.6.0-5], and each Ack reports success.
func TestMosquittoPublishAsyncOrder(t *testing.T) {
	leaktest.Check(t)
	b := mosquittotest.Start(t, mosquittotest.Options{Config: "max_inflight_messages 0\nmax_queued_messages 0\n"})
	const n = 5000
	for _, qos := range []packet.QoS{packet.QoS1, packet.QoS2} {
		t.Run(qos.String(), func(t *testing.T) {
			var mu sync.Mutex
			var got []uint32
			all := make(chan struct{})
			sub := mosqConnect(t, b, Config{ClientID: fmt.Sprintf("async-sub%d", qos), MessageQueue: n})
			topic := fmt.Sprintf("async/%d", qos)
			mosqSubscribe(t, sub, HandlerFunc(func(m *Message) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, binary.BigEndian.Uint32(m.Payload))
				if len(got) == n {
					close(all)
				}
			}), topic, qos)

			pub := mosqConnect(t, b, Config{ClientID: fmt.Sprintf("async-pub%d", qos), MaxInflight: 20})
			ctx := context.Background()
			acks := make([]*Ack, 0, n)
			for i := range n {
				a, err := pub.PublishAsync(ctx, Message{Topic: topic, Payload: binary.BigEndian.AppendUint32(nil, uint32(i)), QoS: qos})
				if err != nil {
					t.Fatalf("PublishAsync %d: %v", i, err)
				}
				acks = append(acks, a)
			}
			for i, a := range acks {
				if err := a.Wait(ctx); err != nil {
					t.Fatalf("Ack %d: %v", i, err)
				}
			}
			select {
			case <-all:
			case <-time.After(20 * time.Second):
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != n {
				t.Fatalf("%d messages arrived, want %d", len(got), n)
			}
			for i, v := range got {
				if v != uint32(i) {
					t.Fatalf("message %d is %d: lost, duplicated or out of order", i, v)
				}
			}
		})
	}
}

// TestPublishAsyncQoS0 checks PublishAsync at QoS 0: the message goes to
// the writer in call order among the others, its Ack is done once it is
// written; while the broker reads nothing, the calls return at once until
// many wait, then each waits for its own write until its ctx ends; when
// the connection ends, the Acks of those never written report
// ErrConnectionLost, none left waiting.
func TestPublishAsyncQoS0(t *testing.T) {
	leaktest.Check(t)
	c, b := connected(t, scriptConfig())
	ctx := context.Background()
	a1, err := c.PublishAsync(ctx, Message{Topic: "t", Payload: []byte("1")})
	if err != nil {
		t.Fatal(err)
	}
	a2, err := c.PublishAsync(ctx, Message{Topic: "t", Payload: []byte("2"), QoS: packet.QoS1})
	if err != nil {
		t.Fatal(err)
	}
	a3, err := c.PublishAsync(ctx, Message{Topic: "t", Payload: []byte("3")})
	if err != nil {
		t.Fatal(err)
	}
	b.Expect(hx("30 04 00 01 74 31"))
	b.Expect(hx("32 06 00 01 74 00 01 32"))
	b.Expect(hx("30 04 00 01 74 33"))
	for i, a := range []*Ack{a1, a3} {
		if wait(t, a.Done()); a.Err() != nil {
			t.Fatalf("QoS 0 Ack %d: %v, want nil once written", 2*i+1, a.Err())
		}
	}
	b.Send(hx("40 02 00 01"))
	if err := a2.Wait(ctx); err != nil {
		t.Fatalf("QoS 1 Ack: %v", err)
	}

	// The broker reads nothing now: the writer gets stuck in the write
	// of a message larger than its buffer.
	big, err := c.PublishAsync(ctx, Message{Topic: "t", Payload: make([]byte, 64<<10)})
	if err != nil {
		t.Fatal(err)
	}
	acks := []*Ack{big}
	time.Sleep(20 * time.Millisecond)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	for i := range maxQueuedAsync + 10 {
		a, err := c.PublishAsync(short, Message{Topic: "t", Payload: []byte(fmt.Sprint(i))})
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		acks = append(acks, a)
	}
	if elapsed := time.Since(start); elapsed < 90*time.Millisecond {
		t.Fatalf("%d messages queued for a writer that cannot write in %v: want the calls past %d to wait for their ctx", len(acks)-1, elapsed, maxQueuedAsync)
	}
	b.Close()
	for i, a := range acks {
		wait(t, a.Done())
		if !errors.Is(a.Err(), ErrConnectionLost) {
			t.Fatalf("Ack %d of a message never written: %v, want ErrConnectionLost", i, a.Err())
		}
	}
}
