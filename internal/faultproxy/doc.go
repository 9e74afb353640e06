// Package faultproxy is a fault-injecting TCP proxy for MQTT, for tests and
// tools that prove a client loses no message across dropped connections.
//
// A Proxy listens on loopback and relays every connection it accepts to a
// broker (the target), byte for byte, until it is told to misbehave:
//
//	p, err := faultproxy.Listen(brokerAddr, faultproxy.Options{Seed: 1})
//	...
//	defer p.Close()
//	p.CutAfterPacket(faultproxy.ClientToServer, packet.TypePublish, 3)
//	// point the client at p.Addr(): the broker gets the first three
//	// PUBLISH packets whole, then the connection drops.
//
// # Framing
//
// The proxy follows the MQTT fixed header (section 2.2 of the spec,
// https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html#_Toc398718020)
// in each direction: the type nibble and the Remaining Length. It only
// counts bytes, it never buffers a packet, so a claimed length costs
// nothing and a packet may be split across any number of reads. It checks
// nothing either: reserved types and bad flags are framed like any other
// packet. A Remaining Length longer than four bytes loses the framing of
// that direction of that connection for good; from then on its bytes are
// still relayed and counted by CutAfterBytes, but packet faults no longer
// see packets there.
//
// # Faults
//
// Every fault can be set at any time and applies to live connections as
// well as new ones. A Direction names the stream a fault watches:
// ClientToServer, ServerToClient, or Both.
//
// CutAfterPacket, CutAfterBytes and TruncateNext are one-shot: each call
// arms one more fault, which counts from the moment it is armed, over every
// connection (so it may fire on a later connection than the live one), and
// disarms itself when it fires. A cut closes both sockets of the
// connection: the peer that was receiving gets everything forwarded up to
// the cut point, whole, and nothing after it; both ends then see EOF or a
// reset.
//
// RandomCuts cuts at random packets, either right after the packet or in
// its middle. The choices are drawn from a generator per direction of each
// connection, seeded from Options.Seed and the connection's number, one
// draw per packet: given the same seed and the same traffic, a run cuts at
// the same points, however the bytes were split into reads.
//
// BlackHole stops all forwarding while keeping both sockets open: a
// half-open connection, or a network partition. Nothing is dropped: what
// was sent meanwhile is delivered, in order, once the black hole is lifted
// (as TCP would after a partition heals), unless the connection is cut
// first. Delay holds every chunk read for a while before writing it, and
// Throttle caps the bandwidth of each direction of each connection. Refuse
// makes the proxy close new connections as soon as it accepts them, as a
// broker that is down would. Reset turns every fault off.
//
// # Counters and logs
//
// Conns, Live and Cuts count connections accepted, connections open, and
// cuts made, for test figures. Options.Logger, if set, receives one record
// per connection accepted, ended or cut.
//
// # Concurrency
//
// All methods of Proxy are safe for concurrent use. Each proxied connection
// runs two goroutines, one per direction, and has one close path. Close
// closes the listener and every connection and waits for all the
// goroutines to return; it does not wait for black holes, delays or
// throttles, which give way at once.
package faultproxy
