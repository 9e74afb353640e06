package main

import (
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// The tests in this file run third-party clients against petrel broker,
// which runs in the test process on a free loopback port: Mosquitto's
// command-line clients and Python's paho-mqtt, from Debian's packages
// mosquitto-clients and python3-paho-mqtt (scripts/deps.sh installs them).

// mosquittoFormat makes mosquitto_sub print "topic qos retain payload".
const mosquittoFormat = "%t %q %r %p"

// TestBrokerMosquittoClients runs mosquitto_pub and mosquitto_sub against
// petrel broker.
func TestBrokerMosquittoClients(t *testing.T) {
	msub := mosquittoTool(t, "mosquitto_sub")
	mpub := mosquittoTool(t, "mosquitto_pub")
	b := startPetrelBroker(t, 1, "-listen", "127.0.0.1:0", "-v")
	t.Cleanup(func() { b.stop(t) })
	hp := b.hostPort("mqtt")
	pub := func(t *testing.T, args ...string) {
		t.Helper()
		p := startProc(t, nil, mpub, join(hp, args)...)
		if code := p.wait(t); code != 0 {
			t.Fatalf("mosquitto_pub %q: exit code %d, stderr %q", args, code, p.stderr.String())
		}
	}
	// sub starts mosquitto_sub as client id, printing mosquittoFormat,
	// and with filter returns once the broker has its subscription.
	sub := func(t *testing.T, id, filter string, args ...string) *proc {
		t.Helper()
		p := startProc(t, nil, msub, join(hp, []string{"-i", id, "-t", filter, "-F", mosquittoFormat}, args)...)
		b.waitSubscribed(t, id, filter)
		return p
	}
	// output waits for p to exit with 0 and checks what it printed.
	output := func(t *testing.T, p *proc, want string) {
		t.Helper()
		if code := p.wait(t); code != 0 || p.stdout.String() != want {
			t.Errorf("mosquitto_sub: exit code %d, stdout %q, stderr %q; want 0 and %q", code, p.stdout.String(), p.stderr.String(), want)
		}
	}

	// Each message arrives at the QoS it was published with, as the
	// subscription grants QoS 2 [MQTT-3.3.5-1], without RETAIN
	// [MQTT-3.3.1-9].
	t.Run("QoS", func(t *testing.T) {
		s := sub(t, "m-qos", "interop/qos/#", "-q", "2", "-C", "3")
		for q := range 3 {
			pub(t, "-i", "m-pub", "-t", "interop/qos/"+strconv.Itoa(q), "-m", "m"+strconv.Itoa(q), "-q", strconv.Itoa(q))
		}
		output(t, s, "interop/qos/0 0 0 m0\ninterop/qos/1 1 0 m1\ninterop/qos/2 2 0 m2\n")
	})

	// A retained message goes to a later subscriber with RETAIN set
	// [MQTT-3.3.1-6] [MQTT-3.3.1-8]; an empty one clears it
	// [MQTT-3.3.1-10]: the next subscriber's first message is a new one.
	t.Run("Retained", func(t *testing.T) {
		pub(t, "-t", "interop/retained", "-m", "kept", "-q", "1", "-r")
		output(t, sub(t, "m-retained", "interop/retained", "-q", "2", "-C", "1"), "interop/retained 1 1 kept\n")
		pub(t, "-t", "interop/retained", "-q", "1", "-r", "-n")
		s := sub(t, "m-retained-2", "interop/retained", "-C", "1")
		pub(t, "-t", "interop/retained", "-m", "fresh")
		output(t, s, "interop/retained 0 0 fresh\n")
	})

	// The will of a client whose connection ends without DISCONNECT is
	// published [MQTT-3.1.2-8]; that of a client that sends DISCONNECT is
	// not [MQTT-3.1.2-10].
	t.Run("Will", func(t *testing.T) {
		watch := sub(t, "m-watch", "interop/will", "-q", "1", "-C", "1")
		will := func(payload string) []string {
			return []string{"--will-topic", "interop/will", "--will-payload", payload, "--will-qos", "1"}
		}
		clean := sub(t, "m-clean", "interop/clean", append(will("clean"), "-E")...)
		if code := clean.wait(t); code != 0 {
			t.Fatalf("mosquitto_sub -E: exit code %d, stderr %q", code, clean.stderr.String())
		}
		victim := sub(t, "m-victim", "interop/victim", will("killed")...)
		victim.cmd.Process.Kill()
		output(t, watch, "interop/will 1 0 killed\n")
	})

	// A persistent session (-c) keeps its subscription, and the QoS 1
	// and 2 messages published while its client was away reach it when
	// it comes back [MQTT-3.1.2-4] [MQTT-3.1.2-5], with Session Present
	// set in its CONNACK [MQTT-3.2.2-2].
	t.Run("PersistentSession", func(t *testing.T) {
		first := sub(t, "m-persist", "interop/persist/#", "-c", "-q", "2", "-E")
		if code := first.wait(t); code != 0 {
			t.Fatalf("mosquitto_sub -c -E: exit code %d, stderr %q", code, first.stderr.String())
		}
		pub(t, "-t", "interop/persist/1", "-m", "away1", "-q", "1")
		pub(t, "-t", "interop/persist/2", "-m", "away2", "-q", "2")
		// Without -t: the session's subscription alone brings them.
		again := startProc(t, nil, msub, join(hp, []string{"-i", "m-persist", "-c", "-C", "2", "-F", mosquittoFormat, "-t", "interop/unused"})...)
		output(t, again, "interop/persist/1 1 0 away1\ninterop/persist/2 2 0 away2\n")
		b.waitLog(t, "clean=false present=true")
	})
}

// pahoPython returns /usr/bin/python3 if it imports paho.mqtt (Debian's
// python3-paho-mqtt installs it for the system's Python, which may not be
// the python3 first in PATH). When it does not, the test is skipped, or
// fails if the environment variable CI is "true".
func pahoPython(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	err := exec.Command(py, "-c", "import paho.mqtt").Run()
	if err == nil {
		return py
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s cannot import paho.mqtt (CI=true: a missing tool fails the test): %v", py, err)
	}
	t.Skipf("%s cannot import paho.mqtt: apt-get install python3-paho-mqtt", py)
	return ""
}

// TestBrokerPaho runs testdata/paho_broker.py, a paho-mqtt 1.6 client
// program, against petrel broker: QoS 0, 1 and 2, retained messages, wills
// [MQTT-3.1.2-8] [MQTT-3.1.2-10] and a persistent session, whose CONNACK
// has Session Present set on reconnection [MQTT-3.2.2-2].
func TestBrokerPaho(t *testing.T) {
	py := pahoPython(t)
	b := startPetrelBroker(t, 1, "-listen", "127.0.0.1:0")
	p := startProc(t, nil, py, "testdata/paho_broker.py", "127.0.0.1", b.port())
	code := p.wait(t)
	want := "ok qos\nok retained\nok will\nok persistent\n"
	if code != 0 || p.stdout.String() != want {
		t.Errorf("paho_broker.py: exit code %d, stdout %q, stderr %q; want 0 and %q", code, p.stdout.String(), p.stderr.String(), want)
	}
	b.stop(t)
}
