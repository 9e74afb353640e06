package broker

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestIdleClientsPark: on Linux, a plain TCP client that has nothing to
// say holds no goroutine in the broker (its connection parks), and every
// parked client is woken by what it sends (PINGREQ, SUBSCRIBE), by a
// message routed to it, and by its keep alive running out
// [MQTT-3.1.2-24].
func TestIdleClientsPark(t *testing.T) {
	_, addr := startServer(t, Config{})
	const n = 200
	before := runtime.NumGoroutine()
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = connectID(t, addr, fmt.Sprint("idle-", i), true)
	}
	parks := (runtime.GOOS == "linux") && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64")
	if parks {
		eventually(t, "the idle clients' goroutines to end", func() bool {
			return runtime.NumGoroutine()-before < n/10
		})
	}
	for i, c := range clients {
		c.send(&packet.Pingreq{})
		c.expect(&packet.Pingresp{})
		if i%2 == 0 {
			c.subscribe(1, "park/all", packet.QoS1, packet.SubackCode(packet.QoS1))
		}
	}
	pub := connectID(t, addr, "park-pub", true)
	pub.publish("park/all", "wake", packet.QoS1, false, 1)
	for i := 0; i < n; i += 2 {
		got := clients[i].expectPublish(&packet.Publish{Topic: []byte("park/all"), Payload: []byte("wake"), QoS: packet.QoS1, PacketID: 1})
		clients[i].send(&packet.Puback{PacketID: got.PacketID})
	}
	// A client with a keep alive of 1 s that goes silent is closed after
	// 1.5 s, parked as it is.
	ka := dial(t, addr)
	ka.connect(&packet.Connect{ClientID: []byte("park-ka"), CleanSession: true, KeepAlive: 1}, packet.Connack{})
	start := time.Now()
	ka.nc.SetReadDeadline(time.Now().Add(wait))
	if _, err := ka.br.ReadByte(); err == nil {
		t.Fatal("the silent client got a byte, not the end of its connection")
	}
	if d := time.Since(start); d < 1400*time.Millisecond || d > 3*time.Second {
		t.Fatalf("the silent client was closed after %v, want about 1.5 s", d)
	}
	if parks {
		for _, c := range clients {
			c.nc.Close()
		}
		eventually(t, "the goroutines to end", func() bool { return runtime.NumGoroutine()-before < 10 })
	}
}

// slowAuthorizer holds CanPublish of topic "slow" until release closes.
type slowAuthorizer struct{ release chan struct{} }

func (a slowAuthorizer) CanPublish(_ Identity, topic string) bool {
	if topic == "slow" {
		<-a.release
	}
	return true
}

func (slowAuthorizer) CanSubscribe(Identity, string) bool { return true }

// TestParkedSlowAuthorizer: an Authorizer of the caller's may wait; while
// it holds one client's PUBLISH, every other parked client is still
// served.
func TestParkedSlowAuthorizer(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	_, addr := startServer(t, Config{Authorizer: slowAuthorizer{release}})
	stuck := connectID(t, addr, "stuck", true)
	others := make([]*client, 5)
	for i := range others {
		others[i] = connectID(t, addr, fmt.Sprint("other-", i), true)
	}
	stuck.send(&packet.Publish{Topic: []byte("slow"), Payload: []byte("x"), QoS: packet.QoS1, PacketID: 1})
	time.Sleep(20 * time.Millisecond)
	for _, c := range others {
		c.send(&packet.Pingreq{})
		c.expect(&packet.Pingresp{})
	}
}

// TestParkedHalfPacket: a client that sends half a packet and stops is
// waited for on a goroutine of its own, not on the poller's: every other
// parked client is still served.
func TestParkedHalfPacket(t *testing.T) {
	_, addr := startServer(t, Config{})
	half := connectID(t, addr, "half", true)
	others := make([]*client, 5)
	for i := range others {
		others[i] = connectID(t, addr, fmt.Sprint("other-", i), true)
	}
	half.write([]byte{0x30, 0x10, 0x00, 0x01}) // 4 bytes of a PUBLISH of 18
	time.Sleep(20 * time.Millisecond)
	for _, c := range others {
		c.send(&packet.Pingreq{})
		c.expect(&packet.Pingresp{})
	}
}

// TestParkedConnect: the poller accepts connections and reads their
// CONNECT itself; what may wait on the way is left to a goroutine of the
// connection's own, so that a client held there stalls no other: half
// CONNECTs, an Authenticator that takes its time, a session taken over
// from a connection that is slow to end, a client that sends nothing
// (closed after ConnectTimeout).
func TestParkedConnect(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	auth := AuthenticatorFunc(func(ctx context.Context, info ConnInfo) (string, error) {
		if info.ClientID == "slow" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return info.Username, nil
	})
	_, addr := startServer(t, Config{Authenticator: auth, ConnectTimeout: 300 * time.Millisecond})

	silent := dial(t, addr) // sends nothing
	connect, _ := (&packet.Connect{ClientID: []byte("half"), CleanSession: true}).AppendBinary(nil)
	var halves []*client // each waited for by a goroutine, none by the poller
	for range 50 {
		half := dial(t, addr)
		half.write(connect[:len(connect)/2])
		halves = append(halves, half)
	}
	slow := dial(t, addr)
	slow.send(&packet.Connect{ClientID: []byte("slow"), CleanSession: true})
	time.Sleep(20 * time.Millisecond)

	// Others connect, and one takes another's session over, meanwhile.
	first := connectID(t, addr, "twice", true)
	second := connectID(t, addr, "twice", true)
	second.send(&packet.Pingreq{})
	second.expect(&packet.Pingresp{})
	first.expectClosed()
	for i := range 5 {
		c := connectID(t, addr, fmt.Sprint("other-", i), true)
		c.send(&packet.Pingreq{})
		c.expect(&packet.Pingresp{})
	}
	// A half CONNECT is still waited for: its rest completes it.
	halves[0].write(connect[len(connect)/2:])
	halves[0].expect(&packet.Connack{})
	silent.expectClosed() // within ConnectTimeout
}

// TestConnectLeaveStartsNoGoroutine: on the poller's goroutine, a client
// connects, is answered, parks, and leaves, with no goroutine started for
// it: a connection's end hands off only if a writer is at work.
func TestConnectLeaveStartsNoGoroutine(t *testing.T) {
	_, addr := startServer(t, Config{})
	warm := connectID(t, addr, "warm", true) // the poller runs
	warm.send(&packet.Disconnect{})
	warm.expectClosed()
	created := func() uint64 {
		s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	const n = 100
	before := created()
	for i := range n {
		nc, err := net.Dial("tcp", addr) // no timeout: DialTimeout starts a goroutine
		if err != nil {
			t.Fatal(err)
		}
		c := newClient(t, nc)
		// Packets checked by type: expect's cmp starts goroutines.
		c.send(&packet.Connect{ClientID: []byte(fmt.Sprint("c-", i)), CleanSession: true})
		if p, err := c.read(wait); err != nil {
			t.Fatalf("client %d: CONNACK: %v", i, err)
		} else if ack, ok := p.(*packet.Connack); !ok || ack.ReturnCode != packet.Accepted {
			t.Fatalf("client %d: got %v, want CONNACK 0", i, p)
		}
		c.send(&packet.Pingreq{})
		if p, err := c.read(wait); err != nil {
			t.Fatalf("client %d: PINGRESP: %v", i, err)
		} else if _, ok := p.(*packet.Pingresp); !ok {
			t.Fatalf("client %d: got %v, want PINGRESP", i, p)
		}
		if i%2 == 0 {
			c.send(&packet.Disconnect{})
		} else {
			c.nc.Close() // no DISCONNECT
			continue
		}
		c.expectClosed()
	}
	if got := created() - before; got > n/10 {
		t.Errorf("%d clients connecting and leaving started %d goroutines, want none per client", n, got)
	}
}
