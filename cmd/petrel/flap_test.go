package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/faultproxy"
	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// The flapping-link runs of issue 12: a fault proxy in front of Mosquitto
// cuts every connection through it every 50 to 250 ms, and the petrel
// command on that link, with its default reconnection delays, must still
// carry 10,000 QoS 2 lines, each delivered exactly once, within 60 s.
// mosquitto_pub does so through the same proxy.
const (
	flapLines    = 10000
	flapDeadline = 60 * time.Second
)

// TestFlapPubQoS2: petrel pub -c -q 2 -l behind the flapping link, a
// subscriber straight to Mosquitto.
func TestFlapPubQoS2(t *testing.T) { testFlap(t, true) }

// TestFlapSubQoS2: petrel sub -c -q 2 behind the flapping link, a
// publisher straight to Mosquitto.
func TestFlapSubQoS2(t *testing.T) { testFlap(t, false) }

func testFlap(t *testing.T, pubFlaps bool) {
	leaktest.Check(t)
	// Unlimited in flight and queued, so that the broker neither holds
	// back nor drops what a subscriber between connections misses.
	b := startBroker(t, mosquittotest.Options{Config: "max_queued_messages 0\nmax_queued_bytes 0\n"})
	p, err := faultproxy.Listen(b.Addr(), faultproxy.Options{Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	direct, flapping := addrFlags(t, b.Addr()), addrFlags(t, p.Addr())
	subAddr, pubAddr := direct, flapping
	if !pubFlaps {
		subAddr, pubAddr = flapping, direct
	}
	topic := fmt.Sprintf("flap/%v", pubFlaps)

	sub := start(t, nil, nil, join([]string{"sub", "-c", "-q", "2", "-i", "flap-sub", "-t", topic}, subAddr)...)
	waitSubscribed(t, b, "flap-sub", 2, topic)

	stop := make(chan struct{})
	cutterDone := make(chan struct{})
	go func() { // the link's faults
		defer close(cutterDone)
		rnd := rand.New(rand.NewPCG(12, uint64(len(topic))))
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(50+rnd.IntN(201)) * time.Millisecond):
				p.CutAll()
			}
		}
	}()
	defer func() {
		close(stop)
		<-cutterDone
	}()

	began := time.Now()
	in := strings.NewReader(strings.Join(numbered(1, flapLines), ""))
	pub := start(t, in, nil, join([]string{"pub", "-c", "-q", "2", "-l", "-i", "flap-pub", "-t", topic}, pubAddr)...)
	last := fmt.Sprintf("%05d\n", flapLines)
	deadline := time.After(flapDeadline)
	for !strings.Contains(sub.stdout.String(), last) {
		select {
		case code := <-pub.code:
			pub.code <- code
			if code != exitOK {
				t.Fatalf("pub: exit code %d before the subscriber had every line; stderr tail %q", code, tail(pub.stderr.String()))
			}
		case <-deadline:
			tl := count(sub.stdout.String(), flapLines)
			t.Fatalf("after %v, %d cuts: %d of %d lines delivered; pub stderr tail %q",
				flapDeadline, p.Cuts(), flapLines-tl.missing, flapLines, tail(pub.stderr.String()))
		case <-time.After(10 * time.Millisecond):
		}
	}
	took := time.Since(began)
	select {
	case code := <-pub.code:
		pub.code <- code
		if code != exitOK {
			t.Errorf("pub: exit code %d, stderr tail %q", code, tail(pub.stderr.String()))
		}
	case <-time.After(flapDeadline - took):
		t.Errorf("pub did not exit within %v of starting", flapDeadline)
	}
	time.Sleep(300 * time.Millisecond) // for late duplicates
	sub.cancel()
	sub.wait(t)

	tl := count(sub.stdout.String(), flapLines)
	reconnects := strings.Count(pub.stderr.String(), "petrel: reconnected") + strings.Count(sub.stderr.String(), "petrel: reconnected")
	t.Logf("%d lines in %v, %d cuts, %d reconnections: %d missing, %d duplicates, first arrivals in order: %v",
		flapLines, took.Round(time.Millisecond), p.Cuts(), reconnects, tl.missing, tl.duplicates, tl.inOrder)
	if tl.missing > 0 || tl.duplicates > 0 {
		t.Errorf("%d lines missing, %d duplicated; want each exactly once", tl.missing, tl.duplicates)
	}
	if !tl.inOrder {
		t.Errorf("first arrivals out of order: %s", tl.firstDisorder)
	}
}

// TestConnectCutBeforeConnack: a first connection cut before CONNACK, as
// a flapping link cuts it, is tried again (as mosquitto_pub does), not
// reported as a failure to connect; with --no-reconnect it is.
func TestConnectCutBeforeConnack(t *testing.T) {
	leaktest.Check(t)
	b, addr := scripted(t)
	c := start(t, nil, nil, join([]string{"pub", "-t", "t", "-m", "x", "-q", "1", "--reconnect-delay", "5ms"}, addr)...)
	b.ExpectType(packet.TypeConnect)
	b.Close()
	b.ExpectType(packet.TypeConnect)
	b.SendPacket(&packet.Connack{})
	p := b.ExpectType(packet.TypePublish).(*packet.Publish)
	b.SendPacket(&packet.Puback{PacketID: p.PacketID})
	b.ExpectType(packet.TypeDisconnect)
	b.ExpectClosed()
	if code := c.wait(t); code != exitOK {
		t.Errorf("exit code %d, stderr %q", code, c.stderr.String())
	}

	c = start(t, nil, nil, join([]string{"pub", "-t", "t", "-m", "x", "--no-reconnect"}, addr)...)
	b.ExpectType(packet.TypeConnect)
	b.Close()
	if code := c.wait(t); code != exitConnect {
		t.Errorf("--no-reconnect: exit code %d, want %d; stderr %q", code, exitConnect, c.stderr.String())
	}
}
