package broker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/petrel-mqtt/petrel/packet"
)

// Access is what an ACL rule allows on its topic filter.
type Access uint8

// Access rights.
const (
	Read      Access = 1 << iota // subscribe, and receive
	Write                        // publish
	ReadWrite = Read | Write
)

// ACL is an Authorizer of rules read from a Mosquitto 2.0 ACL file (the
// acl_file of mosquitto.conf) or added with Allow, AllowPattern, Deny and
// DenyPattern. Each rule is a topic filter with read, write or readwrite
// access, or deny. Anything no rule allows is denied. The zero ACL, like
// NewACL's, denies everything. An ACL is safe for concurrent use; rules
// added while clients are connected apply to their next PUBLISH, SUBSCRIBE
// or delivery.
//
// # File format
//
// ReadACLFile and ParseACL read one rule a line; keywords are separated by
// spaces or tabs:
//
//	# Lines whose first non-blank character is '#' are comments.
//	# Rules before any user line: clients without a user name.
//	topic read $SYS/#
//
//	# The rules of alice.
//	user alice
//	topic readwrite sensors/#
//	# alice may neither read nor write sensors/secret.
//	topic deny sensors/secret
//	topic write alerts
//	# No access word: readwrite.
//	topic sensors/+/temp
//	# After an access word, the filter is the rest of the line.
//	topic read rooms/living room
//
//	# Patterns: rules of every client, wherever they stand.
//	pattern readwrite clients/%c/#
//	pattern deny users/%u/private
//
// "user <name>" starts the rules of the client whose user name (as the
// Authenticator returned it) is name, the rest of the line; a user's rules
// may be split over several sections. Rules before the first user line are
// those of clients without a user name. "topic [read|write|readwrite|deny]
// <filter>" adds a rule to the current user. "pattern [read|write|readwrite|
// deny] <filter>" adds a rule for every client, even after a user line, in
// which a level that is exactly %c stands for the client's ClientId and one
// that is exactly %u for its user name (%c or %u inside a longer level is
// an error); any other '%', and every '%' of a topic rule, is an ordinary
// character. Without an access word, the filter is the
// single word after the keyword and the access is readwrite; a filter
// holding spaces needs an access word. Anything else is an error (an
// *ACLError naming the line): an unknown keyword or access word, a user
// line without a name, a rule without a filter or with an invalid one
// (packet.ValidateTopicFilter), or a pattern with %c or %u inside a level.
// Mosquitto reads "topic deny" alone as a readwrite rule for the topic
// "deny"; here it is an error: write "topic readwrite deny" for that topic.
//
// # Decisions
//
// The rules of a client are those of its user name (those before the first
// user line if it has none) and all patterns. A pattern does not apply to
// a client whose ClientId or user name, whichever it uses, is empty or
// holds '/', '+' or '#'. Deny comes before allow, whatever the order of the
// lines:
//
//   - CanPublish(topic): false if a deny rule matches topic, else true if a
//     write or readwrite rule matches it.
//   - CanSubscribe(filter): false if a deny rule covers filter (matches
//     every topic that filter matches), else true if a read or readwrite
//     rule covers it. With read a/# and deny a/secret, a/# and a/+ may be
//     subscribed to but a/secret may not.
//   - CanSubscribe(topic), for a topic name: false if a deny rule matches
//     topic, else true if a read or readwrite rule matches it. The broker
//     asks this before each delivery of a message to a subscriber, so that
//     a/secret is not delivered to the subscriber of a/# above. It does not
//     allocate.
//
// A rule whose filter does not start with '$' neither allows nor denies a
// topic starting with '$' [MQTT-4.7.2-1], as in Mosquitto: "#" grants no
// $SYS topic and "topic deny #" denies none; name "$SYS/#" explicitly.
//
// Mosquitto 2.0 decides otherwise in two cases. There, a user's allow rule
// wins over a deny pattern, as it looks at the user's rules, deny first,
// before the patterns; here the deny pattern wins. And there, once the file
// has a pattern, a client whose ClientId or user name holds '+' or '#' is
// denied everything its user's rules do not allow; here only the patterns
// that use that value do not apply to it.
type ACL struct {
	mu  sync.Mutex // serializes writers
	tab atomic.Pointer[aclTable]
}

// aclTable is an ACL's rules. A published table is never modified: a
// writer publishes a modified copy.
type aclTable struct {
	users    map[string]*aclRules // "" holds the rules of clients without a user name
	patterns aclRules
}

// aclRules are rules split by what they decide.
type aclRules struct {
	deny, read, write []aclRule
}

type aclRule struct {
	filter string
	levels []aclLevel
	dollar bool // filter starts with '$'
}

type aclLevel struct {
	kind levelKind
	text string // of a levelLiteral
}

type levelKind uint8

const (
	levelLiteral levelKind = iota
	levelPlus
	levelHash
	levelClientID // %c of a pattern
	levelUsername // %u of a pattern
)

// NewACL returns an ACL that denies everything.
func NewACL() *ACL { return new(ACL) }

// Replace gives a the rules of b, at once for every check that follows, as
// a reload of the file does (petrel broker on SIGHUP, as Mosquitto). Rules
// added to b later do not reach a.
func (a *ACL) Replace(b *ACL) {
	if a == b {
		return
	}
	t := b.tab.Load()
	a.mu.Lock()
	a.tab.Store(t)
	a.mu.Unlock()
}

// Allow grants access to filter to user; "" means clients without a user
// name.
func (a *ACL) Allow(user string, access Access, filter string) error {
	if err := checkAccess(access); err != nil {
		return err
	}
	return a.add(user, false, access, filter)
}

// AllowPattern grants access to filter to every client, a level of filter
// that is exactly %c standing for its ClientId and one that is %u for its
// user name.
func (a *ACL) AllowPattern(access Access, filter string) error {
	if err := checkAccess(access); err != nil {
		return err
	}
	return a.add("", true, access, filter)
}

func checkAccess(access Access) error {
	if access == 0 || access > ReadWrite {
		return fmt.Errorf("mqtt: ACL: invalid access %d", access)
	}
	return nil
}

// Deny denies user, "" meaning clients without a user name, reading and
// writing the topics filter matches, whatever rules allow them.
func (a *ACL) Deny(user, filter string) error {
	return a.add(user, false, 0, filter)
}

// DenyPattern denies every client reading and writing the topics filter
// matches, whatever rules allow them; %c and %u are as in AllowPattern.
func (a *ACL) DenyPattern(filter string) error {
	return a.add("", true, 0, filter)
}

// add adds a rule, access 0 meaning deny.
func (a *ACL) add(user string, pattern bool, access Access, filter string) error {
	r, err := newRule(filter, pattern)
	if err != nil {
		return fmt.Errorf("mqtt: ACL: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tab.Load().clone()
	t.add(user, pattern, access, r)
	a.tab.Store(t)
	return nil
}

// clone returns a copy of t that may be modified; t may be nil.
func (t *aclTable) clone() *aclTable {
	c := &aclTable{users: make(map[string]*aclRules)}
	if t == nil {
		return c
	}
	for u, rs := range t.users {
		c.users[u] = rs.clone()
	}
	c.patterns = *t.patterns.clone()
	return c
}

func (rs *aclRules) clone() *aclRules {
	return &aclRules{
		deny:  append([]aclRule(nil), rs.deny...),
		read:  append([]aclRule(nil), rs.read...),
		write: append([]aclRule(nil), rs.write...),
	}
}

// add adds a rule to an unpublished table, access 0 meaning deny.
func (t *aclTable) add(user string, pattern bool, access Access, r aclRule) {
	rs := &t.patterns
	if !pattern {
		rs = t.users[user]
		if rs == nil {
			rs = new(aclRules)
			t.users[user] = rs
		}
	}
	if access == 0 {
		rs.deny = append(rs.deny, r)
	}
	if access&Read != 0 {
		rs.read = append(rs.read, r)
	}
	if access&Write != 0 {
		rs.write = append(rs.write, r)
	}
}

// ruleError is why a rule's filter is refused; err is the
// packet.ValidateTopicFilter error, if that is why.
type ruleError struct {
	reason string
	err    error
}

func (e *ruleError) Error() string { return e.reason }
func (e *ruleError) Unwrap() error { return e.err }

// newRule checks filter and splits it into levels.
func newRule(filter string, pattern bool) (aclRule, error) {
	if err := packet.ValidateTopicFilter(filter); err != nil {
		reason := "invalid filter " + strconv.Quote(filter)
		if pe, ok := errors.AsType[*packet.ProtocolError](err); ok {
			reason += ": " + strings.TrimPrefix(pe.Err.Error(), "mqtt: ")
			if pe.Rule != "" {
				reason += " [" + pe.Rule + "]"
			}
		}
		return aclRule{}, &ruleError{reason, err}
	}
	r := aclRule{filter: filter, dollar: filter[0] == '$'}
	for l := range strings.SplitSeq(filter, "/") {
		lv := aclLevel{kind: levelLiteral, text: l}
		switch {
		case l == "+":
			lv = aclLevel{kind: levelPlus}
		case l == "#":
			lv = aclLevel{kind: levelHash}
		case pattern && l == "%c":
			lv = aclLevel{kind: levelClientID}
		case pattern && l == "%u":
			lv = aclLevel{kind: levelUsername}
		case pattern && (strings.Contains(l, "%c") || strings.Contains(l, "%u")):
			return aclRule{}, &ruleError{reason: "pattern " + strconv.Quote(filter) + ": %c and %u must each be a whole topic level"}
		}
		r.levels = append(r.levels, lv)
	}
	return r, nil
}

// covers reports whether r, for a client whose ClientId and user name are
// clientID and username ("" if a pattern may not use them), matches every
// topic that sub matches; for a topic name, whether r matches it.
func (r *aclRule) covers(sub, clientID, username string) bool {
	if sub != "" && sub[0] == '$' && !r.dollar {
		return false // [MQTT-4.7.2-1]
	}
	rest, more := sub, true
	for _, l := range r.levels {
		if l.kind == levelHash {
			return true // "a/#" matches "a" too
		}
		if !more {
			return false
		}
		var want string // the level sub must have here, if not any
		switch l.kind {
		case levelPlus:
			i := strings.IndexByte(rest, '/')
			if i < 0 {
				if rest == "#" {
					return false // only '#' covers '#'
				}
				more = false
			} else {
				rest = rest[i+1:]
			}
			continue
		case levelLiteral:
			want = l.text
		case levelClientID:
			want = clientID
		case levelUsername:
			want = username
		}
		if want == "" && l.kind != levelLiteral {
			return false
		}
		n := len(want)
		switch {
		case len(rest) < n || n > 0 && rest[0] != want[0] || rest[:n] != want:
			return false
		case len(rest) == n:
			more = false
		case rest[n] == '/':
			rest = rest[n+1:]
		default:
			return false
		}
	}
	return !more
}

func anyCovers(rules []aclRule, sub, clientID, username string) bool {
	for i := range rules {
		if rules[i].covers(sub, clientID, username) {
			return true
		}
	}
	return false
}

// patternValue returns v if a pattern may use it, else "".
func patternValue(v string) string {
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '/', '+', '#':
			return ""
		}
	}
	return v
}

// CanPublish implements Authorizer. A topic holding a wildcard is never
// allowed.
func (a *ACL) CanPublish(id Identity, topic string) bool {
	if strings.ContainsAny(topic, "+#") {
		return false
	}
	return a.decide(id, topic, Write)
}

// CanSubscribe implements Authorizer, for topic filters and, before a
// delivery, topic names.
func (a *ACL) CanSubscribe(id Identity, filter string) bool {
	return a.decide(id, filter, Read)
}

func (a *ACL) decide(id Identity, sub string, want Access) bool {
	t := a.tab.Load()
	if t == nil {
		return false
	}
	user := t.users[id.Username]
	clientID, username := patternValue(id.ClientID), patternValue(id.Username)
	if user != nil && anyCovers(user.deny, sub, "", "") ||
		anyCovers(t.patterns.deny, sub, clientID, username) {
		return false
	}
	var allow, patterns []aclRule
	if want == Read {
		patterns = t.patterns.read
		if user != nil {
			allow = user.read
		}
	} else {
		patterns = t.patterns.write
		if user != nil {
			allow = user.write
		}
	}
	return anyCovers(allow, sub, "", "") || anyCovers(patterns, sub, clientID, username)
}

// ACLError reports a line of an ACL file that cannot be read.
type ACLError struct {
	File   string // as given to ReadACLFile; empty for ParseACL
	Line   int
	Reason string
	Err    error // the cause behind Reason, if any, such as a packet.ValidateTopicFilter error
}

func (e *ACLError) Error() string {
	s := "mqtt: ACL file "
	if e.File != "" {
		s += e.File + " "
	}
	return s + "line " + strconv.Itoa(e.Line) + ": " + e.Reason
}

// Unwrap returns e.Err.
func (e *ACLError) Unwrap() error { return e.Err }

// ReadACLFile reads an ACL file (see ACL). Errors are *ACLError, with File
// set, for bad lines, or the os error.
func ReadACLFile(name string) (*ACL, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseACL(f, name)
}

// ParseACL reads an ACL file (see ACL) from r. Errors are *ACLError for bad
// lines, or the error of r.
func ParseACL(r io.Reader) (*ACL, error) { return parseACL(r, "") }

// maxACLLine bounds the length of a line of an ACL file: room for a filter
// of the longest length MQTT allows.
const maxACLLine = 128 << 10

func parseACL(r io.Reader, file string) (*ACL, error) {
	t := (*aclTable)(nil).clone()
	user := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxACLLine)
	n := 0
	fail := func(reason string, err error) (*ACL, error) {
		return nil, &ACLError{File: file, Line: n, Reason: reason, Err: err}
	}
	for sc.Scan() {
		n++
		line := strings.Trim(sc.Text(), " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		kw, rest := cutBlank(line)
		switch kw {
		case "user":
			switch {
			case rest == "":
				return fail("user without a name", nil)
			case !utf8.ValidString(rest) || strings.IndexByte(rest, 0) >= 0:
				return fail("user name "+strconv.Quote(rest)+" is not UTF-8 without U+0000", nil)
			}
			user = rest
			continue
		case "topic", "pattern":
		default:
			return fail("unknown keyword "+strconv.Quote(kw)+"; want user, topic or pattern", nil)
		}
		word, filter := cutBlank(rest)
		var access Access
		switch {
		case word == "":
			return fail(kw+" without a filter", nil)
		case filter == "":
			if _, isAccess := accessWords[word]; isAccess {
				return fail(kw+" "+word+" without a filter", nil)
			}
			access, filter = ReadWrite, word
		default:
			var isAccess bool
			if access, isAccess = accessWords[word]; !isAccess {
				return fail("unknown access "+strconv.Quote(word)+"; want read, write, readwrite or deny (a filter with blanks needs one)", nil)
			}
		}
		rule, err := newRule(filter, kw == "pattern")
		if err != nil {
			re := err.(*ruleError)
			return fail(re.reason, re.err)
		}
		t.add(user, kw == "pattern", access, rule)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			n++
			return fail("line longer than "+strconv.Itoa(maxACLLine)+" bytes", nil)
		}
		return nil, err
	}
	a := NewACL()
	a.tab.Store(t)
	return a, nil
}

// accessWords are the access words of an ACL file; 0 is deny.
var accessWords = map[string]Access{"read": Read, "write": Write, "readwrite": ReadWrite, "deny": 0}

// cutBlank splits s at its first run of spaces and tabs; s has no leading
// or trailing blanks.
func cutBlank(s string) (word, rest string) {
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}
