package e2e

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
)

// With -e2e.io the Go peers dial through countingConn, to see how many
// reads and writes (system calls, one each on a TCP connection) each client
// makes per message.

// ioCounts counts one connection's reads and writes.
type ioCounts struct {
	reads, writes, readBytes, writeBytes atomic.Int64
}

func (c *ioCounts) String(n int) string {
	perMsg := func(v int64) float64 { return float64(v) / float64(max(n, 1)) }
	perCall := func(b, k int64) float64 { return float64(b) / float64(max(k, 1)) }
	return fmt.Sprintf("%.2f writes/msg (%.0f B each), %.2f reads/msg (%.0f B each)",
		perMsg(c.writes.Load()), perCall(c.writeBytes.Load(), c.writes.Load()),
		perMsg(c.reads.Load()), perCall(c.readBytes.Load(), c.reads.Load()))
}

func (c *ioCounts) reset() {
	c.reads.Store(0)
	c.writes.Store(0)
	c.readBytes.Store(0)
	c.writeBytes.Store(0)
}

type countingConn struct {
	net.Conn
	c *ioCounts
}

func (cc countingConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	cc.c.reads.Add(1)
	cc.c.readBytes.Add(int64(n))
	return n, err
}

func (cc countingConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	cc.c.writes.Add(1)
	cc.c.writeBytes.Add(int64(n))
	return n, err
}

// dialCounting dials addr over TCP and counts the connection's I/O in c.
func dialCounting(ctx context.Context, addr string, c *ioCounts) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return countingConn{nc, c}, nil
}
