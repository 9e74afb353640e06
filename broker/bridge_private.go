package broker

import (
	"context"
	"net"
	"sync"

	"github.com/petrel-mqtt/petrel/transport"
)

// dialPrivate returns the Dial of the up client with TryPrivate: each call
// dials the next of the bridge's addresses, and the connection sets bit
// 0x80 of the protocol level of the CONNECT written on it (4 becomes 0x84),
// Mosquitto's mark of a bridge.
func (b *bridge) dialPrivate() func(context.Context) (net.Conn, error) {
	var mu sync.Mutex
	next := 0
	return func(ctx context.Context) (net.Conn, error) {
		mu.Lock()
		addr := b.cfg.Addresses[next%len(b.cfg.Addresses)]
		next++
		mu.Unlock()
		d := transport.Dialer{TLSConfig: b.cfg.TLS}
		nc, err := d.Dial(ctx, addr)
		if err != nil {
			return nil, err
		}
		return &privateConn{Conn: nc}, nil
	}
}

// privateConn marks the CONNECT, the first packet written, as a bridge's.
type privateConn struct {
	net.Conn
	once sync.Once
}

func (c *privateConn) Write(p []byte) (int, error) {
	c.once.Do(func() { markBridge(p) })
	return c.Conn.Write(p)
}

// markBridge sets bit 0x80 of the protocol level of the CONNECT packet at
// the start of p, if p starts with one of MQTT 3.1.1.
func markBridge(p []byte) {
	if len(p) < 2 || p[0] != 0x10 {
		return
	}
	i := 1
	for i < len(p) && i < 5 && p[i]&0x80 != 0 { // Remaining Length
		i++
	}
	i++
	const name = "\x00\x04MQTT"
	if len(p) > i+len(name) && string(p[i:i+len(name)]) == name && p[i+len(name)] == 4 {
		p[i+len(name)] |= 0x80
	}
}
