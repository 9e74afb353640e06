package session

import (
	"net"
	"sync/atomic"

	"github.com/petrel-mqtt/petrel/internal/nowait"
	"github.com/petrel-mqtt/petrel/packet"
)

// Stats is a snapshot of a Client's counters, from Client.Stats. Counts
// are totals since New, over every connection.
type Stats struct {
	// MessagesSent counts PUBLISH packets written, re-sends with DUP
	// included; MessagesReceived counts PUBLISH packets read, a QoS 1
	// message the server sent again included.
	MessagesSent     uint64
	MessagesReceived uint64
	// BytesSent and BytesReceived count the bytes written to and read
	// from the network connections (for TLS and WebSocket, what the
	// transport carried: the MQTT bytes, not the framing).
	BytesSent     uint64
	BytesReceived uint64
	// Connections counts the connections established: CONNACK accepted,
	// by Connect or by reconnection.
	Connections uint64
	// Reconnects counts the connections Config.Reconnect established
	// after one was lost.
	Reconnects uint64
	// Resent counts the QoS 1 and 2 messages (and PUBRELs) sent again
	// on a new connection, because the last one ended before they were
	// acknowledged [MQTT-4.4.0-1].
	Resent uint64
	// InFlight is how many outgoing QoS 1 and 2 messages the session
	// holds now until their acknowledgement: those sent (at most
	// Config.MaxInflight) and those queued while reconnecting.
	InFlight int
	// Queued is how many messages wait for a connection now, queued by
	// Publish while reconnecting.
	Queued int
	// Subscriptions is how many topic filters the client holds now.
	Subscriptions int
}

// stats are a Client's live counters.
type stats struct {
	messagesSent, messagesReceived atomic.Uint64
	bytesSent, bytesReceived       atomic.Uint64
	connections, reconnects        atomic.Uint64
	resent                         atomic.Uint64
}

// Stats returns the client's counters. It may be called at any time, from
// any goroutine, and does no I/O.
func (c *Client) Stats() Stats {
	s := &c.stats
	st := Stats{
		MessagesSent:     s.messagesSent.Load(),
		MessagesReceived: s.messagesReceived.Load(),
		BytesSent:        s.bytesSent.Load(),
		BytesReceived:    s.bytesReceived.Load(),
		Connections:      s.connections.Load(),
		Reconnects:       s.reconnects.Load(),
		Resent:           s.resent.Load(),
	}
	c.mu.Lock()
	st.InFlight, st.Queued, st.Subscriptions = len(c.flows), c.queued, len(c.subs)
	c.mu.Unlock()
	return st
}

// wrote counts the packet b, written to the connection.
func (s *stats) wrote(b []byte) {
	if len(b) > 0 && packet.Type(b[0]>>4) == packet.TypePublish {
		s.messagesSent.Add(1)
	}
}

// read counts the packet p, read from the connection.
func (s *stats) read(p packet.Packet) {
	if p.Type() == packet.TypePublish {
		s.messagesReceived.Add(1)
	}
}

// countConn counts the bytes read and written through a net.Conn. It
// reads a plain TCP or Unix connection through a nowait.Reader.
type countConn struct {
	net.Conn
	s  *stats
	rr *nowait.Reader // nil for other connections
}

// count returns nc counting its bytes into s.
func (s *stats) count(nc net.Conn) net.Conn {
	return &countConn{Conn: nc, s: s, rr: nowait.NewReader(nc)}
}

func (c *countConn) Read(p []byte) (n int, err error) {
	if c.rr != nil {
		n, err = c.rr.Read(p)
	} else {
		n, err = c.Conn.Read(p)
	}
	c.s.bytesReceived.Add(uint64(n))
	return n, err
}

func (c *countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.s.bytesSent.Add(uint64(n))
	return n, err
}
