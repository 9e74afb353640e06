package faultproxy

import (
	"strconv"

	"github.com/petrel-mqtt/petrel/packet"
)

// action is what a pump does once it has written the bytes plan allowed.
type action uint8

const (
	actForward action = iota // plan the rest
	actCut                   // cut the connection
	actHold                  // keep the rest until more bytes arrive
)

// Framing states of a pump.
const (
	stStart  = iota // before a packet's first byte
	stLength        // inside the Remaining Length
	stBody          // inside the body
	stLost          // a Remaining Length ran past four bytes: no more framing
)

// plan decides what pp does with b, the bytes it has read and not yet
// written: it returns how many of them to write and what to do then. It
// advances pp's framing and the counts of the armed faults as if those
// bytes were written. Called with p.mu held.
func (p *Proxy) plan(pp *pump, b []byte) (n int, act action, why string) {
	limit := len(b)
	for _, f := range p.faults {
		if f.kind == afterBytes && f.dir&pp.dir != 0 {
			limit = int(min(int64(limit), f.n-f.count))
		}
	}
	n, act, why = p.walk(pp, b, limit)
	pp.fwd += int64(n)
	for i := 0; i < len(p.faults); {
		f := p.faults[i]
		if f.kind == afterBytes && f.dir&pp.dir != 0 {
			f.count += int64(n)
			if f.count == f.n {
				if act != actCut {
					act, why = actCut, "after "+strconv.FormatInt(f.n, 10)+" bytes"
				}
				p.disarmLocked(f)
				continue
			}
		}
		i++
	}
	return n, act, why
}

// walk frames b[:limit], from pp's state, and stops at the first cut point
// or where the start of a packet that is to be cut in its middle needs more
// bytes to be framed. Called with p.mu held.
func (p *Proxy) walk(pp *pump, b []byte, limit int) (int, action, string) {
	i := 0
	for i < limit {
		stop := limit
		if pp.cutAt >= 0 {
			if pp.fwd+int64(i) == pp.cutAt {
				return i, actCut, p.fired(pp)
			}
			stop = int(min(int64(stop), pp.cutAt-pp.fwd))
		}
		switch pp.st {
		case stStart:
			if !pp.decided {
				p.decide(pp, packet.Type(b[i]>>4), pp.fwd+int64(i))
			}
			if pp.midFrac >= 0 {
				// A cut in the middle of this packet: its place depends
				// on the packet's length, so the header must be whole.
				total, ok := frameLen(b[i:])
				if !ok {
					if len(b)-i >= 5 {
						p.lose(pp)
						continue
					}
					return i, actHold, ""
				}
				pp.cutAt = pp.start + 1 + int64(pp.midFrac*float64(total-1))
				pp.midFrac = -1
				continue
			}
			pp.typ = packet.Type(b[i] >> 4)
			pp.hdr, pp.rl = 1, 0
			pp.st = stLength
			i++
		case stLength:
			c := b[i]
			i++
			pp.rl |= int(c&0x7f) << (7 * (pp.hdr - 1))
			pp.hdr++
			if c&0x80 != 0 {
				if pp.hdr == 5 {
					p.lose(pp)
				}
				continue
			}
			pp.left = int64(pp.rl)
			pp.st = stBody
			if pp.left == 0 {
				if why := p.end(pp); why != "" {
					return i, actCut, why
				}
			}
		case stBody:
			k := min(pp.left, int64(stop-i))
			i += int(k)
			pp.left -= k
			if pp.left == 0 {
				if why := p.end(pp); why != "" {
					return i, actCut, why
				}
			}
		case stLost:
			i = stop
		}
	}
	if pp.cutAt >= 0 && pp.fwd+int64(i) == pp.cutAt {
		return i, actCut, p.fired(pp)
	}
	return i, actForward, ""
}

// frameLen returns the length of the packet whose fixed header starts b,
// and false if b ends inside the header or the Remaining Length runs past
// four bytes.
func frameLen(b []byte) (int64, bool) {
	rl := 0
	for i := 1; i < len(b) && i <= 4; i++ {
		rl |= int(b[i]&0x7f) << (7 * (i - 1))
		if b[i]&0x80 == 0 {
			return int64(i + 1 + rl), true
		}
	}
	return 0, false
}

// decide makes the choices for the packet of type t that starts at stream
// offset off: whether a TruncateNext claims it and whether RandomCuts cuts
// it. Called with p.mu held, once per packet.
func (p *Proxy) decide(pp *pump, t packet.Type, off int64) {
	pp.decided = true
	pp.start = off
	for _, f := range p.faults {
		if f.kind == truncate && f.dir&pp.dir != 0 && f.typ == t && f.owner == nil {
			f.owner = pp
			pp.claim = f
			pp.midFrac = 0.5
			pp.why = "truncate " + t.String()
			break
		}
	}
	if p.random > 0 && p.randomDir&pp.dir != 0 {
		// Always three draws, so that one packet's choices never shift
		// the next one's.
		hit, mid, frac := pp.rng.Float64() < p.random, pp.rng.Float64() < 0.5, pp.rng.Float64()
		if hit && pp.claim == nil {
			if mid {
				pp.midFrac = frac
				pp.why = "random, inside " + t.String()
			} else {
				pp.cutEnd = true
				pp.why = "random, after " + t.String()
			}
		}
	}
}

// end closes the packet that has just been walked through and returns why
// the connection must be cut after it, or "". Called with p.mu held.
func (p *Proxy) end(pp *pump) string {
	why := ""
	if pp.cutEnd {
		why = pp.why
	}
	for i := 0; i < len(p.faults); {
		f := p.faults[i]
		if f.kind == afterPacket && f.dir&pp.dir != 0 && f.typ == pp.typ {
			f.count++
			if f.count == f.n {
				if why == "" {
					why = "after " + pp.typ.String() + " #" + strconv.FormatInt(f.n, 10)
				}
				p.disarmLocked(f)
				continue
			}
		}
		i++
	}
	pp.st = stStart
	pp.clearDecisions(p)
	return why
}

// fired returns why pp cuts in the middle of a packet, and disarms the
// TruncateNext that asked for it, if any. Called with p.mu held.
func (p *Proxy) fired(pp *pump) string {
	if pp.claim != nil {
		p.disarmLocked(pp.claim)
		pp.claim = nil
	}
	return pp.why
}

// lose gives up framing pp's stream. Called with p.mu held.
func (p *Proxy) lose(pp *pump) {
	pp.st = stLost
	pp.clearDecisions(p)
}

// clearDecisions forgets the choices made for the current packet and
// hands back a claimed TruncateNext. Called with p.mu held.
func (pp *pump) clearDecisions(p *Proxy) {
	pp.decided, pp.cutEnd, pp.midFrac, pp.cutAt, pp.why = false, false, -1, -1, ""
	if pp.claim != nil {
		pp.claim.owner = nil
		pp.claim = nil
	}
}
