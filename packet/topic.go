package packet

import (
	"encoding/binary"
	"math/bits"
)

// Topic names and filters (section 4.7).

// ValidateTopicName reports whether topic may be the Topic Name of a PUBLISH
// or the Will Topic of a CONNECT: a non-empty [MQTT-4.7.3-1] UTF-8 string
// [MQTT-1.5.3-1] of at most 65,535 bytes [MQTT-4.7.3-3], without U+0000
// [MQTT-4.7.3-2] or wildcards [MQTT-3.3.2-2]. The error is a *ProtocolError.
func ValidateTopicName(topic string) error {
	return checkTopicNameSlow(TypePublish, "topic name", topic)
}

// ValidateTopicFilter reports whether filter may be a Topic Filter of a
// SUBSCRIBE or UNSUBSCRIBE: a topic that may hold '+' as a whole level
// [MQTT-4.7.1-3] and '#' as a whole last level [MQTT-4.7.1-2]. The error is
// a *ProtocolError.
func ValidateTopicFilter(filter string) error {
	return checkTopicFilterSlow(TypeSubscribe, "topic filter", filter)
}

// checkTopicName validates a topic name; the common case, plain ASCII, takes
// one pass over eight bytes at a time.
func checkTopicName(t Type, field string, s []byte) error {
	if len(s) != 0 && len(s) <= maxField && plainTopic(s) {
		return nil
	}
	return checkTopicNameSlow(t, field, s)
}

// checkTopicFilter validates a topic filter, fast for ASCII filters.
func checkTopicFilter(t Type, field string, s []byte) error {
	if len(s) != 0 && len(s) <= maxField && plainFilter(s) {
		return nil
	}
	return checkTopicFilterSlow(t, field, s)
}

// plainFilter reports whether s is ASCII without U+0000 and its wildcards
// stand where they may: '+' as a whole level [MQTT-4.7.1-3], '#' as the
// whole last level [MQTT-4.7.1-2]. It looks at eight bytes at a time and at
// single bytes only where a word holds a wildcard.
func plainFilter(s []byte) bool {
	n := len(s)
	if n < 8 {
		return plainShort(s, classWildcard) && wildcardsAt(s, 0, n)
	}
	for i := 0; i < n; i += 8 {
		i = min(i, n-8) // the last word overlaps the one before
		x := binary.LittleEndian.Uint64(s[i:])
		if (x|zeros(x))&msb != 0 {
			return false
		}
		for m := wildcards(x); m != 0; m &= m - 1 {
			if !wildcardAt(s, i+bits.TrailingZeros64(m)>>3) {
				return false
			}
		}
	}
	return true
}

// wildcardsAt checks the wildcards of s[from:to].
func wildcardsAt(s []byte, from, to int) bool {
	for i := from; i < to; i++ {
		if !wildcardAt(s, i) {
			return false
		}
	}
	return true
}

// wildcardAt reports whether s[i], if a wildcard, stands where it may.
func wildcardAt(s []byte, i int) bool {
	switch s[i] {
	case '+':
		return (i == 0 || s[i-1] == '/') && (i+1 == len(s) || s[i+1] == '/')
	case '#':
		return i == len(s)-1 && (i == 0 || s[i-1] == '/')
	}
	return true
}

func checkTopicNameSlow[T string | []byte](t Type, field string, s T) error {
	if len(s) == 0 {
		return perr(t, field, "MQTT-4.7.3-1", ErrEmptyTopic)
	}
	if len(s) > maxField {
		return perr(t, field, "MQTT-4.7.3-3", ErrFieldTooLong)
	}
	nonASCII := false
	for i := 0; i < len(s); i++ {
		switch byteClass[s[i]] {
		case classNull:
			return perr(t, field, "MQTT-4.7.3-2", ErrNullChar)
		case classWildcard:
			return perr(t, field, "MQTT-3.3.2-2", ErrWildcard)
		case classNonASCII:
			nonASCII = true
		}
	}
	if nonASCII && !validUTF8(s) {
		return perr(t, field, "MQTT-1.5.3-1", ErrUTF8)
	}
	return nil
}

func checkTopicFilterSlow[T string | []byte](t Type, field string, s T) error {
	if len(s) == 0 {
		return perr(t, field, "MQTT-4.7.3-1", ErrEmptyTopic)
	}
	if len(s) > maxField {
		return perr(t, field, "MQTT-4.7.3-3", ErrFieldTooLong)
	}
	nonASCII := false
	for i := 0; i < len(s); i++ {
		switch byteClass[s[i]] {
		case classNull:
			return perr(t, field, "MQTT-4.7.3-2", ErrNullChar)
		case classWildcard:
			levelStart := i == 0 || s[i-1] == '/'
			if s[i] == '#' {
				if !levelStart || i != len(s)-1 {
					return perr(t, field, "MQTT-4.7.1-2", ErrFilter)
				}
			} else if !levelStart || (i != len(s)-1 && s[i+1] != '/') {
				return perr(t, field, "MQTT-4.7.1-3", ErrFilter)
			}
		case classNonASCII:
			nonASCII = true
		}
	}
	if nonASCII && !validUTF8(s) {
		return perr(t, field, "MQTT-1.5.3-1", ErrUTF8)
	}
	return nil
}
