package session

import (
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestStreamQoS0: the reader waits for more after a read of coalesceMin
// QoS 0 messages or more, and never after one with an acknowledged
// message or a settle marker in it, or a short one.
func TestStreamQoS0(t *testing.T) {
	qos0 := func(n int) []delivery { return make([]delivery, n) }
	with := func(ds []delivery, i int, d delivery) []delivery { ds[i] = d; return ds }
	for _, tc := range []struct {
		name string
		ds   []delivery
		want bool
	}{
		{"none", nil, false},
		{"fewer than coalesceMin", qos0(coalesceMin - 1), false},
		{"coalesceMin at QoS 0", qos0(coalesceMin), true},
		{"many at QoS 0", qos0(100), true},
		{"one at QoS 1", with(qos0(100), 50, delivery{ack: packet.TypePuback, id: 1}), false},
		{"one at QoS 2", with(qos0(100), 99, delivery{ack: packet.TypePubrec, id: 1}), false},
		{"a settle marker", with(qos0(100), 0, delivery{settled: make(chan struct{})}), false},
	} {
		if got := streamQoS0(tc.ds); got != tc.want {
			t.Errorf("%s: streamQoS0 = %v, want %v", tc.name, got, tc.want)
		}
	}
}
