// Package packet encodes and decodes the fourteen control packets of MQTT
// 3.1.1 (OASIS Standard, 29 October 2014,
// https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html).
//
// Each packet type is a struct of its own (Connect, Connack, Publish, ...)
// that knows its encoded Size and appends its encoding to a caller's slice
// with AppendBinary, in one pass and without allocating when the slice has
// room. Decoding is the reverse: a Decoder decodes from a byte slice, a
// Reader from a stream, both into packet structs they own and reuse, so that
// steady-state decoding allocates nothing.
//
// # Strictness
//
// The codec checks every wire rule of the spec, on decode and on encode:
// Remaining Length of at most four bytes, reserved fixed-header flags, QoS 3,
// DUP on QoS 0, zero packet identifiers, well-formed UTF-8 without U+0000,
// topic names without wildcards, topic filters with wildcards only where
// they may stand, empty SUBSCRIBE and UNSUBSCRIBE payloads, requested-QoS
// bytes, CONNECT protocol name, level and flags, CONNACK flags and return
// codes, SUBACK return codes, truncated fields and bytes left over. Each
// fault is a *ProtocolError that names the packet type, the field and the
// rule (a normative id such as MQTT-3.3.1-4, or a spec section where the
// spec states the rule without an id), and wraps a sentinel error of this
// package. The encoder refuses to produce what the decoder would reject,
// unless asked to with Append's allowInvalid or Writer.AllowInvalid.
//
// The codec checks wire rules only; policy (which ClientIds a server
// accepts, whether a client may send an empty one) belongs to the session
// and broker layers.
//
// # Aliasing
//
// Byte fields of a decoded packet (topic, payload, client identifier,
// password, filters) point into the decoder's input: for a Decoder, the
// slice passed to Decode; for a Reader, its own buffers. They stay valid
// only until the next decode into the same storage. The packets that hold
// such fields have a Clone method that copies them out.
//
// # Concurrency
//
// Packets, Decoders, Readers and Writers are not safe for concurrent use.
// Packet values are plain data: one goroutine at a time may use each.
package packet
