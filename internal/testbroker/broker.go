package testbroker

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// DefaultTimeout is how long a step waits for the client, unless
// SetTimeout says otherwise.
const DefaultTimeout = 2 * time.Second

// Broker is the server side of a scripted test. Make one with New.
type Broker struct {
	t testing.TB

	// mu guards the fields below; Dial takes it from the client's
	// goroutines.
	mu     sync.Mutex
	queue  []*conn       // dialed, not yet accepted, oldest first
	all    []*conn       // every connection, to close at the end
	closed bool          // the script failed or the test ended: no more dials
	ln     net.Listener  // from Listen, closed by end
	dialed chan struct{} // 1-buffered: a Dial happened

	// The fields below belong to the script's goroutine.
	timeout  time.Duration
	cur      *conn // the connection the script is on, or nil
	accepted int   // connections taken from the queue so far
	failed   bool  // a step failed: the rest do nothing
}

// conn is the broker's end of one connection.
type conn struct {
	net.Conn
	n       int // 1 for the first connection accepted, 2 for the next...
	packets int // packets read from it so far
}

// New returns a Broker that reports to t and closes its connections when
// the test ends.
func New(t testing.TB) *Broker {
	b := &Broker{t: t, timeout: DefaultTimeout, dialed: make(chan struct{}, 1)}
	t.Cleanup(b.end)
	return b
}

// SetTimeout sets how long the steps after it wait for the client; zero
// or less restores DefaultTimeout. ExpectNothing takes its own duration.
func (b *Broker) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = DefaultTimeout
	}
	b.timeout = d
}

// Dial returns the client's end of a new connection, whose broker's end
// waits in a queue for the script (see Accept). It has the signature of the
// client's dial function. It fails once the script has failed or the test
// has ended, with an error that matches net.ErrClosed.
func (b *Broker) Dial(ctx context.Context) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("testbroker: dial: %w", net.ErrClosed)
	}
	client, server := net.Pipe()
	c := &conn{Conn: server}
	b.queue = append(b.queue, c)
	b.all = append(b.all, c)
	select {
	case b.dialed <- struct{}{}:
	default:
	}
	return client, nil
}

// Listen makes the broker take TCP connections too, for a client that
// dials an address (a command, a transport): it listens on a free
// loopback port and returns its host:port. Each connection accepted waits
// in the queue, as a dialed one does. The listener closes when the test
// ends.
func (b *Broker) Listen() string {
	b.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.t.Fatalf("testbroker: listen: %v", err)
	}
	b.mu.Lock()
	b.ln = ln
	b.mu.Unlock()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			if b.closed {
				b.mu.Unlock()
				nc.Close()
				return
			}
			c := &conn{Conn: nc}
			b.queue = append(b.queue, c)
			b.all = append(b.all, c)
			b.mu.Unlock()
			select {
			case b.dialed <- struct{}{}:
			default:
			}
		}
	}()
	return ln.Addr().String()
}

// Conn is Dial for a test that drives the connection itself. Once the
// script has failed, it returns a connection that is already closed at
// the broker's end.
func (b *Broker) Conn() net.Conn {
	c, err := b.Dial(context.Background())
	if err != nil {
		client, server := net.Pipe()
		server.Close()
		return client
	}
	return c
}

// Accept makes the oldest connection that the client dialed and the script
// has not yet used the current one, waiting for the client to dial if
// there is none. The connection that was current stays open until the test
// ends, Close being only for the current one.
//
// The steps call Accept themselves when there is no current connection, so
// a script needs it only to leave a connection open and move on.
func (b *Broker) Accept() {
	b.t.Helper()
	if b.failed {
		return
	}
	b.cur = nil
	b.current()
}

// current returns the current connection, accepting one if there is none,
// or nil after a failure.
func (b *Broker) current() *conn {
	b.t.Helper()
	if b.failed {
		return nil
	}
	if b.cur != nil {
		return b.cur
	}
	timer := time.NewTimer(b.timeout)
	defer timer.Stop()
	for {
		b.mu.Lock()
		var c *conn
		if len(b.queue) > 0 {
			c = b.queue[0]
			b.queue = b.queue[1:]
		}
		b.mu.Unlock()
		if c != nil {
			b.accepted++
			c.n = b.accepted
			b.cur = c
			return c
		}
		select {
		case <-b.dialed:
		case <-timer.C:
			b.fail("the client did not dial connection %d within %v", b.accepted+1, b.timeout)
			return nil
		}
	}
}

// Close closes the current connection, as a network failure would. The
// client's reads then end with io.EOF and its writes fail. The next step
// takes the next connection.
func (b *Broker) Close() {
	b.t.Helper()
	if c := b.current(); c != nil {
		c.Close()
		b.cur = nil
	}
}

// fail reports a failed step, closes every connection and makes the rest
// of the script do nothing.
func (b *Broker) fail(format string, args ...any) {
	b.t.Helper()
	prefix := "testbroker: "
	if b.cur != nil {
		prefix = fmt.Sprintf("testbroker: connection %d: ", b.cur.n)
	}
	b.t.Errorf(prefix+format, args...)
	b.failed = true
	b.cur = nil
	b.end()
}

// end refuses further dials and closes the broker's end of every
// connection.
func (b *Broker) end() {
	b.mu.Lock()
	b.closed = true
	all, ln := b.all, b.ln
	b.all, b.queue, b.ln = nil, nil, nil
	b.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	for _, c := range all {
		c.Close()
	}
}
