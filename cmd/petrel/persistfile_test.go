package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestBrokerPersistenceFile runs petrel broker with the configuration
// Mosquitto's own persistence tests write (persistence true and a
// persistence_file, no persistence_location) in a working directory of
// its own: the state goes to persistence_file.petrel there, and a
// persistent subscription and its queued message outlive a restart.
func TestBrokerPersistenceFile(t *testing.T) {
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(freeAddr(t))
	conf := "listener " + port + " " + host + "\nallow_anonymous true\npersistence true\npersistence_file mosquitto-" + port + ".db\n"
	if err := os.WriteFile(filepath.Join(dir, "m.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() (*proc, string) {
		t.Helper()
		p := &proc{cmd: exec.Command(petrelBin(t), "broker", "-c", "m.conf"), done: make(chan struct{})}
		p.cmd.Dir = dir
		p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.err = p.cmd.Wait(); close(p.done) }()
		t.Cleanup(func() {
			p.cmd.Process.Kill()
			<-p.done
		})
		return p, waitListening(t, &p.stdout, p.done, p.stderr.String)
	}
	stop := func(p *proc) {
		t.Helper()
		p.cmd.Process.Signal(syscall.SIGTERM)
		if code := p.wait(t); code != exitOK {
			t.Fatalf("exit code %d after SIGTERM; log %q", code, tail(p.stderr.String()))
		}
	}

	b, addr := run()
	sub := dialRawSession(t, addr, "persist-sub", false)
	sub.send(t, &packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: []byte("persist/t"), QoS: packet.QoS1}}})
	if _, ok := sub.read(t, 10*time.Second).(*packet.Suback); !ok {
		t.Fatal("no SUBACK")
	}
	sub.send(t, &packet.Disconnect{})
	stop(b)
	if fi, err := os.Stat(filepath.Join(dir, "mosquitto-"+port+".db.petrel")); err != nil || !fi.IsDir() {
		t.Fatalf("no directory mosquitto-%s.db.petrel in the working directory: %v", port, err)
	}

	b, addr = run()
	pub := dialRaw(t, addr, "persist-pub")
	pub.send(t, &packet.Publish{Topic: []byte("persist/t"), Payload: []byte("kept"), QoS: packet.QoS1, PacketID: 1})
	if _, ok := pub.read(t, 10*time.Second).(*packet.Puback); !ok {
		t.Fatal("no PUBACK")
	}
	stop(b)

	_, addr = run()
	sub = dialRawSession(t, addr, "persist-sub", true)
	if m, ok := sub.read(t, 10*time.Second).(*packet.Publish); !ok || string(m.Payload) != "kept" {
		t.Fatalf("got %v; want the PUBLISH queued before the restart", m)
	}
}
