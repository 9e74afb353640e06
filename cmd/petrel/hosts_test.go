package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/session"
)

// TestHosts: -h takes the nodes of a cluster, each with its own port or
// -p's; the first is Address, the others the reconnection's Addresses.
func TestHosts(t *testing.T) {
	tests := []struct {
		args []string
		addr string
		port int
		more []string
	}{
		{[]string{"-h", "n1"}, "n1", 0, nil},
		{[]string{"-h", "n1", "-p", "1884"}, "n1", 1884, nil},
		{[]string{"-h", "n1:1884,n2:1885"}, "n1:1884", 0, []string{"n2:1885"}},
		{[]string{"-h", "n1, n2,[::1]:1886,::1", "-p", "1999"}, "n1", 1999, []string{"n2", "[::1]:1886", "::1"}},
	}
	for _, tt := range tests {
		for _, command := range []string{"pub", "sub"} {
			args := append([]string{"-t", "a"}, tt.args...)
			if command == "pub" {
				args = append(args, "-m", "x")
			}
			cfg, _, _, err := parseConfig(t, command, args...)
			if err != nil {
				t.Errorf("%s %q: %v", command, args, err)
				continue
			}
			if cfg.Address != tt.addr || cfg.Port != tt.port {
				t.Errorf("%s %q: Address %q, Port %d; want %q, %d", command, args, cfg.Address, cfg.Port, tt.addr, tt.port)
			}
			if cfg.Reconnect == nil || !slices.Equal(cfg.Reconnect.Addresses, tt.more) {
				t.Errorf("%s %q: Reconnect %+v, want Addresses %q", command, args, cfg.Reconnect, tt.more)
			}
			if _, err := session.New(cfg); err != nil {
				t.Errorf("%s %q: session.New: %v", command, args, err)
			}
		}
	}
}

func TestHostsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-h", "n1,,n2"}, `-h "n1,,n2": an empty host in the list`},
		{[]string{"-h", "n1,mqtt://n2"}, `-h "mqtt://n2": give a host name or IP address, or the URL with -L`},
		{[]string{"-h", "n1:x"}, `-h "n1:x": the port "x" is not a number`},
		{[]string{"-h", "n1:70000"}, `-h "n1:70000": `},
		{[]string{"-h", "n1,n2", "--no-reconnect"}, "-h n1,n2 and --no-reconnect: the other hosts are tried only by a client that reconnects"},
	}
	for _, tt := range tests {
		_, _, _, err := parseConfig(t, "sub", append([]string{"-t", "a"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.args, err, tt.want)
		}
		if ee, ok := err.(*exitError); !ok || ee.code != exitUsage {
			t.Errorf("%q: %#v, want a usage error", tt.args, err)
		}
	}
}
