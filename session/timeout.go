package session

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ParseTimeout reads a timeout given as whole seconds (an integer type, or a
// float64), as a time.Duration, or as readable text: "10" (seconds), "10s",
// "1m30s", "10 s", "2 min", "1.5 seconds", "500 ms". It refuses negative
// values and text it cannot read, with an error that quotes the value.
func ParseTimeout(v any) (time.Duration, error) {
	switch v := v.(type) {
	case time.Duration:
		if v < 0 {
			return 0, fmt.Errorf("mqtt: timeout %v is negative", v)
		}
		return v, nil
	case int:
		return secondsOf(float64(v), v)
	case int64:
		return secondsOf(float64(v), v)
	case int32:
		return secondsOf(float64(v), v)
	case uint:
		return secondsOf(float64(v), v)
	case uint32:
		return secondsOf(float64(v), v)
	case uint64:
		return secondsOf(float64(v), v)
	case float64:
		return secondsOf(v, v)
	case string:
		return parseTimeoutText(v)
	}
	return 0, fmt.Errorf("mqtt: timeout of type %T: want seconds, a time.Duration or text such as \"10 s\"", v)
}

func secondsOf(s float64, orig any) (time.Duration, error) {
	if math.IsNaN(s) || s < 0 || s > float64(math.MaxInt64/int64(time.Second)) {
		return 0, fmt.Errorf("mqtt: timeout %v seconds is out of range", orig)
	}
	return time.Duration(s * float64(time.Second)), nil
}

var timeUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond,
	"ms": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
}

var errTimeoutText = errors.New(`want seconds ("10"), a Go duration ("1m30s") or a number and a unit ("10 s", "2 min")`)

func parseTimeoutText(text string) (time.Duration, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return 0, fmt.Errorf("mqtt: timeout %q: %w", text, errTimeoutText)
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return secondsOf(n, s)
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return 0, fmt.Errorf("mqtt: timeout %q is negative", text)
		}
		return d, nil
	}
	// A number, optional spaces, a unit word.
	i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || r == 'µ' })
	if i <= 0 {
		return 0, fmt.Errorf("mqtt: timeout %q: %w", text, errTimeoutText)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s[:i]), 64)
	unit, ok := timeUnits[strings.ToLower(strings.TrimSpace(s[i:]))]
	if err != nil || !ok {
		return 0, fmt.Errorf("mqtt: timeout %q: %w", text, errTimeoutText)
	}
	if math.IsNaN(n) || n < 0 || n*float64(unit) > math.MaxInt64 {
		return 0, fmt.Errorf("mqtt: timeout %q is out of range", text)
	}
	return time.Duration(n * float64(unit)), nil
}
