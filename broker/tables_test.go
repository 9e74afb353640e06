package broker

import (
	"maps"
	"testing"
)

// TestShrink: a table is rebuilt, with what it holds, once it holds a
// quarter of a peak of shrinkMin or more; not before, and not for a small
// peak; the peak restarts from the rebuilt table.
func TestShrink(t *testing.T) {
	fill := func(n int) map[int]int {
		m := make(map[int]int)
		for i := range n {
			m[i] = -i
		}
		return m
	}
	for _, tt := range []struct {
		peak, left int
		rebuilt    bool
	}{
		{shrinkMin, shrinkMin / 4, true},
		{shrinkMin, shrinkMin/4 + 1, false},
		{shrinkMin - 1, 0, false},
		{4 * shrinkMin, 10, true},
		{4 * shrinkMin, 0, true},
	} {
		m := fill(tt.peak)
		var p peak
		p.grew(len(m))
		for i := tt.left; i < tt.peak; i++ {
			delete(m, i)
		}
		want := maps.Clone(m)
		got := shrink(m, &p)
		if !maps.Equal(got, want) {
			t.Errorf("peak %d, %d left: the table holds %d entries, not the %d it held", tt.peak, tt.left, len(got), len(want))
		}
		got[-1] = 1 // seen through m unless got is another map
		if _, same := m[-1]; same == tt.rebuilt {
			t.Errorf("peak %d, %d left: rebuilt %v, want %v", tt.peak, tt.left, !same, tt.rebuilt)
		}
		wantPeak := peak(tt.peak)
		if tt.rebuilt {
			wantPeak = peak(tt.left)
		}
		if p != wantPeak {
			t.Errorf("peak %d, %d left: peak %d after, want %d", tt.peak, tt.left, p, wantPeak)
		}
	}
}
