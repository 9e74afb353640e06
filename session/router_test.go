package session

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/petrel-mqtt/petrel/internal/topictree"
)

// filterHandler is a Handler that stands for the filter it was added with,
// so a test can tell which subscriptions matched.
type filterHandler string

func (filterHandler) HandleMessage(*Message) {}

// newRouter returns a router holding filters, each with its filterHandler.
func newRouter(filters ...string) *router {
	r := new(router)
	for _, f := range filters {
		r.add(f, filterHandler(f))
	}
	return r
}

// matched returns, sorted, the filters whose handlers r.match calls for
// topic, with a filter repeated if its handler is called more than once.
func matched(r *router, topic string) []string {
	var got []string
	r.match(topic, func(h Handler) { got = append(got, string(h.(filterHandler))) })
	slices.Sort(got)
	return got
}

func TestSplitShared(t *testing.T) {
	for _, tc := range []struct {
		filter, group, match string
		ok                   bool
	}{
		{"a/b", "", "a/b", true},
		{"#", "", "#", true},
		{"$SYS/#", "", "$SYS/#", true},
		{"$share", "", "$share", true}, // a filter like any other
		{"$shared/g/a", "", "$shared/g/a", true},
		{"$share/g/a/b", "g", "a/b", true},
		{"$share/g/#", "g", "#", true},
		{"$share/g//", "g", "/", true},
		{"$share/g/$SYS/+", "g", "$SYS/+", true},
		{"$share/group", "", "", false},  // no filter
		{"$share/group/", "", "", false}, // empty filter
		{"$share//a", "", "", false},     // empty group
		{"$share/", "", "", false},
		{"$share/+/a", "", "", false},
		{"$share/#/a", "", "", false},
		{"$share/g+/a", "", "", false},
	} {
		group, match, ok := splitShared(tc.filter)
		if group != tc.group || match != tc.match || ok != tc.ok {
			t.Errorf("splitShared(%q) = %q, %q, %v; want %q, %q, %v",
				tc.filter, group, match, ok, tc.group, tc.match, tc.ok)
		}
	}
}

func TestRouterOverlapping(t *testing.T) {
	r := newRouter("a/#", "a/+", "a/b", "#", "+/b", "+/+", "a/c", "b/#")
	want := []string{"#", "+/+", "+/b", "a/#", "a/+", "a/b"}
	if diff := cmp.Diff(want, matched(r, "a/b")); diff != "" {
		t.Errorf("a/b (-want +got):\n%s", diff)
	}
}

func TestRouterReplace(t *testing.T) {
	r := new(router)
	var calls []string
	handler := func(name string) Handler {
		return HandlerFunc(func(*Message) { calls = append(calls, name) })
	}
	r.add("a/+", handler("first"))
	r.add("a/+", handler("second"))
	r.add("$share/g/a/+", handler("shared"))
	if r.len() != 2 {
		t.Errorf("len() = %d, want 2", r.len())
	}
	r.match("a/b", func(h Handler) { h.HandleMessage(&Message{Topic: "a/b"}) })
	slices.Sort(calls)
	if want := []string{"second", "shared"}; !slices.Equal(calls, want) {
		t.Errorf("handlers called: %q, want %q", calls, want)
	}
}

func TestRouterRemove(t *testing.T) {
	r := newRouter("a/#", "a/+", "a/b", "a/b/c", "$share/g/a/b", "$share/h/a/b")
	for _, tc := range []struct {
		remove string
		found  bool
		want   []string // matched by a/b afterwards
	}{
		{"a/+", true, []string{"$share/g/a/b", "$share/h/a/b", "a/#", "a/b"}},
		{"a/+", false, []string{"$share/g/a/b", "$share/h/a/b", "a/#", "a/b"}},
		{"a/b/c", true, []string{"$share/g/a/b", "$share/h/a/b", "a/#", "a/b"}},
		{"$share/g/a/b", true, []string{"$share/h/a/b", "a/#", "a/b"}},
		{"$share/x/a/b", false, []string{"$share/h/a/b", "a/#", "a/b"}},
		{"a/b", true, []string{"$share/h/a/b", "a/#"}},
		{"a", false, []string{"$share/h/a/b", "a/#"}},
		{"a/b/#", false, []string{"$share/h/a/b", "a/#"}},
		{"$share/h/a/b", true, []string{"a/#"}},
		{"a/#", true, nil},
		{"a/#", false, nil},
	} {
		if found := r.remove(tc.remove); found != tc.found {
			t.Errorf("remove(%q) = %v, want %v", tc.remove, found, tc.found)
		}
		if diff := cmp.Diff(tc.want, matched(r, "a/b")); diff != "" {
			t.Errorf("after remove(%q), a/b (-want +got):\n%s", tc.remove, diff)
		}
	}
	if r.len() != 0 || !r.tree.Empty() {
		t.Errorf("emptied router: len() = %d, tree %+v; want 0 and no nodes", r.len(), r.tree)
	}
}

func TestRouterFilters(t *testing.T) {
	var r router // the zero value is ready
	if fs := r.filters(); len(fs) != 0 || r.len() != 0 {
		t.Errorf("empty router: filters() = %q, len() = %d", fs, r.len())
	}
	in := []string{"b/+", "#", "$share/g/a", "a", "a/#", "+", "/", "$SYS/#", "a", "b/c/d"}
	for _, f := range in {
		r.add(f, filterHandler(f))
	}
	want := []string{"#", "$SYS/#", "$share/g/a", "+", "/", "a", "a/#", "b/+", "b/c/d"}
	if diff := cmp.Diff(want, r.filters()); diff != "" {
		t.Errorf("filters() (-want +got):\n%s", diff)
	}
	if r.len() != len(want) {
		t.Errorf("len() = %d, want %d", r.len(), len(want))
	}
}

// TestRouterShared checks that a shared subscription
// "$share/<group>/<filter>" matches the topics <filter> matches and no
// others, its own full string included, beside <filter> itself and the
// other groups. Which topics <filter> matches is internal/topictree's.
func TestRouterShared(t *testing.T) {
	filters := []string{"sport/+", "sport/#", "#", "+/#", "$SYS/#", "a//b", "a/+/b", "/"}
	topics := []string{"sport", "sport/tennis", "$SYS/x", "$share/g/sport/tennis", "a//b", "a/x/b", "/"}
	var all []string
	for _, f := range filters {
		all = append(all, f, "$share/g/"+f, "$share/h/"+f)
	}
	r := newRouter(all...)
	for _, topic := range topics {
		var want []string
		for _, f := range filters {
			if topictree.Matches(f, topic) {
				want = append(want, f, "$share/g/"+f, "$share/h/"+f)
			}
		}
		slices.Sort(want)
		if diff := cmp.Diff(want, matched(r, topic)); diff != "" {
			t.Errorf("topic %q (-want +got):\n%s", topic, diff)
		}
	}
}

// TestRouterMalformed checks that shared subscriptions the caller should
// have refused are kept as the literal filters they are rather than
// breaking the table.
func TestRouterMalformed(t *testing.T) {
	r := newRouter("$share/g", "$share//a", "$share/g+/a")
	for topic, want := range map[string][]string{
		"$share/g":    {"$share/g"},
		"$share//a":   {"$share//a"},
		"$share/g+/a": {"$share/g+/a"},
		"a":           nil,
	} {
		if got := matched(r, topic); !slices.Equal(got, want) {
			t.Errorf("topic %q: matched %q, want %q", topic, got, want)
		}
	}
}

// TestRouterMatchUnlocked checks that match calls fn without its lock, so
// a handler may change the subscriptions, and that such changes do not
// affect the call under way.
func TestRouterMatchUnlocked(t *testing.T) {
	r := newRouter("a/+", "a/b")
	calls := 0
	r.match("a/b", func(Handler) {
		calls++
		r.add("a/#", filterHandler("a/#"))
		r.remove("a/b")
	})
	if calls != 2 {
		t.Errorf("%d calls, want 2", calls)
	}
	if want := []string{"a/#", "a/+"}; !slices.Equal(matched(r, "a/b"), want) {
		t.Errorf("afterwards: matched %q, want %q", matched(r, "a/b"), want)
	}
}

// TestRouterManyMatches goes past the handlers match collects on the stack.
func TestRouterManyMatches(t *testing.T) {
	r := new(router)
	var want []string
	for i := range 3 * maxInline {
		f := fmt.Sprintf("$share/g%02d/a/+", i)
		r.add(f, filterHandler(f))
		want = append(want, f)
	}
	if diff := cmp.Diff(want, matched(r, "a/b")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// benchFilters is a table of 100 filters, a fifth with wildcards, of the
// shape of a home-automation client's.
func benchFilters() []string {
	var fs []string
	for i := range 20 {
		fs = append(fs,
			fmt.Sprintf("home/room%d/temperature", i),
			fmt.Sprintf("home/room%d/humidity", i),
			fmt.Sprintf("home/room%d/light/state", i),
			fmt.Sprintf("office/floor%d/+/status", i))
	}
	for i := range 10 {
		fs = append(fs, fmt.Sprintf("sensors/%d/#", i), fmt.Sprintf("$share/workers/jobs/%d/+", i))
	}
	return append(fs[:98], "home/+/temperature", "#")
}

func TestRouterMatchAllocs(t *testing.T) {
	r := newRouter(benchFilters()...)
	if r.len() != 100 {
		t.Fatalf("len() = %d, want 100", r.len())
	}
	for _, topic := range []string{"home/room7/temperature", "office/floor3/printer/status", "sensors/4/a/b", "jobs/3/x", "none"} {
		n := 0
		count := func(Handler) { n++ }
		allocs := testing.AllocsPerRun(100, func() { r.match(topic, count) })
		if allocs != 0 {
			t.Errorf("match(%q): %v allocs, want 0", topic, allocs)
		}
		if n == 0 {
			t.Errorf("match(%q) called no handler", topic)
		}
	}
}

// TestRouterConcurrent runs adds, removes and matches at once; run it with
// -race.
func TestRouterConcurrent(t *testing.T) {
	r := newRouter("a/#", "+/b")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				f := fmt.Sprintf("a/%d/+", (g*500+i)%37)
				r.add(f, filterHandler(f))
				if i%3 == 0 {
					r.remove(f)
				}
			}
		})
		wg.Go(func() {
			for i := range 500 {
				n := 0
				r.match(fmt.Sprintf("a/%d/x", i%37), func(Handler) { n++ })
				if n < 1 {
					t.Errorf("a/#: no match")
					return
				}
				if i%50 == 0 {
					r.filters()
					r.len()
				}
			}
		})
	}
	wg.Wait()
	for f := range strings.SplitSeq("a/#,+/b", ",") {
		if !r.remove(f) {
			t.Errorf("remove(%q) = false after the run", f)
		}
	}
}

func BenchmarkRouterMatch(b *testing.B) {
	r := newRouter(benchFilters()...)
	calls, loops := 0, 0
	count := func(Handler) { calls++ }
	b.ReportAllocs()
	for b.Loop() {
		r.match("home/room7/temperature", count)
		loops++
	}
	if calls != 3*loops {
		b.Fatalf("%d calls for %d matches, want 3 each", calls, loops)
	}
}
