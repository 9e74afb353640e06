package broker

// A Go map keeps the room it grew to, whatever is deleted from it. The
// server's tables of connections and of sessions are rebuilt once they
// hold a quarter of their peak, so that a burst of clients does not keep
// its room after the clients have left (bench/broker's TestIdle measures
// the memory that stays).

// shrinkMin is the peak under which a table is left as it is: rebuilding
// a small one would save little.
const shrinkMin = 1024

// peak is the most entries a table has held since it was last rebuilt.
type peak int

// grew notes a table's size after an insertion.
func (p *peak) grew(n int) { *p = max(*p, peak(n)) }

// shrink returns m, or, once m holds a quarter of its peak or less (a
// peak of shrinkMin or more), a copy of m sized to what it holds, from
// which the peak restarts. The caller replaces m with the result.
func shrink[K comparable, V any](m map[K]V, p *peak) map[K]V {
	if *p < shrinkMin || len(m) > int(*p)/4 {
		return m
	}
	n := make(map[K]V, len(m))
	for k, v := range m {
		n[k] = v
	}
	*p = peak(len(n))
	return n
}
