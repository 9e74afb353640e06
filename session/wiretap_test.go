package session

import (
	"context"
	"net"
	"sync"
)

// wiretap records what a broker sends to a client, over all of the
// client's connections, to tell a duplicate that the client let through
// from one the broker made: after PUBREL, a QoS 2 PUBLISH must never be
// sent again [MQTT-4.3.3-1], and its receiver takes one that comes all the
// same for a new message [MQTT-4.3.3-2].
type wiretap struct {
	mu       sync.Mutex
	current  map[uint16]string // packet id → the message (topic and payload) it last carried
	released map[string]bool   // messages whose PUBREL came
	resent   map[string]int    // QoS 2 PUBLISH packets of released messages, by message
	first    map[string]int    // the order in which messages were first sent, from 1
	resent1  int               // QoS 1 PUBLISH packets sent again (DUP set)
}

func newWiretap() *wiretap {
	return &wiretap{current: map[uint16]string{}, released: map[string]bool{}, resent: map[string]int{}, first: map[string]int{}}
}

// dial returns a dial function for Config.Dial that dials addr and taps
// every connection.
func (w *wiretap) dial(addr string) func(ctx context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return &tappedConn{Conn: nc, w: w}, nil
	}
}

// brokerResent reports how many times the broker sent the QoS 2 message
// key (topic and payload) again after its PUBREL.
func (w *wiretap) brokerResent(key string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.resent[key]
}

// firstSent returns when the broker first sent the message key, in the
// order of the first sendings, or 0 if it never did.
func (w *wiretap) firstSent(key string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first[key]
}

// resentQoS1 returns how many QoS 1 PUBLISH packets the broker sent again,
// with DUP set.
func (w *wiretap) resentQoS1() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.resent1
}

// tappedConn frames what it reads by the MQTT fixed header.
type tappedConn struct {
	net.Conn
	w   *wiretap
	buf []byte // bytes read, not yet a whole packet
}

func (c *tappedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.buf = append(c.buf, p[:n]...)
	for {
		size, hdr := frame(c.buf)
		if size == 0 {
			break
		}
		c.w.packet(c.buf[0], c.buf[hdr:size])
		c.buf = c.buf[size:]
	}
	return n, err
}

// frame returns the size of the packet at the start of b and of its fixed
// header, or 0 if b does not hold a whole packet.
func frame(b []byte) (size, hdr int) {
	length, mul := 0, 1
	for i := 1; i < len(b) && i <= 4; i++ {
		length += int(b[i]&0x7f) * mul
		mul <<= 7
		if b[i]&0x80 == 0 {
			if len(b) < i+1+length {
				return 0, 0
			}
			return i + 1 + length, i + 1
		}
	}
	return 0, 0
}

func (w *wiretap) packet(first byte, body []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch first >> 4 {
	case 3: // PUBLISH
		qos := int(first>>1) & 3
		if qos == 0 || len(body) < 2 {
			return
		}
		tl := int(body[0])<<8 | int(body[1])
		if len(body) < 4+tl {
			return
		}
		id := uint16(body[2+tl])<<8 | uint16(body[3+tl])
		key := string(body[2:2+tl]) + "\x00" + string(body[4+tl:])
		if w.first[key] == 0 {
			w.first[key] = len(w.first) + 1
		}
		if qos == 1 && first&0b1000 != 0 {
			w.resent1++
		}
		if qos != 2 {
			return
		}
		if w.released[key] {
			w.resent[key]++
		}
		w.current[id] = key
	case 6: // PUBREL
		if len(body) == 2 {
			id := uint16(body[0])<<8 | uint16(body[1])
			if key, ok := w.current[id]; ok {
				w.released[key] = true
			}
		}
	}
}
