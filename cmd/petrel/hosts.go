package main

import (
	"net"
	"strconv"
	"strings"

	"github.com/petrel-mqtt/petrel/session"
	"github.com/petrel-mqtt/petrel/transport"
)

// hosts sets the broker's address from -h and -p. -h is one host, or
// several separated by commas (the nodes of a cluster), each with an
// optional port (host:port, [IPv6]:port) that wins over -p. The client
// connects to the first that accepts, in the order given, and reconnects
// likewise, trying the next each time (session.Reconnect.Addresses).
func (f *connFlags) hosts(cfg *session.Config) error {
	list := strings.Split(f.host, ",")
	for i, h := range list {
		h = strings.TrimSpace(h)
		if h == "" {
			return usageErr("-h %q: an empty host in the list", f.host)
		}
		if hasScheme(h) {
			return usageErr("-h %q: give a host name or IP address, or the URL with -L", h)
		}
		host, port := h, f.port
		if hh, p, err := net.SplitHostPort(h); err == nil {
			n, err := strconv.Atoi(p)
			if err != nil {
				return usageErr("-h %q: the port %q is not a number", h, p)
			}
			host, port = hh, n
		}
		if _, err := transport.Address(host, port, false); err != nil {
			return usageErr("-h %q: %s", h, trimMQTT(err))
		}
		list[i] = h
	}
	cfg.Address, cfg.Port = list[0], f.port
	f.moreHosts = list[1:]
	return nil
}
