package main

import (
	"strconv"
	"time"
)

// strftimeLetters are the conversions of strftime(3) that sub -F takes
// after '@', as glibc's strftime prints them in the C locale.
const strftimeLetters = "aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%"

// appendStrftime appends what strftime's %c prints for t, in the C locale;
// c is one of strftimeLetters.
func appendStrftime(b []byte, c byte, t time.Time) []byte {
	switch c {
	case 'a':
		return append(b, t.Weekday().String()[:3]...)
	case 'A':
		return append(b, t.Weekday().String()...)
	case 'b', 'h':
		return append(b, t.Month().String()[:3]...)
	case 'B':
		return append(b, t.Month().String()...)
	case 'c': // "%a %b %e %H:%M:%S %Y"
		b = appendStrftime(b, 'a', t)
		b = append(b, ' ')
		b = appendStrftime(b, 'b', t)
		b = append(b, ' ')
		b = appendStrftime(b, 'e', t)
		b = append(b, ' ')
		b = appendStrftime(b, 'T', t)
		b = append(b, ' ')
		return strconv.AppendInt(b, int64(t.Year()), 10)
	case 'C':
		return appendPadded(b, int64(t.Year()/100), 2)
	case 'd':
		return appendPadded(b, int64(t.Day()), 2)
	case 'D', 'x': // "%m/%d/%y"
		b = appendPadded(b, int64(t.Month()), 2)
		b = append(b, '/')
		b = appendPadded(b, int64(t.Day()), 2)
		b = append(b, '/')
		return appendPadded(b, int64(t.Year()%100), 2)
	case 'e':
		return appendSpacePadded(b, t.Day())
	case 'F': // "%Y-%m-%d"
		return t.AppendFormat(b, "2006-01-02")
	case 'g':
		y, _ := t.ISOWeek()
		return appendPadded(b, int64(y%100), 2)
	case 'G':
		y, _ := t.ISOWeek()
		return strconv.AppendInt(b, int64(y), 10)
	case 'H':
		return appendPadded(b, int64(t.Hour()), 2)
	case 'I':
		return appendPadded(b, int64(hour12(t)), 2)
	case 'j':
		return appendPadded(b, int64(t.YearDay()), 3)
	case 'k':
		return appendSpacePadded(b, t.Hour())
	case 'l':
		return appendSpacePadded(b, hour12(t))
	case 'm':
		return appendPadded(b, int64(t.Month()), 2)
	case 'M':
		return appendPadded(b, int64(t.Minute()), 2)
	case 'n':
		return append(b, '\n')
	case 'p':
		if t.Hour() < 12 {
			return append(b, "AM"...)
		}
		return append(b, "PM"...)
	case 'P':
		if t.Hour() < 12 {
			return append(b, "am"...)
		}
		return append(b, "pm"...)
	case 'r': // "%I:%M:%S %p"
		b = appendStrftime(b, 'I', t)
		b = append(b, ':')
		b = appendStrftime(b, 'M', t)
		b = append(b, ':')
		b = appendStrftime(b, 'S', t)
		b = append(b, ' ')
		return appendStrftime(b, 'p', t)
	case 'R':
		return t.AppendFormat(b, "15:04")
	case 's':
		return strconv.AppendInt(b, t.Unix(), 10)
	case 'S':
		return appendPadded(b, int64(t.Second()), 2)
	case 't':
		return append(b, '\t')
	case 'T', 'X':
		return t.AppendFormat(b, "15:04:05")
	case 'u':
		return strconv.AppendInt(b, int64((int(t.Weekday())+6)%7+1), 10)
	case 'U': // weeks starting on Sunday; days before the first are week 0
		return appendPadded(b, int64((t.YearDay()-1+7-int(t.Weekday()))/7), 2)
	case 'V':
		_, w := t.ISOWeek()
		return appendPadded(b, int64(w), 2)
	case 'w':
		return strconv.AppendInt(b, int64(t.Weekday()), 10)
	case 'W': // weeks starting on Monday
		return appendPadded(b, int64((t.YearDay()-1+7-(int(t.Weekday())+6)%7)/7), 2)
	case 'y':
		return appendPadded(b, int64(t.Year()%100), 2)
	case 'Y':
		return strconv.AppendInt(b, int64(t.Year()), 10)
	case 'z':
		return t.AppendFormat(b, "-0700")
	case 'Z':
		name, _ := t.Zone()
		return append(b, name...)
	case '%':
		return append(b, '%')
	}
	return b
}

// hour12 is t's hour on a 12-hour clock, 1 to 12.
func hour12(t time.Time) int {
	if h := t.Hour() % 12; h != 0 {
		return h
	}
	return 12
}

// appendSpacePadded appends v, from 0 to 99, padded to two places with a
// space.
func appendSpacePadded(b []byte, v int) []byte {
	if v < 10 {
		b = append(b, ' ')
	}
	return strconv.AppendInt(b, int64(v), 10)
}
