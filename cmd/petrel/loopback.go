package main

import (
	"fmt"
	"log/slog"
	"net"
)

// openLoopback opens the listeners of petrel broker when none is given: on
// each -p port (1883 without -p), one on 127.0.0.1 and one on ::1, as
// Mosquitto 2 does in its local-only mode, so that a client that tries
// "localhost" at ::1 first finds the broker there. A machine without IPv6
// loopback gets 127.0.0.1 alone, with a warning; 127.0.0.1 failing is an
// error.
func (f *brokerFlags) openLoopback(log *slog.Logger) ([]listener, error) {
	ports := []string(f.ports)
	if len(ports) == 0 {
		ports = []string{defaultPort}
	}
	var ls []listener
	closeAll := func() {
		for _, l := range ls {
			l.l.Close()
		}
	}
	for _, p := range ports {
		v4 := net.JoinHostPort("127.0.0.1", p)
		l, err := net.Listen("tcp", v4)
		if err != nil {
			closeAll()
			return nil, withCode(exitConnect, fmt.Errorf("%s: %v", loopbackFlag(f.ports, p), err))
		}
		ls = append(ls, listener{"mqtt", l})
		v6 := net.JoinHostPort("::1", p)
		if l, err = net.Listen("tcp", v6); err != nil {
			log.Warn("not listening on IPv6 loopback: clients must connect to 127.0.0.1", "addr", v6, "err", err)
			continue
		}
		ls = append(ls, listener{"mqtt", l})
	}
	return ls, nil
}

// loopbackFlag names what set port p, for errors.
func loopbackFlag(ports portsFlag, p string) string {
	if len(ports) == 0 {
		return "the default listener, 127.0.0.1:" + p + " (give -listen or -p)"
	}
	return "-p " + p
}
