// The examples of README.md. Every Go snippet of the README is code of this
// file (TestREADMESnippets checks it), so that each compiles, and the
// client's runs against the embedded broker.
package petrel_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
	"github.com/petrel-mqtt/petrel/store"
)

// A client that connects, subscribes, publishes at QoS 1, receives its own
// message and disconnects: README's first example, run against Petrel's
// embedded broker on a free loopback port.
func Example_client() {
	addr, stop := startBroker()
	defer stop()

	ctx := context.Background()
	c, err := session.New(session.Config{Address: "mqtt://" + addr, ClientID: "sensor-7"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer c.Disconnect(ctx)
	got := make(chan *session.Message, 1)
	_, err = c.Subscribe(ctx, session.HandlerFunc(func(m *session.Message) { got <- m }),
		session.Subscription{Filter: "sensors/#", QoS: packet.QoS1})
	if err != nil {
		log.Fatal(err)
	}
	err = c.Publish(ctx, session.Message{Topic: "sensors/7/temp", Payload: []byte("21.5"), QoS: packet.QoS1})
	if err != nil {
		log.Fatal(err)
	}
	m := <-got
	fmt.Printf("%s %s\n", m.Topic, m.Payload)
	// Output: sensors/7/temp 21.5
}

// startBroker starts Petrel's embedded broker on a free loopback port and
// returns its address and a function that shuts it down.
func startBroker() (addr string, stop func()) {
	s, err := broker.New(broker.Config{})
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.Serve(l)
	}()
	return l.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-served
	}
}

// A client that never loses a QoS 1 or QoS 2 message: it reconnects by
// itself, and its session outlives both the connection (on the broker) and
// the process (on disk). Compiled, not run: it needs a broker and a
// directory of its own.
func Example_persistentSession() {
	st, err := store.Open("/var/lib/sensor-7/mqtt", store.Options{}) // crash-safe, fsync per message
	if err != nil {
		log.Fatal(err)
	}
	c, err := session.New(session.Config{
		Address:           "broker.example",
		ClientID:          "sensor-7",
		PersistentSession: true, // the broker keeps the session (CleanSession 0)
		Store:             st,   // and so does the disk, across restarts and crashes
		Reconnect:         &session.Reconnect{Addresses: []string{"broker-2.example"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.Connect(context.Background()); err != nil {
		log.Fatal(err)
	}
}

// The broker embedded in a program, until SIGINT. Compiled, not run: it
// listens on the MQTT port.
func Example_broker() {
	s, err := broker.New(broker.Config{}) // zero value: anonymous, in memory, default limits
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:1883")
	if err != nil {
		log.Fatal(err)
	}
	go s.Serve(l) // s.ServeWebSocket(l) for MQTT over WebSocket
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	<-ctx.Done()
	err = s.Shutdown(context.Background()) // wills published, persistent sessions saved
	if err != nil {
		log.Fatal(err)
	}
}

// The codec: a PUBLISH encoded, then read back from a stream.
func Example_codec() {
	buf := make([]byte, 0, 512) // reused from packet to packet
	p := &packet.Publish{QoS: packet.QoS1, PacketID: 1, Topic: []byte("a/b"), Payload: []byte("hi")}
	buf, err := p.AppendBinary(buf[:0]) // validates, then appends; no allocation when buf has room
	if err != nil {
		log.Fatal(err)
	}

	r := packet.NewReader(bytes.NewReader(buf), packet.DefaultMaxPacketSize)
	pk, err := r.ReadPacket() // valid until the next ReadPacket; Clone to keep
	if err != nil {
		log.Fatal(err)
	}
	pub := pk.(*packet.Publish)
	fmt.Println(pk.Type(), pub.QoS, pub.PacketID, string(pub.Topic), string(pub.Payload))
	// Output: PUBLISH QoS 1 1 a/b hi
}

// readmeSubstitutions are the README's words for what the examples must
// spell otherwise: the client example reaches the broker the test started.
var readmeSubstitutions = strings.NewReplacer(
	`"mqtt://localhost:1883"`, `"mqtt://" + addr`,
)

// TestREADMESnippets checks that each Go snippet of README.md is code of
// this file: its lines, indentation aside, appear here in a row, after
// readmeSubstitutions. A snippet edited in the README alone, which might no
// longer compile, fails the test; so does one left out of this file.
func TestREADMESnippets(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	code := normalize(string(self))
	var snippets []string
	var cur []string
	in := false
	for line := range strings.Lines(string(readme)) {
		switch trimmed := strings.TrimSpace(line); {
		case !in && trimmed == "```go":
			in, cur = true, nil
		case in && trimmed == "```":
			in = false
			snippets = append(snippets, strings.Join(cur, ""))
		case in:
			cur = append(cur, line)
		}
	}
	if in {
		t.Fatal("README.md: a ```go block is not closed")
	}
	if len(snippets) == 0 {
		t.Fatal("README.md has no Go snippet")
	}
	for i, s := range snippets {
		if !strings.Contains(code, normalize(readmeSubstitutions.Replace(s))) {
			t.Errorf("README.md's Go snippet %d is not code of example_test.go (indentation aside); change both together:\n%s", i+1, s)
		}
	}
}

// normalize trims each line of s and drops the empty ones.
func normalize(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
