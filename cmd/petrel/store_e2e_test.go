package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// procIO returns the bytes process pid passed to write(2) (wchar) and
// those it sent to storage (write_bytes), from /proc/PID/io.
func procIO(t *testing.T, pid int) (wchar, storage int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "wchar":
			wchar = n
		case "write_bytes":
			storage = n
		}
	}
	return wchar, storage
}

// dialRawSession connects with CleanSession=0 and checks the Session
// Present flag.
func dialRawSession(t *testing.T, addr, id string, present bool) *rawConn {
	t.Helper()
	c := dialRawConn(t, addr)
	c.send(t, &packet.Connect{ClientID: []byte(id), KeepAlive: 300})
	ack, ok := c.read(t, 30*time.Second).(*packet.Connack)
	if !ok || ack.ReturnCode != packet.Accepted || ack.SessionPresent != present {
		t.Fatalf("%s: CONNACK %+v, want accepted with session present %v", id, ack, present)
	}
	return c
}

// TestStoreIncrementalAndKilled: with persistence on, an offline session
// holding 400 MiB, then one more message a second for 20 s, makes the
// broker write at most 50 MB in those 20 s (the log is appended to, not
// rewritten); a SIGKILL and a restart keep every acknowledged message, in
// order.
func TestStoreIncrementalAndKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 400 MiB and takes 30 s")
	}
	dir := t.TempDir()
	args := []string{"-persistence-dir", dir, "-max-packet-size", "2000000", "-max-queued", "100000",
		"-max-queued-bytes", "600000000", "-max-total-queued-bytes", "600000000"}
	p, addr := startAttackedBroker(t, args...)

	sub := dialRawSession(t, addr, "keeper", false)
	sub.send(t, &packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: []byte("big/#"), QoS: packet.QoS1}}})
	if _, ok := sub.read(t, 10*time.Second).(*packet.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	sub.send(t, &packet.Disconnect{})
	sub.nc.Close()

	pub := dialRaw(t, addr, "filler")
	payload := bytes.Repeat([]byte{'m'}, 1<<20)
	const bulk = 400
	w := bufio.NewWriterSize(pub.nc, 1<<20)
	go func() {
		for i := range bulk {
			copy(payload, fmt.Sprintf("%08d", i))
			b, _ := (&packet.Publish{Topic: []byte("big/x"), Payload: payload, QoS: packet.QoS1, PacketID: uint16(i + 1)}).AppendBinary(nil)
			w.Write(b)
		}
		w.Flush()
	}()
	for range bulk {
		if _, ok := pub.read(t, 60*time.Second).(*packet.Puback); !ok {
			t.Fatal("want PUBACK")
		}
	}

	pid := p.cmd.Process.Pid
	w0, s0 := procIO(t, pid)
	const trickle = 20
	for i := range trickle {
		time.Sleep(time.Second)
		pub.send(t, &packet.Publish{Topic: []byte("big/y"), Payload: []byte(fmt.Sprintf("%08d trickle", bulk+i)), QoS: packet.QoS1, PacketID: uint16(bulk + i + 1)})
		if _, ok := pub.read(t, 10*time.Second).(*packet.Puback); !ok {
			t.Fatal("want PUBACK")
		}
	}
	w1, s1 := procIO(t, pid)
	t.Logf("offline session holding %d MiB, one message a second for %d s: %d bytes passed to write(2), %d bytes to storage",
		bulk, trickle, w1-w0, s1-s0)
	if w1-w0 > 50<<20 || s1-s0 > 50<<20 {
		t.Errorf("wrote %d bytes (storage %d), want at most 50 MB", w1-w0, s1-s0)
	}

	// SIGKILL right after the last PUBACK, and a restart on the same
	// directory: every acknowledged message is there, in order.
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	pub.nc.Close()
	start := time.Now()
	_, addr = startAttackedBroker(t, args...)
	sub = dialRawSession(t, addr, "keeper", true)
	t.Logf("restart with %d MiB to load: %v", bulk, time.Since(start))
	for i := range bulk + trickle {
		m, ok := sub.read(t, 30*time.Second).(*packet.Publish)
		if !ok {
			t.Fatalf("message %d: not a PUBLISH", i)
		}
		if got := string(m.Payload[:8]); got != fmt.Sprintf("%08d", i) {
			t.Fatalf("message %d: payload starts %q, want %08d", i, got, i)
		}
		sub.send(t, &packet.Puback{PacketID: m.PacketID})
	}
}
