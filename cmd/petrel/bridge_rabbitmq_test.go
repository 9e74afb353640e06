package main

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/rabbitmqtest"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

const (
	bridgeMessages = 5000
	bridgeRate     = 500 // messages a second
	bridgeQoS2     = 200
)

// TestRabbitMQBridge: petrel broker bridges sensors/# out at QoS 1 to
// nodes 1 and 2 of the RabbitMQ cluster; bridgeMessages QoS 1 messages are
// published into it at bridgeRate, and node 1 is SIGKILLed halfway: every
// message reaches a persistent subscriber on node 3. Then QoS 2 messages
// through a topic bridged at QoS 2: RabbitMQ answers PUBACK, which the
// bridge reports once and from then on sends them at QoS 1; all arrive.
func TestRabbitMQBridge(t *testing.T) {
	c := rabbitmqtest.Shared(t)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	id := fmt.Sprintf("petrel-bridge-%d", os.Getpid())

	got, got2 := newCounter(bridgeMessages), newCounter(bridgeQoS2)
	count := session.HandlerFunc(func(m *session.Message) {
		if strings.HasPrefix(m.Topic, "sensors/") {
			got.add(string(m.Payload))
		} else {
			got2.add(string(m.Payload))
		}
	})
	sub := bridgeClient(t, n3.Addr(), id+"-sub", count)
	codes, err := sub.Subscribe(t.Context(), count,
		session.Subscription{Filter: "sensors/#", QoS: packet.QoS1}, session.Subscription{Filter: id + "/qos2/#", QoS: packet.QoS1})
	if err != nil || codes[0] != 1 || codes[1] != 1 {
		t.Fatalf("Subscribe on node 3: %v, %v", codes, err)
	}

	pb := startBridgeBroker(t, fmt.Sprintf(`
connection cluster
address %s %s
topic sensors/# out 1
topic %s/qos2/# out 2
remote_clientid %s
restart_timeout 1 2
keepalive_interval 10
`, n1.Addr(), n2.Addr(), id, id))
	pb.waitLog("bridge: connected to the remote broker", 30*time.Second)

	pub := bridgeClient(t, pb.addr, id+"-pub", nil)
	began := time.Now()
	var killed atomic.Int64
	publishPaced(t, pub, "sensors/7/temp", packet.QoS1, bridgeMessages, bridgeRate, map[int]func(){
		bridgeMessages / 2: func() {
			n1.Kill()
			killed.Store(int64(time.Since(began)))
		},
	})
	published := time.Since(began)
	dups := waitAll(t, "QoS 1 through node 1's death", got, bridgeMessages, 90*time.Second)
	t.Logf("%d QoS 1 messages at %d/s into petrel broker, bridged to nodes 1 and 2; node 1 SIGKILLed at %v; all acknowledged by petrel broker in %v, all on node 3 in %v; %d duplicates",
		bridgeMessages, bridgeRate, time.Duration(killed.Load()).Round(time.Millisecond), published.Round(time.Millisecond),
		time.Since(began).Round(time.Millisecond), dups)

	began = time.Now()
	publishPaced(t, pub, id+"/qos2/x", packet.QoS2, bridgeQoS2, 100, nil)
	dups2 := waitAll(t, "QoS 2 sent on at QoS 1", got2, bridgeQoS2, 60*time.Second)
	if n := strings.Count(pb.log(), "does not support QoS 2"); n != 1 {
		t.Errorf("the QoS 2 downgrade logged %d times, want once", n)
	}
	t.Logf("%d QoS 2 messages: RabbitMQ's PUBACK reported once, all delivered at QoS 1 in %v, %d duplicates",
		bridgeQoS2, time.Since(began).Round(time.Millisecond), dups2)

	if err := c.Restart(n1); err != nil {
		t.Fatal(err)
	}
	t.Logf("node 1 restarted in %v", n1.BootTime().Round(100*time.Millisecond))
}

// TestRabbitMQBridgeOutage (about two and a half minutes: the cluster's
// restart takes two): the whole cluster is stopped for 10 s while
// messages stream into petrel broker, and petrel broker is SIGKILLed and
// restarted during the outage; every message reaches the subscriber on
// node 3 once the cluster is back.
func TestRabbitMQBridgeOutage(t *testing.T) {
	c := rabbitmqtest.Shared(t)
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	id := fmt.Sprintf("petrel-bridge-outage-%d", os.Getpid())
	const n, rate = 3000, 100
	got := newCounter(n)
	count := session.HandlerFunc(func(m *session.Message) { got.add(string(m.Payload)) })
	sub := bridgeClient(t, n3.Addr(), id+"-sub", count)
	if _, err := sub.Subscribe(t.Context(), count, session.Subscription{Filter: id + "/#", QoS: packet.QoS1}); err != nil {
		t.Fatal(err)
	}
	pb := startBridgeBroker(t, fmt.Sprintf(`
connection cluster
address %s %s %s
topic %s/# out 1
remote_clientid %s
restart_timeout 1 5
keepalive_interval 10
`, n1.Addr(), n2.Addr(), n3.Addr(), id, id))
	pb.waitLog("bridge: connected to the remote broker", 30*time.Second)

	pub := bridgeClient(t, pb.addr, id+"-pub", nil)
	began := time.Now()
	var stopped, killed, restarted time.Duration
	restartDone := make(chan error, 1)
	publishPaced(t, pub, id+"/x", packet.QoS1, n, rate, map[int]func(){
		n / 6: func() { // 5 s in
			for _, nd := range []*rabbitmqtest.Node{n1, n2, n3} {
				nd.Stop()
			}
			stopped = time.Since(began)
		},
		n/6 + rate*5: func() {
			pb.kill()
			killed = time.Since(began)
		},
		n/6 + rate*10: func() {
			go func() {
				err := c.Restart()
				restarted = time.Since(began) // before the send, which orders it before the read
				restartDone <- err
			}()
		},
	})
	if err := <-restartDone; err != nil {
		t.Fatal(err)
	}
	dups := waitAll(t, "QoS 1 through the cluster's outage", got, n, 5*time.Minute)
	t.Logf("%d QoS 1 messages at %d/s into petrel broker; the cluster stopped at %v, petrel broker SIGKILLed and restarted at %v, "+
		"the cluster restarted from %v to %v; all on node 3 at %v; %d duplicates",
		n, rate, stopped.Round(time.Millisecond), killed.Round(time.Millisecond), (stopped + 10*time.Second).Round(time.Second),
		restarted.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), dups)
}
