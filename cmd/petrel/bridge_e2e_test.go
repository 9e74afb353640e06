package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/faultproxy"
	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// The bridge tests run petrel broker, the built binary, with a
// mosquitto.conf of its own holding a "connection" block, between
// publishers connected to it and subscribers of the remote broker:
// Mosquitto (through internal/faultproxy, which takes the remote broker
// away and cuts the bridge's link) and the RabbitMQ cluster
// (rabbitmq_test.go).

// bridgeBroker is petrel broker as a process, on a port it keeps across
// restarts, with a configuration file.
type bridgeBroker struct {
	t    *testing.T
	conf string // the configuration file
	addr string // its listener, 127.0.0.1:port
	p    *proc
	logs []string // the log of each run before the current one
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startBridgeBroker writes conf, after a listener and persistence in a
// directory of the test's, and starts petrel broker -c with it.
func startBridgeBroker(t *testing.T, conf string) *bridgeBroker {
	t.Helper()
	dir := t.TempDir()
	b := &bridgeBroker{t: t, addr: freeAddr(t), conf: filepath.Join(dir, "petrel.conf")}
	_, port, _ := net.SplitHostPort(b.addr)
	text := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s\nautosave_interval 1\n"+
		"max_queued_messages 1000000\nmax_queued_bytes 0\nlog_dest stderr\nlog_type warning\nlog_type notice\n%s\n",
		port, filepath.Join(dir, "state"), conf)
	if err := os.WriteFile(b.conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	b.start()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("petrel broker's log, last 40 lines:\n%s", b.tail(40))
		}
	})
	return b
}

func (b *bridgeBroker) start() {
	b.t.Helper()
	b.p = startProc(b.t, nil, petrelBin(b.t), "broker", "-c", b.conf)
	deadline := time.Now().Add(10 * time.Second)
	for !listeningLine.MatchString(b.p.stdout.String()) {
		select {
		case <-b.p.done:
			b.t.Fatalf("petrel broker exited: %v; stderr %q", b.p.err, b.p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("petrel broker printed no listener within 10s; stderr %q", b.p.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// kill SIGKILLs petrel broker and starts it again.
func (b *bridgeBroker) kill() {
	b.t.Helper()
	b.p.cmd.Process.Signal(syscall.SIGKILL)
	<-b.p.done
	b.logs = append(b.logs, b.p.stderr.String())
	b.start()
}

// log returns the log of every run.
func (b *bridgeBroker) log() string {
	return strings.Join(append(b.logs[:len(b.logs):len(b.logs)], b.p.stderr.String()), "")
}

func (b *bridgeBroker) tail(n int) string {
	lines := strings.Split(b.log(), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// waitLog waits until the log holds s.
func (b *bridgeBroker) waitLog(s string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(b.log(), s) {
		if time.Now().After(deadline) {
			b.t.Fatalf("petrel broker did not log %q within %v", s, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bridgeClient connects a client with a persistent session that
// reconnects by itself, closed when the test ends.
func bridgeClient(t *testing.T, addr, id string, h session.Handler) *session.Client {
	t.Helper()
	c, err := session.New(session.Config{
		Address: addr, ClientID: id, PersistentSession: true, MessageQueue: 4096, DefaultHandler: h,
		Reconnect: &session.Reconnect{MinDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond, QueueMessages: 100000, QueueBytes: 64 << 20},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return c
}

// publishPaced publishes n messages, 0 to n-1, on topic at qos and rate a
// second from one goroutine (PublishAsync, in order), calling at[i] when
// it gets to message i, and waits for every acknowledgement.
func publishPaced(t *testing.T, c *session.Client, topic string, qos packet.QoS, n, rate int, at map[int]func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	acks := make([]*session.Ack, 0, n)
	for i := range pace(n, rate, -1, nil) {
		if f := at[i]; f != nil {
			f()
		}
		a, err := c.PublishAsync(ctx, session.Message{Topic: topic, Payload: []byte(strconv.Itoa(i)), QoS: qos})
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		acks = append(acks, a)
	}
	for i, a := range acks {
		if err := a.Wait(ctx); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
}

// waitAll waits for every message of got, at most d, and reports.
func waitAll(t *testing.T, what string, got *counter, n int, d time.Duration) (dups int) {
	t.Helper()
	select {
	case <-got.all:
	case <-time.After(d):
	}
	total, missing, dups, bad := got.report()
	if len(missing) > 0 || len(bad) > 0 {
		t.Errorf("%s: %d of %d messages missing (the first: %v); %d payloads that are no sequence number",
			what, len(missing), n, missing[:min(len(missing), 10)], len(bad))
	}
	t.Logf("%s: %d of %d arrived, %d deliveries, %d duplicates", what, n-len(missing), n, total, dups)
	return dups
}

// bridgeRemote is the Mosquitto the bridges connect to: no limit on
// queued messages (its default of 1,000 drops what a burst of the bridge
// after an outage puts beyond it, for a subscriber that is slower).
var bridgeRemote = mosquittotest.Options{Persistence: true, Config: "max_queued_messages 0\nmax_queued_bytes 0"}

// startBridgeRemote starts Mosquitto as a bridge's remote broker, and a
// fault proxy in front of it for the bridge to connect through; the
// caller closes the proxy.
func startBridgeRemote(t *testing.T) (*mosquittotest.Broker, *faultproxy.Proxy) {
	t.Helper()
	m := startBroker(t, bridgeRemote)
	fp, err := faultproxy.Listen(m.Addr(), faultproxy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m, fp
}

// TestBridgeMosquittoOutage: petrel broker bridges q1/# out at QoS 1 and
// q2/# out at QoS 2 to Mosquitto (try_private true), and cmd/# in. While
// messages stream in at a steady rate, the remote broker goes away for
// 10 s (the fault proxy refuses and cuts), and petrel broker is SIGKILLed
// and restarted during the outage: every message reaches Mosquitto's
// persistent subscriber once the link is back, QoS 2 ones once each but
// for the one being handed over at the kill, if any.
func TestBridgeMosquittoOutage(t *testing.T) {
	m, fp := startBridgeRemote(t)
	defer fp.Close()
	const n1, n2, rate = 3000, 1000, 200 // QoS 1 and QoS 2 messages, each stream's rate a second
	got1, got2 := newCounter(n1), newCounter(n2)
	id := fmt.Sprintf("bridge-outage-%d", os.Getpid())
	count := session.HandlerFunc(func(msg *session.Message) {
		switch msg.Topic {
		case "q1/x":
			got1.add(string(msg.Payload))
		case "q2/x":
			got2.add(string(msg.Payload))
		}
	})
	bridgeClient(t, m.Addr(), id+"-sub", count).Subscribe(context.Background(), count,
		session.Subscription{Filter: "q1/#", QoS: packet.QoS1}, session.Subscription{Filter: "q2/#", QoS: packet.QoS2})
	waitSubscribed(t, m, id+"-sub", 2, "q2/#")

	pb := startBridgeBroker(t, fmt.Sprintf(`
connection mosquitto
address %s
topic q1/# out 1
topic q2/# out 2
topic cmd/# in 1 site/ ""
remote_clientid %s
try_private true
restart_timeout 1 2
keepalive_interval 5
`, fp.Addr(), id))
	pb.waitLog("bridge: connected to the remote broker", 10*time.Second)

	// in: a command published on Mosquitto reaches petrel broker's
	// subscriber as site/cmd/...
	gotIn := make(chan string, 10)
	bridgeClient(t, pb.addr, id+"-local", session.HandlerFunc(func(msg *session.Message) { gotIn <- msg.Topic })).
		Subscribe(context.Background(), session.HandlerFunc(func(msg *session.Message) { gotIn <- msg.Topic }),
			session.Subscription{Filter: "site/#", QoS: packet.QoS1})
	mpub := bridgeClient(t, m.Addr(), id+"-mpub", nil)
	if err := mpub.Publish(context.Background(), session.Message{Topic: "cmd/reboot", Payload: []byte("1"), QoS: packet.QoS1}); err != nil {
		t.Fatal(err)
	}
	select {
	case topic := <-gotIn:
		if topic != "site/cmd/reboot" {
			t.Errorf("in: got %q, want site/cmd/reboot", topic)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in: cmd/reboot did not reach petrel broker's subscriber")
	}

	began := time.Now()
	var down, killed, up time.Duration
	pub1 := bridgeClient(t, pb.addr, id+"-pub1", nil)
	pub2 := bridgeClient(t, pb.addr, id+"-pub2", nil)
	done2 := make(chan struct{})
	go func() {
		defer close(done2)
		publishPaced(t, pub2, "q2/x", packet.QoS2, n2, rate/2, nil)
	}()
	publishPaced(t, pub1, "q1/x", packet.QoS1, n1, rate, map[int]func(){
		n1 / 4: func() {
			fp.Refuse(true)
			fp.CutAll()
			down = time.Since(began)
		},
		n1/4 + rate*4: func() { // 4 s into the outage
			pb.kill()
			killed = time.Since(began)
		},
		n1/4 + rate*10: func() {
			fp.Refuse(false)
			up = time.Since(began)
		},
	})
	<-done2
	published := time.Since(began)
	dups1 := waitAll(t, "QoS 1", got1, n1, 90*time.Second)
	dups2 := waitAll(t, "QoS 2", got2, n2, 30*time.Second)
	if dups2 > 1 {
		t.Errorf("QoS 2: %d duplicates; at most 1 (the message being handed over at the SIGKILL)", dups2)
	}
	t.Logf("remote broker away from %v to %v, petrel broker SIGKILLed and restarted at %v; all published in %v, all delivered in %v; %d+%d duplicates",
		down.Round(time.Millisecond), up.Round(time.Millisecond), killed.Round(time.Millisecond),
		published.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), dups1, dups2)
}

// TestBridgeMosquittoCuts: QoS 2 exactly once, in and out, through cuts of
// the bridge's link (faultproxy, every 150 ms), Mosquitto the remote
// broker.
func TestBridgeMosquittoCuts(t *testing.T) {
	m, fp := startBridgeRemote(t)
	defer fp.Close()
	const n = 2000
	id := fmt.Sprintf("bridge-cuts-%d", os.Getpid())
	gotOut, gotIn := newCounter(n), newCounter(n)
	bridgeClient(t, m.Addr(), id+"-sub", session.HandlerFunc(func(msg *session.Message) { gotOut.add(string(msg.Payload)) })).
		Subscribe(context.Background(), session.HandlerFunc(func(msg *session.Message) { gotOut.add(string(msg.Payload)) }),
			session.Subscription{Filter: "out/#", QoS: packet.QoS2})
	waitSubscribed(t, m, id+"-sub", 2, "out/#")
	pb := startBridgeBroker(t, fmt.Sprintf(`
connection mosquitto
address %s
topic out/# out 2
topic in/# in 2
remote_clientid %s
try_private true
restart_timeout 1 1
`, fp.Addr(), id))
	pb.waitLog("bridge: connected to the remote broker", 10*time.Second)
	bridgeClient(t, pb.addr, id+"-local", session.HandlerFunc(func(msg *session.Message) { gotIn.add(string(msg.Payload)) })).
		Subscribe(context.Background(), session.HandlerFunc(func(msg *session.Message) { gotIn.add(string(msg.Payload)) }),
			session.Subscription{Filter: "in/#", QoS: packet.QoS2})
	time.Sleep(200 * time.Millisecond) // the subscription settles

	began := time.Now()
	stop := make(chan struct{})
	cutsDone := make(chan struct{})
	go func() { // a cut every 150 ms
		defer close(cutsDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
				fp.CutAll()
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		publishPaced(t, bridgeClient(t, m.Addr(), id+"-mpub", nil), "in/x", packet.QoS2, n, 400, nil)
	}()
	publishPaced(t, bridgeClient(t, pb.addr, id+"-pub", nil), "out/x", packet.QoS2, n, 400, nil)
	<-done
	close(stop)
	<-cutsDone
	dupsOut := waitAll(t, "out", gotOut, n, 60*time.Second)
	dupsIn := waitAll(t, "in", gotIn, n, 60*time.Second)
	if dupsOut+dupsIn > 0 {
		t.Errorf("QoS 2 through a cut link: %d duplicates out, %d in; want none", dupsOut, dupsIn)
	}
	t.Logf("%d QoS 2 messages each way in %v through %d cuts of the bridge's link", n, time.Since(began).Round(time.Millisecond), fp.Cuts())
}
