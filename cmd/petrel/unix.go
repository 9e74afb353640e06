package main

import (
	"context"
	"net"

	"github.com/petrel-mqtt/petrel/session"
)

// maxUnixPath is the longest path of a Unix socket: Linux's sun_path holds
// 108 bytes, the last a NUL.
const maxUnixPath = 107

// unixSocket makes the client connect over the Unix socket of --unix, as
// mosquitto_pub --unix does: it replaces -h, -p and -L. TLS and --proxy,
// which need a host, are refused with it.
func (f *connFlags) unixSocket(cfg *session.Config) error {
	path := f.unixPath
	if path == "" {
		return usageErr("--unix: give the path of the broker's Unix socket, e.g. --unix /run/mosquitto/mosquitto.sock")
	}
	if len(path) > maxUnixPath {
		return usageErr("--unix %q: %d bytes, more than the %d a Unix socket path may have: use a shorter path, or a relative one from a nearer directory",
			path, len(path), maxUnixPath)
	}
	for _, name := range []string{"h", "p", "L"} {
		if f.set[name] {
			return usageErr("--unix and -%s: --unix replaces -h, -p and -L; give one or the other", name)
		}
	}
	if f.set["proxy"] {
		return usageErr("--unix and --proxy: a proxy tunnels to a host and port, not to a Unix socket; give one or the other")
	}
	for _, name := range []string{"tls", "cafile", "capath", "tls-version", "cert", "key", "insecure"} {
		if f.set[name] {
			return usageErr("--%s with --unix: petrel speaks plain MQTT over a Unix socket; drop --%s, or connect over TCP with -h and -p", name, name)
		}
	}
	cfg.Address, cfg.Port = "", 0
	f.moreHosts = nil
	cfg.Dial = func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
	return nil
}
