package faultproxy

import (
	"strconv"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// Direction names the streams of a connection a fault watches. It is a
// set: Both is ClientToServer|ServerToClient.
type Direction uint8

// The two streams of a proxied connection, and both together.
const (
	ClientToServer Direction = 1 << iota // from the client to the broker
	ServerToClient                       // from the broker to the client
	Both           = ClientToServer | ServerToClient
)

// String returns "client->server", "server->client" or "both".
func (d Direction) String() string {
	switch d {
	case ClientToServer:
		return "client->server"
	case ServerToClient:
		return "server->client"
	case Both:
		return "both"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

func (d Direction) check() {
	if d == 0 || d&^Both != 0 {
		panic("faultproxy: invalid Direction " + d.String())
	}
}

type faultKind uint8

const (
	afterPacket faultKind = iota // cut after the n-th packet of type typ
	afterBytes                   // cut after n bytes
	truncate                     // cut in the middle of the next packet of type typ
)

// fault is an armed one-shot fault. Its fields are guarded by Proxy.mu.
type fault struct {
	kind  faultKind
	dir   Direction
	typ   packet.Type
	n     int64 // packets or bytes to forward before the cut
	count int64 // packets or bytes forwarded since it was armed
	owner *pump // truncate: the pump whose current packet it will cut
}

func (p *Proxy) arm(f *fault) {
	f.dir.check()
	p.mu.Lock()
	p.faults = append(p.faults, f)
	p.mu.Unlock()
}

// disarmLocked removes f from the armed faults. Called with p.mu held.
func (p *Proxy) disarmLocked(f *fault) {
	for i, g := range p.faults {
		if g == f {
			p.faults = append(p.faults[:i], p.faults[i+1:]...)
			return
		}
	}
}

// CutAfterPacket arms a one-shot fault: once n packets of type t have been
// forwarded in dir since the call, counted over all connections, the
// connection that forwarded the n-th is cut right after its last byte. n
// must be at least 1.
func (p *Proxy) CutAfterPacket(dir Direction, t packet.Type, n int) {
	if n < 1 {
		panic("faultproxy: CutAfterPacket needs n >= 1")
	}
	p.arm(&fault{kind: afterPacket, dir: dir, typ: t, n: int64(n)})
}

// CutAfterBytes arms a one-shot fault: once n bytes have been forwarded in
// dir since the call, counted over all connections, the connection that
// forwarded the n-th byte is cut right after it. With n = 0 the next
// connection to have a byte to forward in dir is cut before forwarding it.
func (p *Proxy) CutAfterBytes(dir Direction, n int64) {
	if n < 0 {
		panic("faultproxy: CutAfterBytes needs n >= 0")
	}
	p.arm(&fault{kind: afterBytes, dir: dir, n: n})
}

// TruncateNext arms a one-shot fault: the next packet of type t to start in
// dir after the call is forwarded only in part, its first half rounded up
// (⌈L/2⌉ of its L bytes, fixed header included, so never all of it), and
// then its connection is cut.
func (p *Proxy) TruncateNext(dir Direction, t packet.Type) {
	p.arm(&fault{kind: truncate, dir: dir, typ: t})
}

// RandomCuts makes every packet that starts in dir the last one of its
// connection with probability prob: the cut comes right after the packet or,
// as often, somewhere in its middle, after a non-empty strict prefix. The
// choices are reproducible (see the package doc). A prob of 0 or less turns
// random cuts off; 1 or more cuts at the first packet.
func (p *Proxy) RandomCuts(dir Direction, prob float64) {
	dir.check()
	p.mu.Lock()
	p.random = max(prob, 0)
	p.randomDir = dir
	p.mu.Unlock()
}

// BlackHole stops (on) or resumes (off) forwarding in both directions, on
// every connection, while keeping all sockets open. Bytes already read are
// held, not dropped; the proxy stops reading so the senders' TCP buffers
// fill up. New connections are still accepted and relayed.
func (p *Proxy) BlackHole(on bool) {
	p.mu.Lock()
	p.blackHole = on
	p.settingsChanged()
	p.mu.Unlock()
}

// Delay holds every chunk the proxy reads for d before writing it on, in
// each direction. Chunks are relayed one after another, so a delay lowers
// throughput too. 0 turns it off.
func (p *Proxy) Delay(d time.Duration) {
	p.mu.Lock()
	p.delay = max(d, 0)
	p.settingsChanged()
	p.mu.Unlock()
}

// Throttle caps each direction of each connection at bytesPerSecond,
// writing in slices of at most a twentieth of a second's worth. 0 turns it
// off.
func (p *Proxy) Throttle(bytesPerSecond int) {
	p.mu.Lock()
	p.bps = max(bytesPerSecond, 0)
	p.settingsChanged()
	p.mu.Unlock()
}

// Refuse makes the proxy close the connections it accepts from now on,
// before reading from them, as a broker that is down would (on) or relay
// them again (off). Live connections are not touched.
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	p.refuse = on
	p.mu.Unlock()
}

// Reset disarms every one-shot fault and turns random cuts, the black hole,
// the delay, the throttle and refusals off. Connections already cut stay
// cut.
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.faults = nil
	p.random = 0
	p.blackHole = false
	p.delay = 0
	p.bps = 0
	p.refuse = false
	p.settingsChanged()
	p.mu.Unlock()
}
