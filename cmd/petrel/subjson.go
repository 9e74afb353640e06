package main

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/petrel-mqtt/petrel/session"
)

// sub -F %j and %J print a message as a JSON object, the way
// mosquitto_sub 2.0.11 does with cJSON:
//
//	{"tst":"2020-05-06T22:12:00.000000Z+0100","topic":"greeting","qos":1,"retain":0,"payloadlen":5,"mid":3,"payload":"hello"}
//
// tst is the local time, with its odd 'Z' before the offset; mid is there
// for QoS 1 and 2 only. With %j the payload is a string, up to its first
// zero byte (cJSON's strings end there), or null when empty; with %J it
// is the payload parsed as JSON and printed again as cJSON prints it
// (numbers as %d or %.15g, strings re-escaped), and a payload that is not
// JSON prints nothing and an error. --pretty indents as cJSON_Print: a
// tab per level, a tab after each ':', ", " between array elements.

// errNotJSON is the error of %J for a payload that is not JSON.
var errNotJSON = errors.New("payload is not valid JSON")

// jsonWriter appends JSON as cJSON prints it, compact or pretty.
type jsonWriter struct {
	b      []byte
	pretty bool
}

// openObject starts an object at depth (0 for the outermost).
func (w *jsonWriter) openObject() {
	w.b = append(w.b, '{')
	if w.pretty {
		w.b = append(w.b, '\n')
	}
}

// key starts the member number n (from 0) of an object at depth.
func (w *jsonWriter) key(depth, n int, k string) {
	if n > 0 {
		w.b = append(w.b, ',')
		if w.pretty {
			w.b = append(w.b, '\n')
		}
	}
	if w.pretty {
		w.b = appendRepeat(w.b, '\t', depth+1)
	}
	w.b = appendCJSONString(w.b, k)
	w.b = append(w.b, ':')
	if w.pretty {
		w.b = append(w.b, '\t')
	}
}

// closeObject ends an object at depth that has n members.
func (w *jsonWriter) closeObject(depth, n int) {
	if w.pretty {
		if n > 0 {
			w.b = append(w.b, '\n')
		}
		w.b = appendRepeat(w.b, '\t', depth)
	}
	w.b = append(w.b, '}')
}

// element starts the element number n of an array.
func (w *jsonWriter) element(n int) {
	if n > 0 {
		w.b = append(w.b, ',')
		if w.pretty {
			w.b = append(w.b, ' ')
		}
	}
}

// appendJSON appends m as %j (escaped) or %J prints it at time now.
func appendJSON(b []byte, m *session.Message, now time.Time, escaped, pretty bool) ([]byte, error) {
	start := len(b)
	w := jsonWriter{b: b, pretty: pretty}
	w.openObject()
	w.key(0, 0, "tst")
	w.b = append(w.b, '"')
	w.b = now.AppendFormat(w.b, "2006-01-02T15:04:05.000000Z-0700")
	w.b = append(w.b, '"')
	w.key(0, 1, "topic")
	w.b = appendCJSONString(w.b, m.Topic)
	w.key(0, 2, "qos")
	w.b = strconv.AppendInt(w.b, int64(m.QoS), 10)
	w.key(0, 3, "retain")
	if m.Retain {
		w.b = append(w.b, '1')
	} else {
		w.b = append(w.b, '0')
	}
	w.key(0, 4, "payloadlen")
	w.b = strconv.AppendInt(w.b, int64(len(m.Payload)), 10)
	n := 5
	if m.QoS > 0 {
		w.key(0, n, "mid")
		w.b = strconv.AppendInt(w.b, int64(m.PacketID), 10)
		n++
	}
	w.key(0, n, "payload")
	n++
	switch {
	case len(m.Payload) == 0:
		w.b = append(w.b, "null"...)
	case escaped:
		p := m.Payload
		if i := bytes.IndexByte(p, 0); i >= 0 {
			p = p[:i]
		}
		w.b = appendCJSONString(w.b, p)
	default:
		if err := w.reprint(m.Payload, 1); err != nil {
			return b[:start], err
		}
	}
	w.closeObject(0, n)
	return w.b, nil
}

// reprint appends the JSON value p, alone but for white space, as cJSON
// prints it, at depth. It parses as cJSON does, leniently: any byte up to
// ' ' is white space, a number is what strtod(3) reads (leading zeros,
// "1.", "-.5"), a string may hold raw control characters; nesting stops
// at 1000 levels.
func (w *jsonWriter) reprint(p []byte, depth int) error {
	if bytes.IndexByte(p, 0) >= 0 {
		return errNotJSON // cJSON reads up to the first zero byte
	}
	r := cjsonReader{p: p, w: w}
	r.space()
	if !r.value(depth) {
		return errNotJSON
	}
	r.space()
	if r.i != len(p) {
		return errNotJSON
	}
	return nil
}

// cjsonNesting is cJSON's CJSON_NESTING_LIMIT.
const cjsonNesting = 1000

// cjsonReader parses JSON as cJSON does, writing it to w as it goes.
type cjsonReader struct {
	p []byte
	i int
	w *jsonWriter
}

func (r *cjsonReader) space() {
	for r.i < len(r.p) && r.p[r.i] <= ' ' {
		r.i++
	}
}

// value parses and writes one value, at depth (the depth of the
// containers around it).
func (r *cjsonReader) value(depth int) bool {
	if r.i >= len(r.p) {
		return false
	}
	for _, lit := range [...]string{"null", "false", "true"} {
		if bytes.HasPrefix(r.p[r.i:], []byte(lit)) {
			r.w.b = append(r.w.b, lit...)
			r.i += len(lit)
			return true
		}
	}
	switch c := r.p[r.i]; {
	case c == '"':
		s, ok := r.str()
		if ok {
			r.w.b = appendCJSONString(r.w.b, s)
		}
		return ok
	case c == '-' || c >= '0' && c <= '9':
		return r.number()
	case c == '[' || c == '{':
		if depth >= cjsonNesting {
			return false
		}
		return r.container(c == '{', depth)
	}
	return false
}

// container parses and writes an array or an object.
func (r *cjsonReader) container(object bool, depth int) bool {
	r.i++ // '[' or '{'
	end := byte(']')
	if object {
		end = '}'
		r.w.openObject()
	} else {
		r.w.b = append(r.w.b, '[')
	}
	r.space()
	n := 0
	if r.i < len(r.p) && r.p[r.i] == end {
		r.i++
	} else {
		for {
			if object {
				r.space()
				if r.i >= len(r.p) || r.p[r.i] != '"' {
					return false
				}
				k, ok := r.str()
				if !ok {
					return false
				}
				r.w.key(depth, n, string(k))
				r.space()
				if r.i >= len(r.p) || r.p[r.i] != ':' {
					return false
				}
				r.i++
			} else {
				r.w.element(n)
			}
			n++
			r.space()
			if !r.value(depth + 1) {
				return false
			}
			r.space()
			if r.i >= len(r.p) {
				return false
			}
			if c := r.p[r.i]; c == ',' {
				r.i++
				continue
			} else if c != end {
				return false
			}
			r.i++
			break
		}
	}
	if object {
		r.w.closeObject(depth, n)
	} else {
		r.w.b = append(r.w.b, ']')
	}
	return true
}

// str parses a string at r.i, the opening quote, and returns it decoded.
func (r *cjsonReader) str() ([]byte, bool) {
	r.i++
	var s []byte
	for r.i < len(r.p) {
		c := r.p[r.i]
		r.i++
		switch c {
		case '"':
			return s, true
		case '\\':
			if r.i >= len(r.p) {
				return nil, false
			}
			e := r.p[r.i]
			r.i++
			switch e {
			case 'b':
				s = append(s, '\b')
			case 'f':
				s = append(s, '\f')
			case 'n':
				s = append(s, '\n')
			case 'r':
				s = append(s, '\r')
			case 't':
				s = append(s, '\t')
			case '"', '\\', '/':
				s = append(s, e)
			case 'u':
				cp, ok := r.hex4()
				if !ok {
					return nil, false
				}
				if cp >= 0xDC00 && cp <= 0xDFFF {
					return nil, false // a low surrogate first
				}
				if cp >= 0xD800 && cp <= 0xDBFF {
					if r.i+2 > len(r.p) || r.p[r.i] != '\\' || r.p[r.i+1] != 'u' {
						return nil, false
					}
					r.i += 2
					lo, ok := r.hex4()
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return nil, false
					}
					cp = 0x10000 + (cp-0xD800)<<10 + (lo - 0xDC00)
				}
				if cp == 0 {
					return nil, false
				}
				s = utf8.AppendRune(s, rune(cp))
			default:
				return nil, false
			}
		default:
			s = append(s, c)
		}
	}
	return nil, false
}

// hex4 reads the four hex digits of a \u escape.
func (r *cjsonReader) hex4() (uint32, bool) {
	if r.i+4 > len(r.p) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(r.p[r.i:r.i+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	r.i += 4
	return uint32(v), true
}

// number parses a number as cJSON does, with strtod(3) on the run of
// number characters ([0-9+-.eE]), and writes it.
func (r *cjsonReader) number() bool {
	n := strtodPrefix(r.p[r.i:])
	if n == 0 {
		return false
	}
	d, err := strconv.ParseFloat(string(r.p[r.i:r.i+n]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return false
	}
	r.i += n
	r.w.b = appendCJSONNumber(r.w.b, d)
	return true
}

// strtodPrefix returns the length of the decimal number that strtod(3)
// reads at the start of p: a sign, digits with at most one '.', at least
// one digit, then an exponent if it has digits; 0 if none.
func strtodPrefix(p []byte) int {
	i := 0
	if i < len(p) && (p[i] == '-' || p[i] == '+') {
		i++
	}
	digits := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
		digits++
	}
	if i < len(p) && p[i] == '.' {
		i++
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0
	}
	if i < len(p) && (p[i] == 'e' || p[i] == 'E') {
		j := i + 1
		if j < len(p) && (p[j] == '-' || p[j] == '+') {
			j++
		}
		if j < len(p) && p[j] >= '0' && p[j] <= '9' {
			for j < len(p) && p[j] >= '0' && p[j] <= '9' {
				j++
			}
			i = j
		}
	}
	return i
}

// appendCJSONString appends s quoted as cJSON quotes it: '"', '\\' and
// the control characters escaped (\b \f \n \r \t, else \u00xx), every
// other byte as it is.
func appendCJSONString[S string | []byte](b []byte, s S) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if c < 0x20 {
				b = append(b, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, '"')
}

// appendCJSONNumber appends n as cJSON prints a number: a whole number
// within a C int as such, else %1.15g, or %1.17g if 15 digits do not
// give the number back within a relative epsilon (0.30000000000000004
// prints as 0.3); infinities (1e999) as null; negative zero as -0.
func appendCJSONNumber(b []byte, d float64) []byte {
	if math.IsInf(d, 0) || math.IsNaN(d) {
		return append(b, "null"...)
	}
	i := int64(math.MaxInt32)
	switch {
	case d >= math.MaxInt32:
	case d <= math.MinInt32:
		i = math.MinInt32
	default:
		i = int64(d)
	}
	if d == float64(i) && !math.Signbit(d) || d == 0 {
		if d == 0 && math.Signbit(d) {
			return append(b, "-0"...) // as mosquitto_sub 2.0.11 prints -0 and -0.0
		}
		return strconv.AppendInt(b, i, 10)
	}
	s := strconv.FormatFloat(d, 'g', 15, 64)
	// cJSON's compare_double: equal within a relative epsilon.
	if back, _ := strconv.ParseFloat(s, 64); math.Abs(back-d) > max(math.Abs(back), math.Abs(d))*0x1p-52 {
		s = strconv.FormatFloat(d, 'g', 17, 64)
	}
	return append(b, s...)
}
