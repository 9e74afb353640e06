package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/petrel-mqtt/petrel/session"
)

// The output of sub: the payload (the default), "topic payload" (-v), or
// a format of mosquitto_sub's -F. Each is appended to a buffer that the
// printer reuses, so that a message is one Write and, but for %J, no
// allocation.
//
// The rules are Mosquitto 2.0.11's (mosquitto_sub(1), OUTPUT FORMAT), down
// to its quirks, which TestFormatGolden compares byte for byte with the
// real mosquitto_sub: a width on %p is also its maximum, %x's width counts
// hex digits, "%-p" pads with as many spaces as the payload has bytes, and
// the MQTT v5 properties (%A %C %D %E %F %P %R %S), which a 3.1.1 message
// never has, print as mosquitto_sub prints them when absent.

// formatOp is one step of a parsed -F format.
type formatOp struct {
	kind  byte   // opLiteral, opPercent, opTime or opNanos
	lit   string // opLiteral: the bytes
	verb  byte   // opPercent: the letter after %; opTime: the strftime letter after @
	left  bool   // '-' flag: align left
	zero  bool   // '0' flag: pad with zeros
	width int
	prec  int // -1: none
}

const (
	opLiteral = iota
	opPercent
	opTime
	opNanos
)

// format is a parsed -F format string.
type format struct {
	ops      []formatOp
	needTime bool // some op prints the time
	needJSON bool // %J: payload parsed, so not allocation-free
}

// percentVerbs are the letters that may follow % in -F, flags and width
// aside: those mosquitto_sub 2.0.11 knows.
const percentVerbs = "%ACDEFIjJlmPpqRrStUxX"

// parseFormat parses s, the value of -F. It refuses what mosquitto_sub
// would print as nothing, an unknown specifier or escape, so that a typo
// is an error rather than a silent gap in the output.
func parseFormat(s string) (*format, error) {
	f := new(format)
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			f.ops = append(f.ops, formatOp{kind: opLiteral, lit: string(lit)})
			lit = lit[:0]
		}
	}
	n := len(s)
	for i := 0; i < n; i++ {
		switch c := s[i]; c {
		case '%':
			start := i
			if i == n-1 {
				return nil, formatErr(s, start, "a '%' ends the format: give a specifier after it, or %% for a '%'")
			}
			op := formatOp{kind: opPercent, prec: -1}
			i++
			// The flags, width and precision, parsed as mosquitto_sub
			// parses them: its loops stop before the last byte.
			if s[i] == '-' {
				op.left = true
				if i < n-1 {
					i++
				}
			}
			if s[i] == '0' {
				op.zero = true
				if i < n-1 {
					i++
				}
			}
			for i < n-1 && s[i] >= '0' && s[i] <= '9' {
				op.width = op.width*10 + int(s[i]-'0')
				if op.width > 1<<16 {
					return nil, formatErr(s, start, "a field width of more than 65536")
				}
				i++
			}
			if s[i] == '.' && i < n-1 {
				i++
				op.prec = 0
				for i < n-1 && s[i] >= '0' && s[i] <= '9' {
					op.prec = op.prec*10 + int(s[i]-'0')
					if op.prec > 1<<16 {
						return nil, formatErr(s, start, "a precision of more than 65536")
					}
					i++
				}
			}
			op.verb = s[i]
			if strings.IndexByte(percentVerbs, op.verb) < 0 {
				return nil, formatErr(s, start, fmt.Sprintf("unknown specifier %q: the specifiers are %%%% %%t %%p %%q %%r %%m %%l %%x %%X %%j %%J %%I %%U, and MQTT v5's %%A %%C %%D %%E %%F %%P %%R %%S (always empty in 3.1.1)", s[start:i+1]))
			}
			switch op.verb {
			case 'I', 'j', 'J', 'U':
				f.needTime = true
			}
			if op.verb == 'J' {
				f.needJSON = true
			}
			flush()
			f.ops = append(f.ops, op)
		case '@':
			if i == n-1 {
				return nil, formatErr(s, i, "an '@' ends the format: give a strftime letter after it (@Y, @H...), or @@ for an '@'")
			}
			i++
			switch v := s[i]; {
			case v == '@':
				lit = append(lit, '@')
			case v == 'N':
				flush()
				f.ops = append(f.ops, formatOp{kind: opNanos})
				f.needTime = true
			case strings.IndexByte(strftimeLetters, v) >= 0:
				flush()
				f.ops = append(f.ops, formatOp{kind: opTime, verb: v})
				f.needTime = true
			default:
				return nil, formatErr(s, i-1, fmt.Sprintf("unknown time conversion %q: the letters are those of strftime(3) (%s), @N for nanoseconds, @@ for an '@'", s[i-1:i+1], strftimeLetters))
			}
		case '\\':
			if i == n-1 {
				return nil, formatErr(s, i, `a '\' ends the format: give an escape after it (\n, \t, \e...), or \\ for a '\'`)
			}
			i++
			e := strings.IndexByte(`\0aenrtv`, s[i])
			if e < 0 {
				return nil, formatErr(s, i-1, fmt.Sprintf(`unknown escape %q: the escapes are \\ \0 \a \e \n \r \t \v`, s[i-1:i+1]))
			}
			lit = append(lit, "\\\x00\a\x1b\n\r\t\v"[e])
		default:
			lit = append(lit, c)
		}
	}
	flush()
	return f, nil
}

// formatErr is the usage error of a bad -F format, pointing at byte i.
func formatErr(s string, i int, why string) error {
	return usageErr("-F %q: at byte %d: %s", s, i+1, why)
}

// appendFormatted appends m as f formats it, at time now, pretty-printing
// JSON with --pretty. It returns an error only for %J when m's payload is
// not JSON; the rest of the format is appended all the same, as
// mosquitto_sub does.
func (f *format) appendFormatted(b []byte, m *session.Message, now time.Time, pretty bool) ([]byte, error) {
	var err error
	for i := range f.ops {
		op := &f.ops[i]
		switch op.kind {
		case opLiteral:
			b = append(b, op.lit...)
		case opTime:
			b = appendStrftime(b, op.verb, now)
		case opNanos:
			b = appendPadded(b, int64(now.Nanosecond()), 9)
		case opPercent:
			var jerr error
			b, jerr = op.appendPercent(b, m, now, pretty)
			if jerr != nil && err == nil {
				err = jerr
			}
		}
	}
	return b, err
}

// appendPercent appends what op, a % specifier, prints of m.
func (op *formatOp) appendPercent(b []byte, m *session.Message, now time.Time, pretty bool) ([]byte, error) {
	switch op.verb {
	case '%':
		b = append(b, '%')
	case 'A', 'E', 'F', 'S':
		// An absent v5 numeric property: width times the pad.
		pad := byte(' ')
		if op.zero {
			pad = '0'
		}
		b = appendRepeat(b, pad, op.width)
	case 'C':
		b = appendRepeat(b, ' ', op.width)
	case 'D', 'P', 'R':
		// Absent: nothing.
	case 'I':
		var buf [32]byte
		b = appendStr(op, b, now.AppendFormat(buf[:0], "2006-01-02T15:04:05-0700"))
	case 'j', 'J':
		return appendJSON(b, m, now, op.verb == 'j', pretty)
	case 'l':
		b = op.appendInt(b, int64(len(m.Payload)))
	case 'm':
		b = op.appendInt(b, int64(m.PacketID))
	case 'p':
		b = op.appendPayload(b, m.Payload, 0)
	case 'q':
		b = append(b, '0'+byte(m.QoS))
	case 'r':
		if m.Retain {
			b = append(b, '1')
		} else {
			b = append(b, '0')
		}
	case 't':
		b = appendStr(op, b, m.Topic)
	case 'U':
		b = strconv.AppendInt(b, now.Unix(), 10)
		b = append(b, '.')
		b = appendPadded(b, int64(now.Nanosecond()), 9)
	case 'x':
		b = op.appendPayload(b, m.Payload, 'x')
	case 'X':
		b = op.appendPayload(b, m.Payload, 'X')
	}
	return b, nil
}

// appendInt appends v as printf's "%d", "%-Nd", "%0Nd" or "%Nd".
func (op *formatOp) appendInt(b []byte, v int64) []byte {
	var buf [24]byte
	d := strconv.AppendInt(buf[:0], v, 10)
	switch {
	case op.width <= len(d):
		return append(b, d...)
	case op.left:
		b = append(b, d...)
		return appendRepeat(b, ' ', op.width-len(d))
	case op.zero:
		if d[0] == '-' {
			b = append(b, '-')
			d = d[1:]
			b = appendRepeat(b, '0', op.width-len(d)-1)
			return append(b, d...)
		}
		b = appendRepeat(b, '0', op.width-len(d))
		return append(b, d...)
	default:
		b = appendRepeat(b, ' ', op.width-len(d))
		return append(b, d...)
	}
}

// appendStr appends s as printf's "%-W.Ps": the precision truncates, the
// width pads with spaces, both in bytes.
func appendStr[S string | []byte](op *formatOp, b []byte, s S) []byte {
	if op.prec >= 0 && len(s) > op.prec {
		s = s[:op.prec]
	}
	pad := max(op.width-len(s), 0)
	if !op.left {
		b = appendRepeat(b, ' ', pad)
	}
	b = append(b, s...)
	if op.left {
		b = appendRepeat(b, ' ', pad)
	}
	return b
}

// appendPayload appends p raw (hex 0) or as hex digits ('x' or 'X'), as
// mosquitto_sub's write_payload does: a width is also the maximum, in
// bytes of p, halved for hex; right-aligned, the padding is the pad
// character; left-aligned, it is spaces, and without a width as many as p
// has bytes.
func (op *formatOp) appendPayload(b, p []byte, hex byte) []byte {
	n := len(p)
	var padlen int
	if op.width > 0 {
		n = min(n, op.width)
		if hex != 0 {
			n /= 2
			padlen = op.width - 2*n
		} else {
			padlen = op.width - n
		}
	} else {
		padlen = -n
	}
	if !op.left {
		pad := byte(' ')
		if op.zero {
			pad = '0'
		}
		b = appendRepeat(b, pad, padlen)
	}
	switch hex {
	case 0:
		b = append(b, p[:n]...)
	case 'x':
		for _, c := range p[:n] {
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
		}
	case 'X':
		for _, c := range p[:n] {
			b = append(b, "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&15])
		}
	}
	if op.left {
		b = appendRepeat(b, ' ', max(padlen, -padlen))
	}
	return b
}

// appendRepeat appends n copies of c; nothing if n <= 0.
func appendRepeat(b []byte, c byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, c)
	}
	return b
}

// appendPadded appends v, not negative, zero-padded to width digits.
func appendPadded(b []byte, v int64, width int) []byte {
	var buf [24]byte
	d := strconv.AppendInt(buf[:0], v, 10)
	b = appendRepeat(b, '0', width-len(d))
	return append(b, d...)
}

// appendPlain appends m as sub prints it without -F: the payload, or with
// verbose "topic payload"; then a newline unless noEOL. As mosquitto_sub
// does, an empty payload prints nothing at all, or with verbose
// "topic (null)" (nothing with noEOL either).
func appendPlain(b []byte, m *session.Message, verbose, noEOL bool) []byte {
	switch {
	case len(m.Payload) > 0:
		if verbose {
			b = append(b, m.Topic...)
			b = append(b, ' ')
		}
		b = append(b, m.Payload...)
		if !noEOL {
			b = append(b, '\n')
		}
	case verbose && !noEOL:
		b = append(b, m.Topic...)
		b = append(b, " (null)\n"...)
	}
	return b
}
