// Package topictree holds a trie of MQTT topic filter levels, the one that
// both the broker's subscription index and the client's router are built
// on, and the matching rules of section 4.7 of MQTT 3.1.1
// (https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html#_Toc398718106).
//
// A [Tree] maps each topic filter to a leaf of the caller's type: the
// broker keeps the sessions subscribed to a filter with their QoS, the
// client its handlers. [Tree.Match] calls back with the leaf of every
// filter that matches a topic name, without allocating. [Matches] is the
// same rule for one filter. The broker's retained messages live in a Tree
// too, keyed by topic name, where [Tree.Scan] finds those a new
// subscription's filter matches.
//
// The rules, all in [Matches], [Tree.Match] and [Tree.Scan]:
//   - '+' matches exactly one level, even an empty one (section 4.7.1.3);
//   - '#' as the last level matches any number of levels, none included,
//     so "a/#" matches "a" (section 4.7.1.2);
//   - levels are compared byte for byte, with no normalisation
//     [MQTT-4.7.3-4];
//   - a filter that starts with '+' or '#' does not match a topic name
//     that starts with '$' [MQTT-4.7.2-1].
//
// Filters are trusted to have been checked (packet.ValidateTopicFilter);
// a malformed one is stored and matched as best it can be, never with a
// panic: '#' other than as the last level, or "sport+", is an ordinary
// level.
//
// A Tree is not safe for concurrent use: its callers hold their own locks,
// a read lock being enough for [Tree.Find], [Tree.Match], [Tree.Scan] and
// [Tree.Walk].
package topictree
