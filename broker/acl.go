package broker

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/petrel-mqtt/petrel/packet"
)

// Access is what an ACL rule allows on its topic filter.
type Access uint8

// Access rights.
const (
	Read      Access = 1 << iota // subscribe (and so receive)
	Write                        // publish
	ReadWrite = Read | Write
)

// ACL is an Authorizer of per-user rules, each a topic filter with read,
// write or readwrite access. Anything no rule allows is denied: a
// subscription to a filter that no read rule covers gets return code 0x80,
// and a PUBLISH to a topic that no write rule matches is acknowledged and
// dropped.
//
// A read rule allows subscribing to any filter that matches only topics
// the rule's filter matches: "a/#" allows "a/b" and "a/+/c", not "#". A
// rule whose filter starts with a wildcard allows no topic starting with
// '$' [MQTT-4.7.2-1]; grant "$SYS/#" explicitly.
//
// The file format (ReadACLFile) is Mosquitto's:
//
//	# comment
//	topic read $SYS/#            rules before any "user" line: anonymous clients
//	user alice
//	topic readwrite sensors/#    rules of alice
//	topic write alerts
//	pattern readwrite clients/%c/#   rules of every client; %c is its ClientId, %u its user name
//
// The access word may be omitted and means readwrite; the filter is the
// rest of the line. A pattern does not apply to a client whose ClientId or
// user name (whichever it uses) contains '/', '+' or '#', nor %u to a
// client without a user name. An ACL is safe for concurrent use.
type ACL struct {
	mu       sync.RWMutex
	users    map[string][]aclRule // "" holds the anonymous clients' rules
	patterns []aclRule
}

type aclRule struct {
	filter string
	access Access
}

// NewACL returns an ACL that denies everything.
func NewACL() *ACL { return &ACL{users: make(map[string][]aclRule)} }

// Allow grants access to filter to user; "" means clients without a user
// name.
func (a *ACL) Allow(user string, access Access, filter string) error {
	if err := checkRule(access, filter); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[user] = append(a.users[user], aclRule{filter, access})
	return nil
}

// AllowPattern grants access to filter, after substituting %c and %u, to
// every client.
func (a *ACL) AllowPattern(access Access, filter string) error {
	if err := checkRule(access, filter); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.patterns = append(a.patterns, aclRule{filter, access})
	return nil
}

func checkRule(access Access, filter string) error {
	if access == 0 || access > ReadWrite {
		return fmt.Errorf("mqtt: ACL: invalid access %d", access)
	}
	if err := packet.ValidateTopicFilter(filter); err != nil {
		return fmt.Errorf("mqtt: ACL: filter %q: %w", filter, err)
	}
	return nil
}

// CanPublish implements Authorizer.
func (a *ACL) CanPublish(id Identity, topic string) bool {
	return a.allows(id, Write, func(f string) bool { return matchTopic(f, topic) })
}

// CanSubscribe implements Authorizer.
func (a *ACL) CanSubscribe(id Identity, filter string) bool {
	return a.allows(id, Read, func(f string) bool { return covers(f, filter) })
}

func (a *ACL) allows(id Identity, want Access, ok func(filter string) bool) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, r := range a.users[id.Username] {
		if r.access&want != 0 && ok(r.filter) {
			return true
		}
	}
	for _, r := range a.patterns {
		if r.access&want == 0 {
			continue
		}
		if f, valid := substitute(r.filter, id); valid && ok(f) {
			return true
		}
	}
	return false
}

// substitute replaces %c and %u in a pattern's filter; it reports false
// if a value used is empty or holds a character that would change the
// filter's meaning.
func substitute(filter string, id Identity) (string, bool) {
	if !strings.Contains(filter, "%") {
		return filter, true
	}
	bad := func(v string) bool { return v == "" || strings.ContainsAny(v, "/+#") }
	if strings.Contains(filter, "%c") && bad(id.ClientID) || strings.Contains(filter, "%u") && bad(id.Username) {
		return "", false
	}
	return strings.NewReplacer("%c", id.ClientID, "%u", id.Username).Replace(filter), true
}

// ACLError reports a line of an ACL file that cannot be read.
type ACLError struct {
	Line   int
	Reason string
}

func (e *ACLError) Error() string {
	return "mqtt: ACL file line " + strconv.Itoa(e.Line) + ": " + e.Reason
}

// ReadACLFile reads an ACL file (see ACL). Errors are *ACLError for bad
// lines, or the os error.
func ReadACLFile(name string) (*ACL, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return ParseACL(bytes.NewReader(b))
}

// ParseACL reads an ACL file from r.
func ParseACL(r io.Reader) (*ACL, error) {
	a := NewACL()
	user := ""
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		kw, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch kw {
		case "user":
			if rest == "" {
				return nil, &ACLError{n, "user without a name"}
			}
			user = rest
			continue
		case "topic", "pattern":
		default:
			return nil, &ACLError{n, "unknown keyword " + strconv.Quote(kw) + "; want user, topic or pattern"}
		}
		access := ReadWrite
		word, filter, _ := strings.Cut(rest, " ")
		switch word {
		case "read":
			access = Read
		case "write":
			access = Write
		case "readwrite":
		default:
			filter = rest
		}
		filter = strings.TrimSpace(filter)
		var err error
		if kw == "topic" {
			err = a.Allow(user, access, filter)
		} else {
			err = a.AllowPattern(access, filter)
		}
		if err != nil {
			return nil, &ACLError{n, strings.TrimPrefix(err.Error(), "mqtt: ACL: ")}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return a, nil
}
