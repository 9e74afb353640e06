package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// Attacks on petrel broker, each run against the built binary so that its
// memory and CPU can be read from /proc. See SECURITY.md.

// rssBytes returns the resident set size of process pid.
func rssBytes(t *testing.T, pid int) int64 { return procStatus(t, pid, "VmRSS") }

// procStatus returns a size from /proc/PID/status, such as VmRSS or
// VmHWM, in bytes.
func procStatus(t *testing.T, pid int, key string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("/proc/%d/status: %s %q: %v", pid, key, v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, key)
	return 0
}

// startAttackedBroker runs petrel broker on a loopback port with args and
// returns the process and its address.
func startAttackedBroker(t *testing.T, args ...string) (*proc, string) {
	t.Helper()
	p := startProc(t, nil, petrelBin(t), append([]string{"broker", "-listen", "127.0.0.1:0"}, args...)...)
	return p, listenAddr(t, p)
}

// rawConn is a connection that speaks MQTT packet by packet.
type rawConn struct {
	nc net.Conn
	r  *packet.Reader
}

// dialRawConn opens a connection and sends nothing.
func dialRawConn(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{nc: nc, r: packet.NewReader(nc, 4<<20)}
}

// dialRaw connects a client with a clean session.
func dialRaw(t *testing.T, addr, id string) *rawConn {
	t.Helper()
	c := dialRawConn(t, addr)
	c.send(t, &packet.Connect{ClientID: []byte(id), CleanSession: true})
	if ack, ok := c.read(t, 10*time.Second).(*packet.Connack); !ok || ack.ReturnCode != packet.Accepted {
		t.Fatalf("%s: CONNACK %v", id, ack)
	}
	return c
}

func (c *rawConn) send(t *testing.T, p packet.Packet) {
	t.Helper()
	b, err := p.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.nc.Write(b); err != nil {
		t.Fatal(err)
	}
}

func (c *rawConn) read(t *testing.T, d time.Duration) packet.Packet {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	p, err := c.r.ReadPacket()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAttackHalfSentConnects holds 800 connections that each send a 1 MiB
// CONNECT but its last byte, then 800 that send a CONNECT just under the
// 64 KiB limit the same way: the broker's resident memory grows by at most
// 128 MB, and the 1 MiB ones are closed as soon as their header is read.
func TestAttackHalfSentConnects(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,600 connections")
	}
	p, addr := startAttackedBroker(t)
	pid := p.cmd.Process.Pid
	before := rssBytes(t, pid)

	half := func(size int) (closed int) {
		// A CONNECT whose Remaining Length claims size bytes, all sent
		// but the last: its content does not matter, the broker waits for
		// the rest before decoding it.
		b := []byte{byte(packet.TypeConnect) << 4}
		for n := size; ; {
			if n < 0x80 {
				b = append(b, byte(n))
				break
			}
			b = append(b, byte(n&0x7f|0x80))
			n >>= 7
		}
		b = append(b, bytes.Repeat([]byte{'w'}, size-1)...)
		var (
			mu    sync.Mutex
			conns []net.Conn
			wg    sync.WaitGroup
		)
		sem := make(chan struct{}, 32)
		for range 800 {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				conns = append(conns, nc)
				mu.Unlock()
				nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := nc.Write(b); err != nil {
					mu.Lock()
					closed++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		t.Cleanup(func() {
			for _, nc := range conns {
				nc.Close()
			}
		})
		return closed
	}
	closed := half(1 << 20)
	time.Sleep(200 * time.Millisecond)
	afterBig := rssBytes(t, pid)
	half(60 << 10)
	time.Sleep(200 * time.Millisecond)
	after := rssBytes(t, pid)
	t.Logf("RSS %d MB before, %d MB after 800 half-sent 1 MiB CONNECTs (%d refused while writing), %d MB after 800 more of 60 KiB; growth %d MB",
		before>>20, afterBig>>20, closed, after>>20, (after-before)>>20)
	if growth := after - before; growth > 128<<20 {
		t.Errorf("RSS grew by %d MB, want at most 128 MB", growth>>20)
	}

	// The broker still serves clients.
	c := dialRaw(t, addr, "after")
	c.send(t, &packet.Pingreq{})
	if _, ok := c.read(t, 5*time.Second).(*packet.Pingresp); !ok {
		t.Error("no PINGRESP after the attack")
	}
}

// TestAttackRetainedAmplification sends one SUBSCRIBE holding 50,000
// copies of "#" over 10,000 retained messages: the broker spends at most 5
// CPU-seconds on it and answers another client's pings throughout.
func TestAttackRetainedAmplification(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 10,000 retained messages")
	}
	p, addr := startAttackedBroker(t)
	pid := p.cmd.Process.Pid

	pubc := dialRaw(t, addr, "retainer")
	w := bufio.NewWriter(pubc.nc)
	for i := range 10000 {
		b, _ := (&packet.Publish{Topic: []byte("r/" + strconv.Itoa(i)), Payload: []byte("retained"), Retain: true}).AppendBinary(nil)
		w.Write(b)
	}
	w.Flush()
	pubc.send(t, &packet.Pingreq{}) // answered once the PUBLISHes before it are handled
	if _, ok := pubc.read(t, 10*time.Second).(*packet.Pingresp); !ok {
		t.Fatal("no PINGRESP after the retained messages")
	}

	pinger := dialRaw(t, addr, "pinger")
	stop := make(chan struct{})
	worst := make(chan time.Duration)
	go func() {
		var max time.Duration
		defer func() { worst <- max }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			start := time.Now()
			b, _ := (&packet.Pingreq{}).AppendBinary(nil)
			if _, err := pinger.nc.Write(b); err != nil {
				max = time.Hour
				return
			}
			pinger.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := pinger.r.ReadPacket(); err != nil {
				max = time.Hour
				return
			}
			max = maxDuration(max, time.Since(start))
		}
	}()

	cpu0 := cpuTicks(t, pid)
	sub := dialRaw(t, addr, "amplifier")
	fs := make([]packet.Subscription, 50000)
	for i := range fs {
		fs[i] = packet.Subscription{Filter: []byte("#"), QoS: packet.QoS1}
	}
	sub.send(t, &packet.Subscribe{PacketID: 1, Filters: fs})
	got := 0
	for {
		sub.nc.SetReadDeadline(time.Now().Add(time.Second))
		pk, err := sub.r.ReadPacket()
		if err != nil {
			break
		}
		switch pk := pk.(type) {
		case *packet.Suback:
			if len(pk.ReturnCodes) != 50000 {
				t.Errorf("SUBACK with %d return codes, want 50000", len(pk.ReturnCodes))
			}
		case *packet.Publish:
			got++
			if pk.QoS > 0 {
				sub.send(t, &packet.Puback{PacketID: pk.PacketID})
			}
		}
	}
	close(stop)
	maxPing := <-worst
	cpu := time.Duration(cpuTicks(t, pid)-cpu0) * time.Second / clockTicks
	t.Logf("50,000 x # over 10,000 retained: %d messages replayed, broker CPU %v, slowest ping of another client %v", got, cpu, maxPing)
	if cpu > 5*time.Second {
		t.Errorf("broker CPU %v, want at most 5s", cpu)
	}
	if maxPing > time.Second {
		t.Errorf("another client's ping took %v during the attack, want under 1s", maxPing)
	}
	if got == 0 {
		t.Error("no retained message replayed")
	}
}

func maxDuration(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// TestBrokerTLSSuites: a TLS listener offers only forward-secret AEAD
// suites on TLS 1.2, so a client offering only CBC or RSA key exchange
// fails the handshake, and takes TLS 1.3 as it is.
func TestBrokerTLSSuites(t *testing.T) {
	dir := t.TempDir()
	ca := mosquittotest.NewCA(t, "petrel test CA")
	serverCert, serverKey := ca.Issue(t, mosquittotest.CertOptions{CommonName: "broker"}).WriteFiles(t, dir, "server")
	b := startPetrelBroker(t, 2, "-listen", "127.0.0.1:0", "-listen-tls", "127.0.0.1:0",
		"-certfile", serverCert, "-keyfile", serverKey)
	addr := b.addrs["mqtts"]
	for _, c := range []struct {
		name   string
		cfg    *tls.Config
		wantOK bool
	}{
		{"TLS 1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
		{"TLS 1.2 ECDHE GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"TLS 1.2 ECDHE CBC-SHA1", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}, false},
		{"TLS 1.2 RSA key exchange GCM", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}}, false},
		{"TLS 1.1", &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11}, false},
	} {
		cfg := c.cfg
		cfg.RootCAs, cfg.ServerName = ca.Pool(), "localhost"
		nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
		if err == nil {
			nc.Close()
		}
		if (err == nil) != c.wantOK {
			t.Errorf("%s: handshake error %v, want success %v", c.name, err, c.wantOK)
		}
	}
	b.stop(t)
}
