package broker

import (
	"slices"
	"strings"
	"sync/atomic"

	"github.com/petrel-mqtt/petrel/packet"
)

// shareGroup is the group of a shared subscription, $share/NAME/FILTER,
// as Mosquitto has it for MQTT 3.1.1 clients too: each message that
// FILTER matches goes to one member, each in turn.
type shareGroup struct {
	name    string
	members []target
	next    atomic.Uint32 // taken under index.mu's read lock
}

// sharePrefix starts the filter of a shared subscription.
const sharePrefix = "$share/"

// sharedFilter splits a shared subscription's filter, $share/NAME/FILTER,
// into the group's name and the filter; ok is false for any other filter.
// NAME is not empty and holds no wildcard, FILTER is not empty.
func sharedFilter(f string) (name, filter string, ok bool) {
	rest, found := strings.CutPrefix(f, sharePrefix)
	if !found {
		return "", "", false
	}
	name, filter, ok = strings.Cut(rest, "/")
	if !ok || name == "" || filter == "" || strings.ContainsAny(name, "+#") {
		return "", "", false
	}
	return name, filter, true
}

// join adds s to group name at QoS q and reports whether it replaced the
// QoS of s's membership.
func (x *subscribers) join(name string, s *session, q packet.QoS) bool {
	var g *shareGroup
	for _, h := range x.groups {
		if h.name == name {
			g = h
		}
	}
	if g == nil {
		g = &shareGroup{name: name}
		x.groups = append(x.groups, g)
	}
	for i := range g.members {
		if g.members[i].s == s {
			g.members[i].qos = q
			return true
		}
	}
	g.members = append(g.members, target{s, q})
	return false
}

// leave removes s from group name and reports whether it was a member.
func (x *subscribers) leave(name string, s *session) bool {
	for gi, g := range x.groups {
		if g.name != name {
			continue
		}
		for i := range g.members {
			if g.members[i].s == s {
				g.members = slices.Delete(g.members, i, i+1)
				if len(g.members) == 0 {
					x.groups = slices.Delete(x.groups, gi, gi+1)
				}
				return true
			}
		}
	}
	return false
}
