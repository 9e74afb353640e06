package packet

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// utf8Cases are byte strings at the edges of well-formed UTF-8 (Unicode
// Table 3-7). Whether each is valid is left to unicode/utf8.Valid, which the
// test treats as the reference.
var utf8Cases = []struct {
	name string
	s    string
}{
	{"empty", ""},
	{"ascii", "sport/tennis"},
	{"U+0000", "\x00"},
	{"U+007F", "\x7f"},
	{"U+0080", "\xc2\x80"},
	{"U+07FF", "\xdf\xbf"},
	{"U+0800", "\xe0\xa0\x80"},
	{"U+0FFF", "\xe0\xbf\xbf"},
	{"U+1000", "\xe1\x80\x80"},
	{"U+CFFF", "\xec\xbf\xbf"},
	{"U+D000", "\xed\x80\x80"},
	{"U+D7FF", "\xed\x9f\xbf"},
	{"U+E000", "\xee\x80\x80"},
	{"U+FEFF", "\xef\xbb\xbf"},
	{"U+FFFD", "\xef\xbf\xbd"},
	{"U+FFFF", "\xef\xbf\xbf"},
	{"U+10000", "\xf0\x90\x80\x80"},
	{"U+3FFFF", "\xf0\xbf\xbf\xbf"},
	{"U+40000", "\xf1\x80\x80\x80"},
	{"U+FFFFF", "\xf3\xbf\xbf\xbf"},
	{"U+100000", "\xf4\x80\x80\x80"},
	{"U+10FFFF", "\xf4\x8f\xbf\xbf"},
	{"mixed", "a\xc2\x80b\xe0\xa0\x80c\xf0\x90\x80\x80d"},

	{"overlong C0 80", "\xc0\x80"},
	{"overlong C0 AF", "\xc0\xaf"},
	{"overlong C1 BF", "\xc1\xbf"},
	{"overlong E0 80 80", "\xe0\x80\x80"},
	{"overlong E0 9F BF", "\xe0\x9f\xbf"},
	{"overlong F0 80 80 80", "\xf0\x80\x80\x80"},
	{"overlong F0 8F BF BF", "\xf0\x8f\xbf\xbf"},
	{"surrogate ED A0 80", "\xed\xa0\x80"},
	{"surrogate ED AF BF", "\xed\xaf\xbf"},
	{"surrogate ED B0 80", "\xed\xb0\x80"},
	{"surrogate ED BF BF", "\xed\xbf\xbf"},
	{"surrogate pair", "\xed\xa0\xbd\xed\xb8\x80"},
	{"above U+10FFFF F4 90 80 80", "\xf4\x90\x80\x80"},
	{"F4 BF BF BF", "\xf4\xbf\xbf\xbf"},
	{"F5", "\xf5\x80\x80\x80"},
	{"F7", "\xf7\xbf\xbf\xbf"},
	{"F8 five bytes", "\xf8\x88\x80\x80\x80"},
	{"FC six bytes", "\xfc\x84\x80\x80\x80\x80"},
	{"FE", "\xfe"},
	{"FF", "\xff"},
	{"truncated C2", "\xc2"},
	{"truncated E0 A0", "\xe0\xa0"},
	{"truncated E1", "\xe1"},
	{"truncated F0 90 80", "\xf0\x90\x80"},
	{"truncated F4 8F", "\xf4\x8f"},
	{"truncated then ascii", "\xe1\x80a"},
	{"truncated at end", "abc\xf0\x90\x80"},
	{"bad continuation C2 41", "\xc2\x41"},
	{"bad continuation C2 C0", "\xc2\xc0"},
	{"bad third byte", "\xe1\x80\x41"},
	{"bad fourth byte", "\xf1\x80\x80\xc0"},
	{"lone 80", "\x80"},
	{"lone BF", "\xbf"},
	{"continuations", "\x80\x80\x80"},
	{"continuation after valid", "\xc2\x80\x80"},
	{"continuation after ascii", "a\x80"},
}

func TestValidUTF8Table(t *testing.T) {
	for _, c := range utf8Cases {
		want := utf8.ValidString(c.s)
		if got := validUTF8(c.s); got != want {
			t.Errorf("%s: validUTF8(string % x) = %v, want %v", c.name, c.s, got, want)
		}
		if got := validUTF8([]byte(c.s)); got != want {
			t.Errorf("%s: validUTF8([]byte % x) = %v, want %v", c.name, c.s, got, want)
		}
	}
}

// TestValidUTF8Boundaries checks every code point at the edge of an encoding
// length or of the surrogate range, and the code points of each encoding
// length's first and last lead byte.
func TestValidUTF8Boundaries(t *testing.T) {
	points := []rune{
		0, 0x7f, 0x80, 0x7ff, 0x800, 0xfff, 0x1000, 0xcfff, 0xd000, 0xd7ff,
		0xe000, 0xfeff, 0xfffd, 0xfffe, 0xffff, 0x10000, 0x3ffff, 0x40000,
		0xfffff, 0x100000, 0x10ffff,
	}
	for _, r := range points {
		b := utf8.AppendRune(nil, r)
		if !validUTF8(b) || !validUTF8(string(b)) {
			t.Errorf("U+%04X (% x): validUTF8 = false", r, b)
		}
		// Every proper prefix of a multi-byte sequence is ill-formed.
		for i := 1; i < len(b); i++ {
			if validUTF8(b[:i]) {
				t.Errorf("U+%04X prefix % x: validUTF8 = true", r, b[:i])
			}
		}
	}
	// Surrogates, encoded as if they were code points, are ill-formed.
	for r := 0xd800; r <= 0xdfff; r++ {
		b := []byte{0xe0 | byte(r>>12), 0x80 | byte(r>>6)&0x3f, 0x80 | byte(r)&0x3f}
		if validUTF8(b) {
			t.Fatalf("surrogate U+%04X (% x): validUTF8 = true", r, b)
		}
	}
}

func TestValidUTF8Random(t *testing.T) {
	rng := rand.New(rand.NewPCG(0x5eed, 1311))
	// Bytes drawn mostly from the interesting ranges: lead bytes,
	// continuation bytes and the values that border them.
	pool := []byte{0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1,
		0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff}
	b := make([]byte, 0, 16)
	for i := 0; i < 200_000; i++ {
		b = b[:0]
		n := rng.IntN(13)
		for j := 0; j < n; j++ {
			if rng.IntN(4) == 0 {
				b = append(b, byte(rng.UintN(256)))
			} else {
				b = append(b, pool[rng.IntN(len(pool))])
			}
		}
		want := utf8.Valid(b)
		if got := validUTF8(b); got != want {
			t.Fatalf("validUTF8(% x) = %v, want %v", b, got, want)
		}
		if got := validUTF8(string(b)); got != want {
			t.Fatalf("validUTF8(string % x) = %v, want %v", b, got, want)
		}
	}
}

// wantRule fails t unless err is a *ProtocolError with the rule and sentinel.
func wantRule(t *testing.T, what string, err error, rule string, sentinel error) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Errorf("%s: error %v, want a *ProtocolError with rule %s", what, err, rule)
		return
	}
	if pe.Rule != rule {
		t.Errorf("%s: rule %q, want %q (error %v)", what, pe.Rule, rule, err)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("%s: error %v does not match %v", what, err, sentinel)
	}
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("%s: error %v does not match ErrMalformed", what, err)
	}
}

func TestCheckString(t *testing.T) {
	valid := []string{"", "client-1", "\uFEFF", "\uFEFFid", "a\uFEFFb", "\u00e9\u4e2d\U0001F600", "+/#", strings.Repeat("x", maxField)}
	for _, s := range valid {
		if err := checkString(TypeConnect, "client identifier", []byte(s)); err != nil {
			t.Errorf("checkString(%q) = %v", truncate(s), err)
		}
	}

	invalid := []struct {
		s        string
		rule     string
		sentinel error
	}{
		{"\x00", "MQTT-1.5.3-2", ErrNullChar},
		{"abc\x00", "MQTT-1.5.3-2", ErrNullChar},
		{"\x00\xff", "MQTT-1.5.3-2", ErrNullChar},
		{"\xc0\x80", "MQTT-1.5.3-1", ErrUTF8},
		{"\xed\xa0\x80", "MQTT-1.5.3-1", ErrUTF8},
		{"\xf4\x90\x80\x80", "MQTT-1.5.3-1", ErrUTF8},
		{"id\xe1\x80", "MQTT-1.5.3-1", ErrUTF8},
		{"\x80", "MQTT-1.5.3-1", ErrUTF8},
		{strings.Repeat("x", maxField+1), "1.5.3", ErrFieldTooLong},
	}
	for _, c := range invalid {
		err := checkString(TypeConnect, "user name", []byte(c.s))
		wantRule(t, "checkString "+truncate(c.s), err, c.rule, c.sentinel)
		var pe *ProtocolError
		if errors.As(err, &pe) && (pe.Type != TypeConnect || pe.Field != "user name") {
			t.Errorf("checkString(%q): type %v field %q, want CONNECT user name", truncate(c.s), pe.Type, pe.Field)
		}
	}
}

// TestBOMKept checks that a U+FEFF at the start of a string survives an
// encode and a decode unchanged [MQTT-1.5.3-3].
func TestBOMKept(t *testing.T) {
	in := &Connect{ClientID: []byte("\uFEFFclient"), CleanSession: true}
	b, err := in.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	var out Connect
	if _, err := out.Decode(b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.ClientID, in.ClientID) {
		t.Errorf("client identifier % x, want % x", out.ClientID, in.ClientID)
	}
	if err := ValidateTopicName("\uFEFFsport"); err != nil {
		t.Errorf("ValidateTopicName with U+FEFF: %v", err)
	}
}

func truncate(s string) string {
	if len(s) > 16 {
		return s[:16] + "..."
	}
	return s
}

// remainingLengthTable is Table 2.4 of section 2.2.3.
var remainingLengthTable = []struct {
	n    int
	wire []byte
}{
	{0, []byte{0x00}},
	{127, []byte{0x7f}},
	{128, []byte{0x80, 0x01}},
	{16383, []byte{0xff, 0x7f}},
	{16384, []byte{0x80, 0x80, 0x01}},
	{2097151, []byte{0xff, 0xff, 0x7f}},
	{2097152, []byte{0x80, 0x80, 0x80, 0x01}},
	{268435455, []byte{0xff, 0xff, 0xff, 0x7f}},
}

func TestRemainingLengthTable(t *testing.T) {
	for _, c := range remainingLengthTable {
		if got := appendRemainingLength(nil, c.n); !bytes.Equal(got, c.wire) {
			t.Errorf("appendRemainingLength(%d) = % x, want % x", c.n, got, c.wire)
		}
		if got := appendRemainingLength([]byte{0xAA}, c.n); !bytes.Equal(got, append([]byte{0xAA}, c.wire...)) {
			t.Errorf("appendRemainingLength(prefix, %d) = % x", c.n, got)
		}
		if got := sizeRemainingLength(c.n); got != len(c.wire) {
			t.Errorf("sizeRemainingLength(%d) = %d, want %d", c.n, got, len(c.wire))
		}
		n, size, err := consumeRemainingLength(c.wire)
		if err != nil || n != c.n || size != len(c.wire) {
			t.Errorf("consumeRemainingLength(% x) = %d, %d, %v; want %d, %d, nil", c.wire, n, size, err, c.n, len(c.wire))
		}
		// Bytes after the field are left alone.
		n, size, err = consumeRemainingLength(append(append([]byte{}, c.wire...), 0xff, 0x00))
		if err != nil || n != c.n || size != len(c.wire) {
			t.Errorf("consumeRemainingLength(% x + trailer) = %d, %d, %v", c.wire, n, size, err)
		}
		// Every proper prefix ends inside the field.
		for i := 0; i < len(c.wire); i++ {
			if _, _, err := consumeRemainingLength(c.wire[:i]); err != io.ErrUnexpectedEOF {
				t.Errorf("consumeRemainingLength(% x) error %v, want io.ErrUnexpectedEOF", c.wire[:i], err)
			}
		}
	}
	if MaxRemainingLength != 268435455 {
		t.Errorf("MaxRemainingLength = %d", MaxRemainingLength)
	}
}

func TestRemainingLengthRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 10_000; i++ {
		v := rng.IntN(MaxRemainingLength + 1)
		if i < 64 {
			v = 1<<(i%28) - i/28 // powers of two and their neighbours
		}
		if v < 0 {
			continue
		}
		b := appendRemainingLength(nil, v)
		if len(b) != sizeRemainingLength(v) {
			t.Fatalf("%d: encoded in %d bytes, size says %d", v, len(b), sizeRemainingLength(v))
		}
		n, size, err := consumeRemainingLength(b)
		if err != nil || n != v || size != len(b) {
			t.Fatalf("%d: consumeRemainingLength(% x) = %d, %d, %v", v, b, n, size, err)
		}
	}
}

func TestRemainingLengthRefused(t *testing.T) {
	for _, b := range [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0x7f}, // a fifth byte
		{0x80, 0x80, 0x80, 0x80, 0x01},
		{0xff, 0xff, 0xff, 0xff}, // the fourth byte says more follows
		{0x80, 0x80, 0x80, 0x80},
	} {
		_, _, err := consumeRemainingLength(b)
		wantRule(t, "consumeRemainingLength", err, "2.2.3", ErrRemainingLength)
	}
	for _, b := range [][]byte{nil, {}, {0x80}, {0xff, 0xff}, {0x80, 0x80, 0x80}} {
		if _, _, err := consumeRemainingLength(b); err != io.ErrUnexpectedEOF {
			t.Errorf("consumeRemainingLength(% x) error %v, want io.ErrUnexpectedEOF", b, err)
		}
	}
	// A non-minimal encoding is accepted, as documented.
	if n, size, err := consumeRemainingLength([]byte{0x80, 0x00}); n != 0 || size != 2 || err != nil {
		t.Errorf("consumeRemainingLength(80 00) = %d, %d, %v", n, size, err)
	}
}

func TestCheckRemainingLength(t *testing.T) {
	for _, typ := range []Type{TypePublish, TypeSubscribe, TypeSuback, TypeUnsubscribe, TypeConnect} {
		if err := checkRemainingLength(typ, MaxRemainingLength); err != nil {
			t.Errorf("%v: checkRemainingLength(max) = %v", typ, err)
		}
		err := checkRemainingLength(typ, MaxRemainingLength+1)
		var pe *ProtocolError
		if !errors.As(err, &pe) || pe.Type != typ {
			t.Fatalf("%v: checkRemainingLength(max+1) = %v, want a *ProtocolError for the type", typ, err)
		}
		if !errors.Is(err, ErrPacketTooLarge) {
			t.Errorf("%v: %v does not match ErrPacketTooLarge", typ, err)
		}
		if errors.Is(err, ErrMalformed) {
			t.Errorf("%v: %v matches ErrMalformed; a size fault is not one of form", typ, err)
		}
	}
}

var topicNameTests = []struct {
	topic    string
	rule     string // "" if valid
	sentinel error
}{
	{"sport/tennis/player1", "", nil},
	{"sport/tennis/player1/ranking", "", nil},
	{"sport", "", nil},
	{"/", "", nil},
	{"//", "", nil},
	{"/finance", "", nil},
	{"sport/", "", nil},
	{" ", "", nil},
	{"ACCOUNTS and Accounts", "", nil},
	{"$SYS/monitor/Clients", "", nil},
	{"\u00e9t\u00e9/\u4e2d\u6587/\U0001F600", "", nil},
	{"\uFEFF", "", nil},
	{strings.Repeat("a", 65535), "", nil},

	{"", "MQTT-4.7.3-1", ErrEmptyTopic},
	{"sport/+", "MQTT-3.3.2-2", ErrWildcard},
	{"+", "MQTT-3.3.2-2", ErrWildcard},
	{"#", "MQTT-3.3.2-2", ErrWildcard},
	{"sport/tennis/#", "MQTT-3.3.2-2", ErrWildcard},
	{"sport+", "MQTT-3.3.2-2", ErrWildcard},
	{"a#b", "MQTT-3.3.2-2", ErrWildcard},
	{"\x00", "MQTT-4.7.3-2", ErrNullChar},
	{"sport\x00tennis", "MQTT-4.7.3-2", ErrNullChar},
	{strings.Repeat("a", 65536), "MQTT-4.7.3-3", ErrFieldTooLong},
	{strings.Repeat("\u00e9", 32768), "MQTT-4.7.3-3", ErrFieldTooLong},
	{"sport/\xff", "MQTT-1.5.3-1", ErrUTF8},
	{"\xc0\x80", "MQTT-1.5.3-1", ErrUTF8},
	{"\xed\xa0\x80", "MQTT-1.5.3-1", ErrUTF8},
	{"a/\xe1\x80", "MQTT-1.5.3-1", ErrUTF8},
}

func TestValidateTopicName(t *testing.T) {
	for _, c := range topicNameTests {
		err := ValidateTopicName(c.topic)
		if c.rule == "" {
			if err != nil {
				t.Errorf("ValidateTopicName(%q) = %v, want nil", truncate(c.topic), err)
			}
			continue
		}
		wantRule(t, "ValidateTopicName("+truncate(c.topic)+")", err, c.rule, c.sentinel)
	}
}

var topicFilterTests = []struct {
	filter   string
	rule     string // "" if valid
	sentinel error
}{
	// Section 4.7.1.2 and 4.7.1.3.
	{"sport/tennis/player1/#", "", nil},
	{"sport/#", "", nil},
	{"#", "", nil},
	{"sport/tennis/#", "", nil},
	{"+", "", nil},
	{"+/tennis/#", "", nil},
	{"sport/+/player1", "", nil},
	{"sport/tennis/+", "", nil},
	{"+/+", "", nil},
	{"/+", "", nil},
	{"+/", "", nil},
	{"/#", "", nil},
	{"+/+/#", "", nil},
	{"$SYS/#", "", nil},
	{"$SYS/monitor/+", "", nil},
	{"/", "", nil},
	{"sport", "", nil},
	{"a b/c", "", nil},
	{"\u4e2d/+/\U0001F600/#", "", nil},
	{strings.Repeat("a", 65535), "", nil},
	{strings.Repeat("a", 65533) + "/#", "", nil},

	{"", "MQTT-4.7.3-1", ErrEmptyTopic},
	{"sport/tennis#", "MQTT-4.7.1-2", ErrFilter},
	{"sport/tennis/#/ranking", "MQTT-4.7.1-2", ErrFilter},
	{"#/", "MQTT-4.7.1-2", ErrFilter},
	{"##", "MQTT-4.7.1-2", ErrFilter},
	{"a/#b", "MQTT-4.7.1-2", ErrFilter},
	{"#+", "MQTT-4.7.1-2", ErrFilter},
	{"sport+", "MQTT-4.7.1-3", ErrFilter},
	{"+sport", "MQTT-4.7.1-3", ErrFilter},
	{"sport/+tennis", "MQTT-4.7.1-3", ErrFilter},
	{"sport/tennis+/x", "MQTT-4.7.1-3", ErrFilter},
	{"++", "MQTT-4.7.1-3", ErrFilter},
	{"+#", "MQTT-4.7.1-3", ErrFilter},
	{"\x00", "MQTT-4.7.3-2", ErrNullChar},
	{"sport/\x00/#", "MQTT-4.7.3-2", ErrNullChar},
	{strings.Repeat("a", 65536), "MQTT-4.7.3-3", ErrFieldTooLong},
	{strings.Repeat("a", 65535) + "#", "MQTT-4.7.3-3", ErrFieldTooLong},
	{"sport/\xff/#", "MQTT-1.5.3-1", ErrUTF8},
	{"\xed\xbf\xbf", "MQTT-1.5.3-1", ErrUTF8},
	{"+/\xf4\x90\x80\x80", "MQTT-1.5.3-1", ErrUTF8},
}

func TestValidateTopicFilter(t *testing.T) {
	for _, c := range topicFilterTests {
		err := ValidateTopicFilter(c.filter)
		if c.rule == "" {
			if err != nil {
				t.Errorf("ValidateTopicFilter(%q) = %v, want nil", truncate(c.filter), err)
			}
			continue
		}
		wantRule(t, "ValidateTopicFilter("+truncate(c.filter)+")", err, c.rule, c.sentinel)
	}
	// Every valid topic name is a valid topic filter.
	for _, c := range topicNameTests {
		if c.rule == "" {
			if err := ValidateTopicFilter(c.topic); err != nil {
				t.Errorf("valid name %q is refused as a filter: %v", truncate(c.topic), err)
			}
		}
	}
}

// TestTopicChecksAgree checks, on random short byte strings, that the checks
// used on packet fields ([]byte) agree with ValidateTopicName and
// ValidateTopicFilter (string), rule for rule, and with a model of the rules
// built from strings.Split.
func TestTopicChecksAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 4242))
	alphabet := []byte{'a', 'b', '/', '/', '+', '#', ' ', '$', 0x00, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff, 0x80}
	b := make([]byte, 0, 32)
	for i := 0; i < 100_000; i++ {
		b = b[:0]
		n := rng.IntN(26)
		plain := rng.IntN(3) == 0 // mostly plain ASCII, to exercise the fast path
		for j := 0; j < n; j++ {
			if plain && rng.IntN(16) != 0 {
				b = append(b, 'a'+byte(rng.IntN(26)))
			} else {
				b = append(b, alphabet[rng.IntN(len(alphabet))])
			}
		}
		s := string(b)

		fast, slow := checkTopicName(TypePublish, "topic name", b), ValidateTopicName(s)
		if ruleOf(fast) != ruleOf(slow) {
			t.Fatalf("topic name % x: checkTopicName rule %q, ValidateTopicName rule %q", b, ruleOf(fast), ruleOf(slow))
		}
		if (fast == nil) != modelTopicName(s) {
			t.Fatalf("topic name %q: error %v, model says valid=%v", s, fast, modelTopicName(s))
		}

		fast, slow = checkTopicFilter(TypeSubscribe, "topic filter", b), ValidateTopicFilter(s)
		if ruleOf(fast) != ruleOf(slow) {
			t.Fatalf("topic filter % x: checkTopicFilter rule %q, ValidateTopicFilter rule %q", b, ruleOf(fast), ruleOf(slow))
		}
		if (fast == nil) != modelTopicFilter(s) {
			t.Fatalf("topic filter %q: error %v, model says valid=%v", s, fast, modelTopicFilter(s))
		}

		err := checkString(TypeConnect, "client identifier", b)
		want := ""
		if strings.IndexByte(s, 0) >= 0 {
			want = "MQTT-1.5.3-2"
		} else if !utf8.ValidString(s) {
			want = "MQTT-1.5.3-1"
		}
		if ruleOf(err) != want {
			t.Fatalf("checkString(% x) = %v, want rule %q", b, err, want)
		}
	}
}

func ruleOf(err error) string {
	if err == nil {
		return ""
	}
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		return "not a *ProtocolError: " + err.Error()
	}
	return pe.Rule
}

func modelTopicName(s string) bool {
	return s != "" && len(s) <= 65535 && utf8.ValidString(s) && !strings.ContainsAny(s, "\x00+#")
}

func modelTopicFilter(s string) bool {
	if s == "" || len(s) > 65535 || !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return false
	}
	levels := strings.Split(s, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return false
		}
		if strings.Contains(l, "+") && l != "+" {
			return false
		}
	}
	return true
}
