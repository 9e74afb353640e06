package session

import "testing"

// TestIDSet: identifiers run from 1 to 65535, never 0 [MQTT-2.3.1-1], never
// one still in use [MQTT-2.3.1-2]; when all are in use take fails, and a
// freed one is taken again.
func TestIDSet(t *testing.T) {
	var s idSet
	seen := make(map[uint16]bool)
	for range 65535 {
		id, ok := s.take()
		if !ok || id == 0 || seen[id] {
			t.Fatalf("take() = %d, %v after %d ids", id, ok, len(seen))
		}
		seen[id] = true
	}
	if id, ok := s.take(); ok {
		t.Fatalf("take() = %d with all 65,535 identifiers in use", id)
	}
	s.free(4242)
	s.free(4242) // freeing twice changes nothing
	if id, ok := s.take(); !ok || id != 4242 {
		t.Fatalf("take() = %d, %v; want the freed 4242", id, ok)
	}
	if _, ok := s.take(); ok {
		t.Fatal("take() succeeded with all identifiers in use again")
	}
}
