package session

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// countingConn counts the writes on a net.Conn.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestAcksHeldWhileStreaming: QoS 1 messages that arrive together are
// acknowledged in a few writes, not one write each.
func TestAcksHeldWhileStreaming(t *testing.T) {
	cfg := scriptConfig()
	c, b := newScripted(t, cfg)
	var writes atomic.Int64
	dial := b.Dial
	c.cfg.Dial = func(ctx context.Context) (net.Conn, error) {
		nc, err := dial(ctx)
		return countingConn{nc, &writes}, err
	}
	handshake(t, c, b, false)
	writes.Store(0)

	const n = 64
	var burst []byte
	for i := range n {
		p := packet.Publish{QoS: packet.QoS1, PacketID: uint16(i + 1), Topic: []byte("t"), Payload: []byte("x")}
		burst, _ = p.AppendBinary(burst)
	}
	b.Send(burst)
	for i := range n {
		b.ExpectPacket(&packet.Puback{PacketID: uint16(i + 1)})
	}
	if w := writes.Load(); w > n/4 {
		t.Errorf("%d PUBACKs took %d writes; want at most %d", n, w, n/4)
	} else {
		t.Logf("%d PUBACKs in %d writes", n, w)
	}
}

// TestMayHold: the writer holds a batch back only when more of the same is
// due soon, and never one that somebody waits for.
func TestMayHold(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		kinds    []hold
		inflight int
		gap      time.Duration // between the latest two packets read
		since    time.Duration // since the latest packet read
		want     bool
	}{
		{"a waiter", []hold{holdNever}, 64, 0, 0, false},
		{"a waiter among acks", []hold{holdInbound, holdNever}, 64, 0, 0, false},
		{"the only outstanding flow", []hold{holdOwn}, 1, 0, 0, false},
		{"a few outstanding flows", []hold{holdOwn}, holdFlows - 1, 0, 0, false},
		{"many outstanding flows", []hold{holdOwn}, holdFlows, time.Second, time.Second, true},
		{"acks, packets arriving together", []hold{holdInbound}, 0, time.Microsecond, 10 * time.Microsecond, true},
		{"acks, packets arriving apart", []hold{holdInbound}, 0, 80 * time.Microsecond, 10 * time.Microsecond, false},
		{"acks, the stream has paused", []hold{holdInbound}, 0, time.Microsecond, time.Millisecond, false},
		{"acks and own flows, both streaming", []hold{holdInbound, holdOwn}, holdFlows, 0, 0, true},
		{"acks and own flows, few outstanding", []hold{holdInbound, holdOwn}, 1, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Client{inflight: make(chan struct{}, 64)}
			for range tt.inflight {
				c.inflight <- struct{}{}
			}
			cn := &conn{c: c}
			cn.lastIn.Store(now.Add(-tt.since).UnixNano())
			cn.inGap.Store(int64(tt.gap))
			var kinds uint8
			for _, k := range tt.kinds {
				kinds |= 1 << k
			}
			if got := cn.mayHold(kinds, now); got != tt.want {
				t.Errorf("mayHold = %v; want %v", got, tt.want)
			}
		})
	}
}
