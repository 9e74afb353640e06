package main

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/internal/testbroker"
	"github.com/petrel-mqtt/petrel/packet"
)

// scripted returns a scripted broker listening on a loopback port and the
// -h and -p flags that reach it.
func scripted(t *testing.T) (*testbroker.Broker, []string) {
	t.Helper()
	b := testbroker.New(t)
	host, port, _ := strings.Cut(b.Listen(), ":")
	return b, []string{"-h", host, "-p", port}
}

// TestPubQoS2AnsweredWithPuback checks that pub -q 2 against a broker that
// answers QoS 2 with PUBACK (RabbitMQ 3.10 does) exits at once with code 3
// and says why, instead of waiting for a PUBREC that never comes
// [MQTT-4.3.3-2].
func TestPubQoS2AnsweredWithPuback(t *testing.T) {
	b, addr := scripted(t)
	c := start(t, nil, nil, join([]string{"pub", "-t", "t", "-m", "x", "-q", "2"}, addr)...)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{})
	p := b.ExpectType(packet.TypePublish).(*packet.Publish)
	b.SendPacket(&packet.Puback{PacketID: p.PacketID})
	code := c.wait(t)
	stderr := c.stderr.String()
	t.Logf("stderr: %s", stderr)
	if code != exitOperation {
		t.Errorf("exit code %d, want %d; stderr %q", code, exitOperation, stderr)
	}
	for _, want := range []string{"with PUBACK", "may not support QoS 2", "publish at QoS 1"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not say %q", stderr, want)
		}
	}
}

// TestPubOversized checks that pub exits with code 3 for a message that the
// broker closes the connection after, as brokers do with one over their
// size limit, saying so: at QoS 1 once it has been refused three times in
// a row, with or without -c, instead of reconnecting and sending it again
// for ever; at QoS 0 at once, instead of exiting 0 as if it had been
// delivered.
func TestPubOversized(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		sends int
		want  []string
	}{
		{"QoS 1", []string{"-q", "1"}, 3, []string{"3 times in a row", "size limit", "message_size_limit"}},
		{"QoS 1 -c", []string{"-q", "1", "-c", "-i", "big"}, 3, []string{"3 times in a row", "size limit"}},
		{"QoS 0", []string{"-q", "0"}, 1, []string{"right after the QoS 0 message", "size limit"}},
		{"QoS 0 -l", []string{"-q", "0", "-l"}, 1, []string{"lost while publishing at QoS 0", "size limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, addr := scripted(t)
			stdin := strings.Repeat("x", 2000)
			args := join([]string{"pub", "-t", "big", "--reconnect-delay", "0.01"}, tc.flags, addr)
			if !slices.Contains(tc.flags, "-l") {
				args = append(args, "-s")
			}
			c := start(t, strings.NewReader(stdin), nil, args...)
			for range tc.sends {
				b.ExpectType(packet.TypeConnect)
				b.SendPacket(&packet.Connack{SessionPresent: slices.Contains(tc.flags, "-c")})
				b.ExpectType(packet.TypePublish)
				b.Close()
			}
			code := c.wait(t)
			stderr := c.stderr.String()
			t.Logf("stderr: %s", stderr)
			if code != exitOperation {
				t.Errorf("exit code %d, want %d", code, exitOperation)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q", w)
				}
			}
		})
	}
}

// TestPubLinesWindow checks that pub -l at QoS 1 keeps -M lines awaiting
// acknowledgement at once, in order: with -M 2 the first two lines go out
// before any PUBACK, the third only once the first is acknowledged.
func TestPubLinesWindow(t *testing.T) {
	b, addr := scripted(t)
	c := start(t, strings.NewReader("1\n2\n3\n"), nil, join([]string{"pub", "-t", "t", "-l", "-q", "1", "-M", "2"}, addr)...)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{})
	var ids []uint16
	for _, want := range []string{"1", "2"} {
		p := b.ExpectType(packet.TypePublish).(*packet.Publish)
		if string(p.Payload) != want {
			t.Fatalf("PUBLISH %q, want %q", p.Payload, want)
		}
		ids = append(ids, p.PacketID)
	}
	b.ExpectNothing(50 * time.Millisecond) // the window is full
	b.SendPacket(&packet.Puback{PacketID: ids[0]})
	p := b.ExpectType(packet.TypePublish).(*packet.Publish)
	if string(p.Payload) != "3" {
		t.Fatalf("PUBLISH %q, want 3", p.Payload)
	}
	b.SendPacket(&packet.Puback{PacketID: ids[1]})
	b.SendPacket(&packet.Puback{PacketID: p.PacketID})
	b.ExpectPacket(&packet.Disconnect{})
	if code := c.wait(t); code != exitOK {
		t.Errorf("exit code %d, stderr %q", code, c.stderr.String())
	}
}

// TestPubLinesAsTyped: pub -l hands the lines it has read over in
// batches, but never holds a whole line back for one still coming: each
// line written alone, and a line followed by part of the next, is
// published before the rest is written.
func TestPubLinesAsTyped(t *testing.T) {
	b, addr := scripted(t)
	r, w := io.Pipe()
	defer w.Close()
	c := start(t, r, nil, join([]string{"pub", "-t", "t", "-l"}, addr)...)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{})
	for _, step := range []struct{ write, want string }{
		{"a\n", "a"},
		{"b\nc", "b"}, // "c" waits for its newline; "b" does not wait for it
		{"\nd\ne\n", "c"},
		{"", "d"},
		{"", "e"},
	} {
		if step.write != "" {
			w.Write([]byte(step.write))
		}
		p := b.ExpectType(packet.TypePublish).(*packet.Publish)
		if string(p.Payload) != step.want {
			t.Fatalf("after writing %q: PUBLISH %q, want %q", step.write, p.Payload, step.want)
		}
	}
	w.Close()
	b.ExpectPacket(&packet.Pingreq{}) // that the broker has read them all
	b.SendPacket(&packet.Pingresp{})
	b.ExpectPacket(&packet.Disconnect{})
	if code := c.wait(t); code != exitOK {
		t.Errorf("exit code %d, stderr %q", code, c.stderr.String())
	}
}

// TestPubLinesFailure checks that pub -l exits with code 3 when any line
// fails, here the second, answered with PUBREC at QoS 1.
func TestPubLinesFailure(t *testing.T) {
	b, addr := scripted(t)
	c := start(t, strings.NewReader("1\n2\n3\n"), nil, join([]string{"pub", "-t", "t", "-l", "-q", "1", "--no-reconnect"}, addr)...)
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{})
	p1 := b.ExpectType(packet.TypePublish).(*packet.Publish)
	p2 := b.ExpectType(packet.TypePublish).(*packet.Publish)
	b.SendPacket(&packet.Puback{PacketID: p1.PacketID})
	b.SendPacket(&packet.Pubrec{PacketID: p2.PacketID})
	code := c.wait(t)
	if stderr := c.stderr.String(); code != exitOperation || !strings.Contains(stderr, "with PUBREC") {
		t.Errorf("exit code %d, stderr %q; want %d and the PUBREC named", code, stderr, exitOperation)
	}
}

// TestPubLinesOrderMosquitto checks that pub -l keeps the order of
// thousands of lines through Mosquitto at QoS 1 and 2, with the default
// window of 20 [MQTT-4.6.0-5]: sub prints each once, in order.
func TestPubLinesOrderMosquitto(t *testing.T) {
	b := startBroker(t, mosquittotest.Options{})
	const n = 3000
	in := strings.Join(numbered(1, n), "")
	for _, q := range []string{"1", "2"} {
		id := "petrel-order-" + q
		topic := "petrel/order/" + q
		sub := start(t, nil, nil, subArgs(b, "-t", topic, "-q", q, "-C", strconv.Itoa(n), "-i", id)...)
		waitSubscribed(t, b, id, int(q[0]-'0'), topic)
		c := start(t, strings.NewReader(in), nil, pubArgs(b, "-t", topic, "-q", q, "-l")...)
		if code := c.wait(t); code != exitOK {
			t.Fatalf("pub -q %s: exit code %d, stderr %q", q, code, c.stderr.String())
		}
		if code := sub.wait(t); code != exitOK {
			t.Fatalf("sub -q %s: exit code %d, stderr %q", q, code, sub.stderr.String())
		}
		tl := count(sub.stdout.String(), n)
		if tl.missing > 0 || tl.duplicates > 0 || !tl.inOrder {
			t.Errorf("QoS %s: %d missing, %d duplicates, in order %v (%s)", q, tl.missing, tl.duplicates, tl.inOrder, tl.firstDisorder)
		}
	}
}
