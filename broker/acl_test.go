package broker

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/petrel-mqtt/petrel/packet"
)

// dumpACL lists the rules of a, sorted, one a string: "alice: deny a/b",
// "anonymous: read x", "pattern: write c/%c".
func dumpACL(a *ACL) []string {
	var out []string
	add := func(who string, rs *aclRules) {
		for _, r := range rs.deny {
			out = append(out, who+": deny "+r.filter)
		}
		for _, r := range rs.read {
			out = append(out, who+": read "+r.filter)
		}
		for _, r := range rs.write {
			out = append(out, who+": write "+r.filter)
		}
	}
	t := a.tab.Load()
	if t == nil {
		return nil
	}
	for u, rs := range t.users {
		if u == "" {
			u = "anonymous"
		}
		add(u, rs)
	}
	add("pattern", &t.patterns)
	slices.Sort(out)
	return out
}

// TestParseACLRules checks every form of line ParseACL reads.
func TestParseACLRules(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		want       []string
	}{
		{"topic without access word", "topic a/b\n", []string{"anonymous: read a/b", "anonymous: write a/b"}},
		{"topic read", "topic read a/b\n", []string{"anonymous: read a/b"}},
		{"topic write", "topic write a/b\n", []string{"anonymous: write a/b"}},
		{"topic readwrite", "topic readwrite a/+\n", []string{"anonymous: read a/+", "anonymous: write a/+"}},
		{"topic deny", "topic deny a/secret\n", []string{"anonymous: deny a/secret"}},
		{"topic #", "topic #\n", []string{"anonymous: read #", "anonymous: write #"}},
		{"topic for the topic deny", "topic readwrite deny\n", []string{"anonymous: read deny", "anonymous: write deny"}},
		{"pattern without access word", "pattern c/%c\n", []string{"pattern: read c/%c", "pattern: write c/%c"}},
		{"pattern read %c", "pattern read clients/%c/#\n", []string{"pattern: read clients/%c/#"}},
		{"pattern write %u", "pattern write users/%u\n", []string{"pattern: write users/%u"}},
		{"pattern deny", "pattern deny %u/%c/private\n", []string{"pattern: deny %u/%c/private"}},
		{"pattern without %c or %u", "pattern read public/#\n", []string{"pattern: read public/#"}},
		{"pattern with other %", "pattern read a/50%/%x/%%\n", []string{"pattern: read a/50%/%x/%%"}},
		{"topic with %c is literal", "topic read a/%c/x%u\n", []string{"anonymous: read a/%c/x%u"}},
		{"user sections", "topic read x\nuser alice\ntopic read y\nuser bob\ntopic write z\nuser alice\ntopic deny w\n",
			[]string{"alice: deny w", "alice: read y", "anonymous: read x", "bob: write z"}},
		{"pattern after user is every client's", "user alice\npattern read p/%u\ntopic read a\n",
			[]string{"alice: read a", "pattern: read p/%u"}},
		{"user name with spaces", "user  alice  smith \ntopic read x\n", []string{"alice  smith: read x"}},
		{"comments and blank lines", "# c\n   # indented\n\t# tab\n\n  \n\t\ntopic read a/#\n#topic read b\n",
			[]string{"anonymous: read a/#"}},
		{"tabs", "topic\tread\ta/b\nuser\talice\t\ntopic \t deny \t a/c\t\n",
			[]string{"alice: deny a/c", "anonymous: read a/b"}},
		{"trailing and leading blanks", "  topic read a/b   \nuser alice  \n  topic x  \n",
			[]string{"alice: read x", "alice: write x", "anonymous: read a/b"}},
		{"filter with spaces", "topic read a b/c d\ntopic deny  room/living room  \npattern write %c/my room\n",
			[]string{"anonymous: deny room/living room", "anonymous: read a b/c d", "pattern: write %c/my room"}},
		{"CRLF", "topic read a\r\nuser bob\r\ntopic b\r\n", []string{"anonymous: read a", "bob: read b", "bob: write b"}},
		{"empty file", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseACL(strings.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, dumpACL(a)); diff != "" {
				t.Errorf("ParseACL(%q) rules (-want +got):\n%s", tt.file, diff)
			}
		})
	}
}

// TestParseACLErrors checks that every line ParseACL does not understand
// is an *ACLError naming the line, and that ReadACLFile names the file.
func TestParseACLErrors(t *testing.T) {
	long := "topic read " + strings.Repeat("a", maxACLLine)
	for _, tt := range []struct {
		name, file string
		line       int
		reason     string
		is         error
	}{
		{"unknown keyword", "topik read a\n", 1, `unknown keyword "topik"; want user, topic or pattern`, nil},
		{"keywords are case-sensitive", "# ok\n\nTopic a\n", 3, `unknown keyword "Topic"; want user, topic or pattern`, nil},
		{"access word alone", "read a/b\n", 1, `unknown keyword "read"; want user, topic or pattern`, nil},
		{"user without a name", "topic a\nuser\n", 2, "user without a name", nil},
		{"user with blanks only", "user \t \n", 1, "user without a name", nil},
		{"user not UTF-8", "user \xff\n", 1, `user name "\xff" is not UTF-8 without U+0000`, nil},
		{"user with U+0000", "user a\x00b\n", 1, `user name "a\x00b" is not UTF-8 without U+0000`, nil},
		{"topic without a filter", "topic\n", 1, "topic without a filter", nil},
		{"pattern without a filter", "pattern \t\n", 1, "pattern without a filter", nil},
		{"topic deny without a filter", "topic deny\n", 1, "topic deny without a filter", nil},
		{"topic read without a filter", "topic read \t \n", 1, "topic read without a filter", nil},
		{"pattern write without a filter", "user a\npattern write\n", 2, "pattern write without a filter", nil},
		{"topic readwrite without a filter", "topic readwrite\n", 1, "topic readwrite without a filter", nil},
		{"unknown access", "topic denied a/secret\n", 1,
			`unknown access "denied"; want read, write, readwrite or deny (a filter with blanks needs one)`, nil},
		{"filter with blanks without access", "\n\ntopic a b\n", 3,
			`unknown access "a"; want read, write, readwrite or deny (a filter with blanks needs one)`, nil},
		{"misplaced #", "topic read a/#/b\n", 1, `invalid filter "a/#/b": misplaced wildcard in topic filter [MQTT-4.7.1-2]`, packet.ErrFilter},
		{"misplaced +", "pattern read a+\n", 1, `invalid filter "a+": misplaced wildcard in topic filter [MQTT-4.7.1-3]`, packet.ErrFilter},
		{"U+0000 in filter", "topic a/\x00\n", 1, `invalid filter "a/\x00": string contains U+0000 [MQTT-4.7.3-2]`, packet.ErrNullChar},
		{"filter not UTF-8", "topic deny \xc3\n", 1, `invalid filter "\xc3": ill-formed UTF-8 [MQTT-1.5.3-1]`, packet.ErrUTF8},
		{"no comment after a rule", "topic read a/b # b's", 1, `invalid filter "a/b # b's": misplaced wildcard in topic filter [MQTT-4.7.1-2]`, packet.ErrFilter},
		{"%c inside a level", "pattern read dev-%c\n", 1, `pattern "dev-%c": %c and %u must each be a whole topic level`, nil},
		{"%u inside a level", "pattern deny a/%u%c/b\n", 1, `pattern "a/%u%c/b": %c and %u must each be a whole topic level`, nil},
		{"line too long", "topic a\n" + long + "\n", 2, "line longer than 131072 bytes", nil},
		{"after good lines", "# acl\ntopic read a\n\nuser alice\ntopic deny b\nuser bob\ntopik c\n", 7,
			`unknown keyword "topik"; want user, topic or pattern`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseACL(strings.NewReader(tt.file))
			ae, ok := errors.AsType[*ACLError](err)
			if !ok {
				t.Fatalf("ParseACL(%q) = %v, %v; want an *ACLError", tt.file, a, err)
			}
			if a != nil {
				t.Error("ParseACL returned an ACL with its error")
			}
			if ae.File != "" || ae.Line != tt.line || ae.Reason != tt.reason {
				t.Errorf("ParseACL(%q) = %#v; want line %d, reason %q", tt.file, ae, tt.line, tt.reason)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("ParseACL(%q) = %v; want an error that is %v", tt.file, err, tt.is)
			}
		})
	}

	dir := t.TempDir()
	name := filepath.Join(dir, "acl")
	os.WriteFile(name, []byte("user alice\ntopik read a\n"), 0o600)
	_, err := ReadACLFile(name)
	want := "mqtt: ACL file " + name + ` line 2: unknown keyword "topik"; want user, topic or pattern`
	if ae, ok := errors.AsType[*ACLError](err); !ok || ae.File != name || err.Error() != want {
		t.Errorf("ReadACLFile = %v; want an *ACLError %q", err, want)
	}
	_, err = ParseACL(strings.NewReader("\n\ntopic deny\n"))
	if want := "mqtt: ACL file line 3: topic deny without a filter"; err == nil || err.Error() != want {
		t.Errorf("ParseACL = %v; want %q", err, want)
	}
	if _, err := ReadACLFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadACLFile of a missing file = %v; want fs.ErrNotExist", err)
	}
}

// TestACLMethodErrors checks that Allow, AllowPattern, Deny and
// DenyPattern refuse what ParseACL refuses, and add nothing.
func TestACLMethodErrors(t *testing.T) {
	a := NewACL()
	for _, err := range []error{
		a.Allow("alice", 0, "a"),
		a.Allow("alice", 4, "a"),
		a.AllowPattern(0, "a/%c"),
		a.Allow("alice", Read, "a/#/b"),
		a.Deny("alice", ""),
		a.DenyPattern("a+"),
		a.AllowPattern(Read, "x%c"),
		a.DenyPattern("a/%u-x"),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "mqtt: ACL: ") {
			t.Errorf("error %v; want one starting with %q", err, "mqtt: ACL: ")
		}
	}
	if got := dumpACL(a); got != nil {
		t.Errorf("rules after refusals: %q", got)
	}
	if err := a.Deny("alice", "a/#/b"); !errors.Is(err, packet.ErrFilter) {
		t.Errorf("Deny with a bad filter: %v; want packet.ErrFilter", err)
	}
	if err := a.Allow("alice", Read, "x/%c"); err != nil {
		t.Errorf("Allow of a literal %%c: %v", err)
	}
	var zero ACL
	if zero.CanSubscribe(Identity{ClientID: "c"}, "a") || zero.CanPublish(Identity{ClientID: "c"}, "a") {
		t.Error("the zero ACL allows")
	}
	if err := zero.Deny("", "a"); err != nil || dumpACL(&zero)[0] != "anonymous: deny a" {
		t.Errorf("zero ACL Deny: %v, %q", err, dumpACL(&zero))
	}
}

// aclFile exercises deny before allow: some deny lines come before the
// allow lines they restrict, some after.
const aclFile = `# clients without a user name
topic read public/#
topic read $SYS/broker/#
topic deny public/secret

user alice
topic deny alice/private/#
topic readwrite alice/#
topic read shared/#
topic write shared/alice
topic read #
topic deny shared/secret

user bob
topic readwrite bob/#
topic read alice/inbox/#
topic write alice/inbox/bob

pattern readwrite clients/%c/#
pattern deny clients/%c/locked
pattern read users/%u/#
pattern deny users/%u/banned/#
`

// reverseSections reverses the order of the rule lines of each user
// section of file, moving every deny after the allows or the reverse.
func reverseSections(file string) string {
	var out, section []string
	flush := func() {
		slices.Reverse(section)
		out = append(out, section...)
		section = nil
	}
	for l := range strings.Lines(file) {
		if strings.HasPrefix(l, "user ") {
			flush()
			out = append(out, l)
			continue
		}
		section = append(section, l)
	}
	flush()
	return strings.Join(out, "")
}

var (
	alice = Identity{ClientID: "a1", Username: "alice"}
	bob   = Identity{ClientID: "b1", Username: "bob"}
	anon  = Identity{ClientID: "x1"}
)

type aclOp int

const (
	opPublish   aclOp = iota // CanPublish(topic)
	opSubscribe              // CanSubscribe(filter)
	opDeliver                // CanSubscribe(topic name), before a delivery
)

func (op aclOp) String() string { return [...]string{"publish", "subscribe", "deliver"}[op] }

type aclCase struct {
	id    Identity
	op    aclOp
	topic string
	want  bool
}

func checkACL(t *testing.T, a *ACL, cases []aclCase) {
	t.Helper()
	for _, c := range cases {
		var got bool
		if c.op == opPublish {
			got = a.CanPublish(c.id, c.topic)
		} else {
			got = a.CanSubscribe(c.id, c.topic)
		}
		if got != c.want {
			t.Errorf("%+v %v %q: %v, want %v", c.id, c.op, c.topic, got, c.want)
		}
	}
}

// TestACLDecisions checks publish, subscribe and delivery decisions for
// alice, bob and a client without a user name: deny before allow whatever
// the order of the lines, patterns for everyone, user rules for their user
// only.
func TestACLDecisions(t *testing.T) {
	cases := []aclCase{
		// alice: her rules, deny first.
		{alice, opPublish, "alice/x", true},
		{alice, opPublish, "alice/private/x", false},
		{alice, opPublish, "alice/private", false}, // "alice/private/#" matches its parent
		{alice, opSubscribe, "alice/#", true},      // the deny covers part of it only
		{alice, opSubscribe, "alice/private/#", false},
		{alice, opSubscribe, "alice/private/+", false},
		{alice, opSubscribe, "alice/+/x", true},
		{alice, opDeliver, "alice/x", true},
		{alice, opDeliver, "alice/private/x", false},
		{alice, opSubscribe, "shared/#", true},
		{alice, opSubscribe, "shared/secret", false}, // deny after allow in the file
		{alice, opDeliver, "shared/secret", false},
		{alice, opDeliver, "shared/secret/x", true}, // "shared/secret" has no '#'
		{alice, opPublish, "shared/alice", true},
		{alice, opPublish, "shared/x", false},
		{alice, opSubscribe, "#", true},
		{alice, opDeliver, "anything/at/all", true},
		{alice, opDeliver, "public/secret", true}, // the anonymous deny is not alice's
		{alice, opPublish, "public/x", false},
		{alice, opDeliver, "$SYS/broker/uptime", false}, // "#" grants no $ topic [MQTT-4.7.2-1]
		{alice, opPublish, "alice/+", false},            // never a wildcard topic
		{alice, opPublish, "alice/#", false},
		// alice: patterns, deny first, even over her own "topic read #".
		{alice, opPublish, "clients/a1/x", true},
		{alice, opSubscribe, "clients/a1/#", true},
		{alice, opPublish, "clients/a1/locked", false},
		{alice, opDeliver, "clients/a1/locked", false},
		{alice, opSubscribe, "clients/a1/locked", false},
		{alice, opDeliver, "clients/b1/x", true}, // by "topic read #"
		{alice, opPublish, "clients/b1/x", false},
		{alice, opDeliver, "users/alice/x", true},
		{alice, opDeliver, "users/alice/banned/x", false},
		{alice, opSubscribe, "users/alice/banned/#", false},
		{alice, opSubscribe, "users/alice/#", true},
		{alice, opDeliver, "users/bob/banned/x", true}, // by "topic read #"; the pattern denies alice's own
		// bob
		{bob, opPublish, "bob/x", true},
		{bob, opSubscribe, "bob/#", true},
		{bob, opSubscribe, "alice/inbox/#", true},
		{bob, opDeliver, "alice/inbox/x", true},
		{bob, opPublish, "alice/inbox/bob", true},
		{bob, opPublish, "alice/inbox/x", false},
		{bob, opSubscribe, "alice/#", false},
		{bob, opDeliver, "alice/x", false},
		{bob, opSubscribe, "#", false},
		{bob, opPublish, "clients/b1/x", true},
		{bob, opPublish, "clients/a1/x", false},
		{bob, opDeliver, "clients/b1/locked", false},
		{bob, opDeliver, "users/bob/x", true},
		{bob, opDeliver, "users/alice/x", false},
		{bob, opDeliver, "users/bob/banned", false},
		{bob, opDeliver, "public/x", false}, // anonymous rules are not bob's
		// a client without a user name
		{anon, opSubscribe, "public/#", true},
		{anon, opSubscribe, "public/+", true},
		{anon, opDeliver, "public/x", true},
		{anon, opPublish, "public/x", false},
		{anon, opDeliver, "public/secret", false},
		{anon, opSubscribe, "public/secret", false},
		{anon, opDeliver, "$SYS/broker/uptime", true},
		{anon, opSubscribe, "$SYS/broker/#", true},
		{anon, opSubscribe, "$SYS/#", false},
		{anon, opPublish, "clients/x1/a", true},
		{anon, opDeliver, "clients/x1/locked", false},
		{anon, opSubscribe, "users/+/x", false}, // %u without a user name
		{anon, opDeliver, "users//x", false},
		{anon, opDeliver, "alice/x", false},
		{Identity{ClientID: "y", Username: "carol"}, opDeliver, "public/x", false}, // no rules but patterns
		{Identity{ClientID: "y", Username: "carol"}, opPublish, "clients/y/x", true},
	}
	files := map[string]string{
		"file":                aclFile,
		"sections reversed":   reverseSections(aclFile),
		"patterns at the top": "pattern readwrite clients/%c/#\npattern deny clients/%c/locked\npattern read users/%u/#\npattern deny users/%u/banned/#\n" + aclFile,
	}
	for name, file := range files {
		t.Run(name, func(t *testing.T) {
			a, err := ParseACL(strings.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			checkACL(t, a, cases)
		})
	}
	t.Run("methods", func(t *testing.T) {
		a := NewACL()
		for _, err := range []error{
			a.Allow("", Read, "public/#"),
			a.Allow("", Read, "$SYS/broker/#"),
			a.Allow("alice", ReadWrite, "alice/#"),
			a.Allow("alice", Read, "shared/#"),
			a.Allow("alice", Write, "shared/alice"),
			a.Allow("alice", Read, "#"),
			a.Deny("alice", "shared/secret"),
			a.Deny("alice", "alice/private/#"),
			a.Allow("bob", ReadWrite, "bob/#"),
			a.Allow("bob", Read, "alice/inbox/#"),
			a.Allow("bob", Write, "alice/inbox/bob"),
			a.AllowPattern(ReadWrite, "clients/%c/#"),
			a.AllowPattern(Read, "users/%u/#"),
			a.DenyPattern("users/%u/banned/#"),
			a.DenyPattern("clients/%c/locked"),
			a.Deny("", "public/secret"),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		checkACL(t, a, cases)
	})
}

// TestACLDollarTopics checks that a rule whose filter does not start with
// '$' neither allows nor denies a topic starting with '$', as in Mosquitto
// [MQTT-4.7.2-1].
func TestACLDollarTopics(t *testing.T) {
	parse := func(file string) *ACL {
		a, err := ParseACL(strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	id := Identity{ClientID: "c"}
	checkACL(t, parse("topic read #\ntopic read +/x\ntopic read $SYS/#\ntopic deny +/secret\n"), []aclCase{
		{id, opDeliver, "$SYS/broker/uptime", true},
		{id, opDeliver, "$other/x", false},
		{id, opDeliver, "$x/secret", false},
		{id, opSubscribe, "$other/#", false},
		{id, opSubscribe, "#", true},
		{id, opDeliver, "a/secret", false},
	})
	checkACL(t, parse("topic read $SYS/#\ntopic deny #\n"), []aclCase{
		{id, opDeliver, "$SYS/broker/uptime", true}, // "deny #" denies no $ topic
		{id, opSubscribe, "$SYS/#", true},
		{id, opDeliver, "a/b", false},
		{id, opSubscribe, "#", false},
	})
	checkACL(t, parse("topic deny $SYS/broker/secret\ntopic read $SYS/#\ntopic readwrite $app/+\n"), []aclCase{
		{id, opDeliver, "$SYS/broker/secret", false},
		{id, opDeliver, "$SYS/broker/load", true},
		{id, opSubscribe, "$SYS/#", true},
		{id, opPublish, "$app/x", true},
	})
	patterns := parse("pattern read %c/#\npattern deny %u/#\n")
	checkACL(t, patterns, []aclCase{
		{Identity{ClientID: "$x"}, opDeliver, "$x/a", false}, // a pattern starting with %c is no '$' filter
		{Identity{ClientID: "x"}, opDeliver, "x/a", true},
		{Identity{ClientID: "x", Username: "x"}, opDeliver, "x/a", false},
	})
}

// TestACLPatternValues checks that a pattern does not apply to a client
// whose ClientId or user name, where the pattern uses it, is empty or holds
// '/', '+' or '#'.
func TestACLPatternValues(t *testing.T) {
	a, err := ParseACL(strings.NewReader("pattern readwrite clients/%c/#\npattern read users/%u\npattern read public/#\npattern deny public/%c\n"))
	if err != nil {
		t.Fatal(err)
	}
	checkACL(t, a, []aclCase{
		{Identity{}, opDeliver, "clients//x", false},
		{Identity{ClientID: "a/b"}, opDeliver, "clients/a/b/x", false},
		{Identity{ClientID: "a/b"}, opPublish, "clients/a/b", false},
		{Identity{ClientID: "+"}, opSubscribe, "clients/+/#", false},
		{Identity{ClientID: "#"}, opSubscribe, "clients/#", false},
		{Identity{ClientID: "c", Username: "#"}, opSubscribe, "users/#", false},
		{Identity{ClientID: "c", Username: "+"}, opSubscribe, "users/+", false},
		{Identity{ClientID: "c", Username: "u"}, opSubscribe, "users/+", false},
		{Identity{ClientID: "c", Username: "u"}, opSubscribe, "users/u", true},
		{Identity{ClientID: "c", Username: "u"}, opSubscribe, "clients/c/#", true},
		{Identity{ClientID: "c", Username: "u"}, opSubscribe, "clients/+/#", false},
		// a pattern without %c or %u applies to every client
		{Identity{ClientID: "+"}, opDeliver, "public/x", true},
		{Identity{ClientID: "x"}, opDeliver, "public/x", false},
		{Identity{ClientID: "x"}, opSubscribe, "public/#", true},
		{Identity{ClientID: "x"}, opSubscribe, "public/x", false},
	})
}

// TestACLCoversAgrees checks that a rule without patterns decides as
// covers and matchTopic do.
func TestACLCoversAgrees(t *testing.T) {
	filters := []string{"#", "+", "a", "a/#", "a/+", "+/#", "+/+", "a/b", "a/+/c", "a/b/#", "$SYS/#", "$SYS/+", "+/b", "/#", "/", "a/"}
	subs := append([]string{"a/b/c", "$SYS", "$SYS/x", "b", "", "/a", "a//c"}, filters...)
	for _, f := range filters {
		r, err := newRule(f, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subs {
			if got, want := r.covers(s, "", ""), covers(f, s); got != want {
				t.Errorf("rule %q covers %q: %v; covers says %v", f, s, got, want)
			}
			if strings.ContainsAny(s, "+#") {
				continue
			}
			if got, want := r.covers(s, "", ""), matchTopic(f, s); got != want {
				t.Errorf("rule %q matches %q: %v; matchTopic says %v", f, s, got, want)
			}
		}
	}
}

// benchACL is a handful of rules and a few patterns.
func benchACL(tb testing.TB) *ACL {
	a, err := ParseACL(strings.NewReader(`topic read public/#
user alice
topic deny home/alice/private/#
topic readwrite home/alice/#
topic read home/shared/#
topic write alerts/alice
topic read weather/+/temp
topic deny home/shared/secret
user bob
topic readwrite home/bob/#
pattern readwrite clients/%c/#
pattern deny clients/%c/locked
pattern read users/%u/inbox/#
pattern write users/%u/outbox
`))
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// TestACLNoAllocs checks that decisions do not allocate: the broker asks
// one before every delivery.
func TestACLNoAllocs(t *testing.T) {
	a := benchACL(t)
	id := Identity{ClientID: "sensor-17", Username: "alice"}
	for _, c := range []struct {
		op    aclOp
		topic string
	}{
		{opDeliver, "users/alice/inbox/7"},
		{opDeliver, "home/alice/private/x"},
		{opDeliver, "nothing/here"},
		{opSubscribe, "home/alice/+/temp"},
		{opPublish, "clients/sensor-17/status"},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if c.op == opPublish {
				a.CanPublish(id, c.topic)
			} else {
				a.CanSubscribe(id, c.topic)
			}
		})
		if allocs != 0 {
			t.Errorf("%v %q: %v allocations", c.op, c.topic, allocs)
		}
	}
}

// TestACLConcurrent adds rules while decisions are made (run with -race).
func TestACLConcurrent(t *testing.T) {
	a := benchACL(t)
	id := Identity{ClientID: "c", Username: "alice"}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				a.CanSubscribe(id, "home/alice/x")
				a.CanPublish(id, "clients/c/x")
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			a.Allow("alice", Read, "x/#")
			a.DenyPattern("clients/%c/y")
		}
	})
	wg.Wait()
	if a.CanSubscribe(id, "home/alice/private/x") || !a.CanSubscribe(id, "x/y") || a.CanPublish(id, "clients/c/y") {
		t.Error("rules added concurrently were lost")
	}
}

// BenchmarkACLCanSubscribeTopic measures the check before each delivery.
func BenchmarkACLCanSubscribeTopic(b *testing.B) {
	a := benchACL(b)
	id := Identity{ClientID: "sensor-17", Username: "alice"}
	b.ReportAllocs()
	for b.Loop() {
		if !a.CanSubscribe(id, "users/alice/inbox/7") {
			b.Fatal("denied")
		}
	}
}
