package main

import (
	"net"
	"strings"
	"testing"
)

// TestBrokerMosquittoCommandLine runs petrel broker as Mosquitto's test
// suites and scripts run mosquitto: "-v -p PORT" listens on PORT of both
// loopback addresses, and clients reach it at each; "--config-file" and
// "--port" are the long forms; a listener in the file wins over -p, with a
// warning, as in Mosquitto 2.
func TestBrokerMosquittoCommandLine(t *testing.T) {
	_, port, _ := net.SplitHostPort(freeAddr(t))
	v6 := ipv6Loopback()
	n := 1
	if v6 {
		n = 2
	}
	b := startPetrelBroker(t, n, "-v", "-p", port)
	hosts := []string{"127.0.0.1"}
	if v6 {
		hosts = append(hosts, "::1")
	}
	for _, h := range hosts {
		want := net.JoinHostPort(h, port)
		if !strings.Contains(b.stdout.String(), "listening on mqtt://"+want+"\n") {
			t.Errorf("stdout %q: no listener on %s", b.stdout.String(), want)
		}
		if code, _, stderr := petrel(t, "", "pub", "-h", h, "-p", port, "-i", "at-"+h, "-t", "t", "-m", "m", "-q", "1"); code != exitOK {
			t.Errorf("pub to %s: exit code %d, stderr %q", want, code, stderr)
		}
	}
	b.stop(t)
	var f brokerFlags
	if err := f.parse(brokerFlagSet(&f), []string{"--verbose", "--port", "1884", "-p", "1885"}); err != nil || !f.verbose || f.ports.String() != "1884,1885" {
		t.Errorf("--verbose --port 1884 -p 1885: verbose %v, ports %q, err %v", f.verbose, f.ports.String(), err)
	}

	// A listener in the file: -p is ignored, and says so.
	addr := freeAddr(t)
	_, fport, _ := net.SplitHostPort(addr)
	conf := writeTemp(t, "mosquitto.conf", "listener "+fport+" 127.0.0.1\nallow_anonymous true\n")
	b = startPetrelBroker(t, 1, "--config-file", conf, "--port", port)
	if got := b.addrs["mqtt"]; got != addr {
		t.Errorf("listening on %q; want the file's listener, %s", got, addr)
	}
	if strings.Count(b.stdout.String(), "listening on") != 1 {
		t.Errorf("stdout %q: want the file's listener alone", b.stdout.String())
	}
	b.waitLog(t, `msg="-p is ignored: listeners are given`)
	b.stop(t)
}

// TestBrokerPortErrors checks Mosquitto's -p and -d refused as Mosquitto
// refuses them, naming the flag.
func TestBrokerPortErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-p", "0"}, `invalid value "0" for flag -p: invalid port "0": 1 to 65535`},
		{[]string{"-p", "65536"}, `invalid port "65536": 1 to 65535`},
		{[]string{"--port", "x"}, `invalid value "x" for flag -port`},
		{[]string{"-p"}, "flag needs an argument: -p"},
		{[]string{"-d"}, "-d: petrel broker does not put itself in the background"},
		{[]string{"--daemon", "-p", "1884"}, "-d: petrel broker does not put itself in the background"},
	} {
		code, stdout, stderr := petrel(t, "", append([]string{"broker"}, c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("broker %q: exit code %d, stdout %q, stderr %q; want code %d and %q", c.args, code, stdout, stderr, exitUsage, c.want)
		}
	}
}

// ipv6Loopback reports whether this machine can listen on ::1.
func ipv6Loopback() bool {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}
