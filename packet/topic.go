package packet

import "bytes"

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
	if len(s) != 0 && len(s) <= maxField && plainASCII(s) && wildcardsPlaced(s) {
		return nil
	}
	return checkTopicFilterSlow(t, field, s)
}

// wildcardsPlaced reports whether every '+' of the filter s is a whole
// level [MQTT-4.7.1-3] and a '#' can only be the whole last level
// [MQTT-4.7.1-2].
func wildcardsPlaced(s []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(s[i:], '+')
		if j < 0 {
			break
		}
		i += j
		if (i > 0 && s[i-1] != '/') || (i+1 < len(s) && s[i+1] != '/') {
			return false
		}
		i++
	}
	if i := bytes.IndexByte(s, '#'); i >= 0 {
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
