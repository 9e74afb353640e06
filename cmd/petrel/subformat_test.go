package main

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// formatTime is the time of the messages of TestFormat: a Friday, at a
// nanosecond with leading zeros, in a zone east of UTC.
var formatTime = time.Date(2024, 3, 1, 9, 5, 7, 12345678, time.FixedZone("CET", 3600))

// TestFormat checks -F, -v and -N on single messages, against outputs
// worked out by hand from mosquitto_sub 2.0.11's rules (TestFormatGolden
// compares with the real one).
func TestFormat(t *testing.T) {
	hello := &session.Message{Topic: "a/b", Payload: []byte("hello"), QoS: packet.QoS1, Retain: true, PacketID: 7}
	bin := &session.Message{Topic: "t", Payload: []byte("a\x01\"\\\x00z"), QoS: packet.QoS0}
	empty := &session.Message{Topic: "e", QoS: packet.QoS2, PacketID: 65535}
	jsonMsg := &session.Message{Topic: "j", Payload: []byte(` {"a": [1, 2.5, -0, 1e3, 3e10, 0.1, "\u00e9\/"], "b": {}, "c": [], "d": null, "e": true} `)}
	tests := []struct {
		name   string
		format string
		m      *session.Message
		want   string
	}{
		{"fields", `%t|%p|%q|%r|%m|%l|%x|%X|%%`, hello, "a/b|hello|1|1|7|5|68656c6c6f|68656C6C6F|%"},
		{"QoS 0 has no message id", `%m %q %r`, bin, "0 0 0"},
		{"binary payload", `%p %x`, bin, "a\x01\"\\\x00z 6101225c007a"},
		{"empty payload", `[%p][%x][%l]`, empty, "[][][0]"},
		{"string width", `[%5t][%-5t][%.1t][%5.2t][%-5.2t][%.t][%1t]`, hello, "[  a/b][a/b  ][a][   a/][a/   ][][a/b]"},
		{"int width", `[%05l][%-5l][%5l][%1l][%03m][%-03m]`, hello, "[00005][5    ][    5][5][007][7  ]"},
		{"payload width is its maximum", `[%3p][%8p][%08p][%-8p]`, hello, "[hel][   hello][000hello][hello   ]"},
		{"hex width counts digits", `[%4x][%5x][%012X][%-12x]`, hello, "[6865][ 6865][000000006865][6865        ]"},
		{"left without width pads the payload's length", `[%-p][%-x]`, hello, "[hello     ][68656c6c6f     ]"},
		{"v5 properties are absent", `[%A][%3A][%03E][%-2F][%2S][%3C][%D][%P][%R][%5R]`, hello, "[][   ][000][  ][  ][   ][][][][]"},
		{"escapes", `\\\0\a\e\n\r\t\v@@`, hello, "\\\x00\a\x1b\n\r\t\v@"},
		{"time", `%I|%U|@N|@Y-@m-@d @H:@M:@S|@a @A @b @B|@e|@j|@k|@l|@p|@P|@z|@Z|@s|@u @w|@U @W @V @G @g|@C @y|@D|@c|@r|@%`, hello,
			"2024-03-01T09:05:07+0100|1709280307.012345678|012345678|2024-03-01 09:05:07|Fri Friday Mar March| 1|061| 9| 9|AM|am|+0100|CET|1709280307|5 5|08 09 09 2024 24|20 24|03/01/24|Fri Mar  1 09:05:07 2024|09:05:07 AM|%"},
		{"json", `%j`, hello, `{"tst":"2024-03-01T09:05:07.012345Z+0100","topic":"a/b","qos":1,"retain":1,"payloadlen":5,"mid":7,"payload":"hello"}`},
		{"json QoS 0, escaped, up to the zero byte", `%j`, bin, `{"tst":"2024-03-01T09:05:07.012345Z+0100","topic":"t","qos":0,"retain":0,"payloadlen":6,"payload":"a\u0001\"\\"}`},
		{"json empty", `%j`, empty, `{"tst":"2024-03-01T09:05:07.012345Z+0100","topic":"e","qos":2,"retain":0,"payloadlen":0,"mid":65535,"payload":null}`},
		{"json payload", `%J`, jsonMsg, `{"tst":"2024-03-01T09:05:07.012345Z+0100","topic":"j","qos":0,"retain":0,"payloadlen":` + strconv.Itoa(len(jsonMsg.Payload)) +
			`,"payload":{"a":[1,2.5,-0,1000,30000000000,0.1,"é/"],"b":{},"c":[],"d":null,"e":true}}`},
		{"json payload not JSON", `<%J>`, hello, `<>`},
		{"json empty payload", `%J`, empty, `{"tst":"2024-03-01T09:05:07.012345Z+0100","topic":"e","qos":2,"retain":0,"payloadlen":0,"mid":65535,"payload":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseFormat(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := f.appendFormatted(nil, tt.m, formatTime, false)
			if string(got) != tt.want {
				t.Errorf("-F %q\n got %q\nwant %q", tt.format, got, tt.want)
			}
		})
	}
}

func TestFormatPretty(t *testing.T) {
	m := &session.Message{Topic: "j", Payload: []byte(`{"a":[1,{"b":{}}],"c":{"d":"e"}}`), QoS: packet.QoS1, PacketID: 2}
	f, err := parseFormat("%J")
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.appendFormatted(nil, m, formatTime, true)
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n\t\"tst\":\t\"2024-03-01T09:05:07.012345Z+0100\",\n\t\"topic\":\t\"j\",\n\t\"qos\":\t1,\n\t\"retain\":\t0,\n\t\"payloadlen\":\t" + strconv.Itoa(len(m.Payload)) + ",\n\t\"mid\":\t2,\n" +
		"\t\"payload\":\t{\n\t\t\"a\":\t[1, {\n\t\t\t\t\"b\":\t{\n\t\t\t\t}\n\t\t\t}],\n\t\t\"c\":\t{\n\t\t\t\"d\":\t\"e\"\n\t\t}\n\t}\n}"
	if string(got) != want {
		t.Errorf("--pretty %%J\n got %q\nwant %q", got, want)
	}
}

func TestFormatErrors(t *testing.T) {
	tests := []struct{ format, want string }{
		{"%", "a '%' ends the format"},
		{"a%-", `unknown specifier "%-"`},
		{"%5", `unknown specifier "%5"`},
		{"%Z", `unknown specifier "%Z"`},
		{"%10.3", `unknown specifier "%10.3"`},
		{"x@", "an '@' ends the format"},
		{"@Q", `unknown time conversion "@Q"`},
		{`\`, `a '\' ends the format`},
		{`\q`, `unknown escape "\\q"`},
		{"%99999999t", "field width"},
		{"%.99999999t", "precision"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			_, err := parseFormat(tt.format)
			if err == nil {
				t.Fatalf("-F %q: no error", tt.format)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "-F ") {
				t.Errorf("-F %q: %q, want -F and %q", tt.format, err, tt.want)
			}
		})
	}
}

// FuzzFormat checks that no format and no message make -F panic.
func FuzzFormat(f *testing.F) {
	for _, s := range []string{"%t %p", "%-08.3x", `\e@N%J`, "%j", "@c%I%U", "%5", "%"} {
		f.Add(s, []byte(`{"a":1}`), uint8(1))
	}
	f.Fuzz(func(t *testing.T, format string, payload []byte, qos uint8) {
		fm, err := parseFormat(format)
		if err != nil {
			return
		}
		m := &session.Message{Topic: "a/b", Payload: payload, QoS: packet.QoS(qos % 3), PacketID: 9}
		fm.appendFormatted(nil, m, formatTime, qos&4 != 0)
	})
}

func TestPlain(t *testing.T) {
	m := &session.Message{Topic: "a/b", Payload: []byte("x y")}
	empty := &session.Message{Topic: "a/b"}
	tests := []struct {
		m              *session.Message
		verbose, noEOL bool
		want           string
	}{
		{m, false, false, "x y\n"},
		{m, true, false, "a/b x y\n"},
		{m, true, true, "a/b x y"},
		{m, false, true, "x y"},
		{empty, false, false, ""},
		{empty, true, false, "a/b (null)\n"},
		{empty, true, true, ""},
		{empty, false, true, ""},
	}
	for _, tt := range tests {
		if got := appendPlain(nil, tt.m, tt.verbose, tt.noEOL); string(got) != tt.want {
			t.Errorf("%q -v=%v -N=%v: %q, want %q", tt.m.Payload, tt.verbose, tt.noEOL, got, tt.want)
		}
	}
}

// TestSubPrintAllocs checks that printing a message allocates nothing,
// with -v and with a -F of the usual specifiers, %j included.
func TestSubPrintAllocs(t *testing.T) {
	m := &session.Message{Topic: "sensors/7/temp", Payload: []byte(`21.5 "C"`), QoS: packet.QoS1, Retain: true, PacketID: 3}
	for _, format := range []string{"", "%t %p", "%I %U @H:@M:@S.@N %-10t %05l %x %q %r %m", "%j"} {
		p := &printer{w: discard{}, verbose: true, now: func() time.Time { return formatTime }, chance: 10000}
		if format != "" {
			var err error
			if p.format, err = parseFormat(format); err != nil {
				t.Fatal(err)
			}
		}
		p.print(m) // grows the buffer
		if n := testing.AllocsPerRun(100, func() { p.print(m) }); n != 0 {
			t.Errorf("-F %q: %v allocations per message, want 0", format, n)
		}
		m0 := *m
		m0.QoS = packet.QoS0
		if n := testing.AllocsPerRun(100, func() { p.print(&m0); p.flush() }); n != 0 {
			t.Errorf("-F %q, QoS 0: %v allocations per message and flush, want 0", format, n)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// goldenMessage is a message that TestFormatGolden publishes.
type goldenMessage struct {
	topic   string
	payload string
	qos     int
	retain  bool // published before the subscribers subscribe
}

// goldenMessages: retained ones first (received with the retain flag),
// then live ones, empty, binary and JSON payloads included.
var goldenMessages = []goldenMessage{
	{"golden/r/a", `hello "x" \ é`, 1, true},
	{"golden/r/b", "a\x01b\tc\n", 0, true},
	{"golden/r/j", `{"a": [1, 2.5, -0, -0.0, 1e3, 3e10, 0.1, 0.30000000000000004, 1e-5, 2147483648, -2147483649, 1e400, "s\u00e9\/", 1.5e300], "b": {}, "c": [], "d": null, "e": true, "f": {"g": [{}]}}`, 1, true},
	{"golden/l/empty", "", 0, false},
	{"golden/l/nul", "a\x00b", 1, false},
	{"golden/l/json", `[1,{"k":"v"}, "x"]`, 2, false},
	{"golden/l/long", strings.Repeat("0123456789", 30), 1, false},
	{"golden/l/text", "plain text", 2, false},
	{"golden/l/num", "42", 0, false},
	{"golden/l/lenient", "\x01[01, 1., -.5, 1e5x]", 2, false},
	{"golden/l/lenient2", "\t{\"a\":\t\"\\ud83d\\ude00\x02\", \"b\" : [ ] }\r\n", 1, false},
}

// goldenFormats are the outputs compared; withTime ones have their digits
// masked before comparing, as the two clients print different times.
var goldenFormats = []struct {
	name     string
	args     []string
	withTime bool
	silent   bool // prints nothing for an empty payload
}{
	{"plain", nil, false, true},
	{"v", []string{"-v"}, false, false},
	{"v N", []string{"-v", "-N"}, false, true},
	{"fields", []string{"-F", `%t|%p|%q|%r|%m|%l|%x|%X|%%`}, false, false},
	{"widths", []string{"-F", `[%5t][%-5t][%.3t][%12.8t][%-12.8t][%05l][%-5l][%5l][%5m][%-3m][%08x][%-8X][%4p][%-p][%-x][%06p][%.2p][%30p]`}, false, false},
	{"v5 and escapes", []string{"-F", `[%A][%05A][%3C][%D][%E][%-4F][%P][%R][%S][%-3S]\t\e\a\v\r\\\0@@`}, false, false},
	{"N", []string{"-F", `%t=%l;`, "-N"}, false, false},
	{"j", []string{"-F", "%j"}, true, false},
	{"J", []string{"-F", "%J"}, true, false},
	{"j pretty", []string{"-F", "%j", "--pretty"}, true, false},
	{"J pretty", []string{"-F", "<%J>", "--pretty"}, true, false},
	{"time", []string{"-F", `%I %U [%30I] [%-30I] [%.10I] @Y-@m-@d @H:@M:@S @N @a @A @b @B @c @C @D @e @F @g @G @h @I @j @k @l @p @r @R @s @T @u @U @V @w @W @x @X @y @z @Z @% @n @t @P`}, true, false},
}

// TestFormatGolden runs petrel sub and the real mosquitto_sub side by
// side with each of goldenFormats, on the same messages from a Mosquitto
// broker, and compares their output byte for byte.
func TestFormatGolden(t *testing.T) {
	mosquittoSub := mosquittoTool(t, "mosquitto_sub")
	mosquittoPub := mosquittoTool(t, "mosquitto_pub")
	b := startBroker(t, mosquittotest.Options{})
	port := strconv.Itoa(b.Port())
	pub := func(m goldenMessage) {
		t.Helper()
		args := []string{"-h", "127.0.0.1", "-p", port, "-t", m.topic, "-q", strconv.Itoa(m.qos)}
		if m.retain {
			args = append(args, "-r")
		}
		if m.payload == "" {
			args = append(args, "-n")
		} else {
			args = append(args, "-s")
		}
		p := startProc(t, strings.NewReader(m.payload), mosquittoPub, args...)
		if code := p.wait(t); code != 0 {
			t.Fatalf("mosquitto_pub %q: exit code %d, stderr %q", args, code, p.stderr.String())
		}
	}
	for _, m := range goldenMessages {
		if m.retain {
			pub(m)
		}
	}
	count := strconv.Itoa(len(goldenMessages))
	type pair struct {
		petrel *cmd
		mosq   *proc
	}
	pairs := make([]pair, len(goldenFormats))
	for i, gf := range goldenFormats {
		pid, mid := fmt.Sprintf("petrel-golden-%d", i), fmt.Sprintf("mosq-golden-%d", i)
		args := join([]string{"-t", "golden/#", "-q", "2", "-C", count}, gf.args)
		pairs[i].petrel = start(t, nil, nil, subArgs(b, join(args, []string{"-i", pid})...)...)
		pairs[i].mosq = startProc(t, nil, mosquittoSub, join([]string{"-h", "127.0.0.1", "-p", port, "-i", mid, "-W", "20"}, args)...)
		waitSubscribed(t, b, pid, 2, "golden/#")
		waitSubscribed(t, b, mid, 2, "golden/#")
	}
	// Each message is published once the one before is printed by all:
	// the order of arrival is the broker's and the client library's
	// (mosquitto_sub hands over a QoS 2 message on PUBREL, petrel on
	// PUBLISH), not the format's.
	for _, m := range goldenMessages {
		if m.retain {
			continue
		}
		before := make([][2]int, len(pairs))
		for i, p := range pairs {
			before[i] = [2]int{len(p.petrel.stdout.String()), len(p.mosq.stdout.String())}
		}
		pub(m)
		for i, p := range pairs {
			if m.payload == "" && goldenFormats[i].silent {
				continue
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(p.petrel.stdout.String()) == before[i][0] || len(p.mosq.stdout.String()) == before[i][1] {
				if time.Now().After(deadline) {
					t.Fatalf("%s: %s not printed by both within 10s", goldenFormats[i].name, m.topic)
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
	}
	digits := regexp.MustCompile(`[0-9]`)
	for i, gf := range goldenFormats {
		t.Run(gf.name, func(t *testing.T) {
			p, m := pairs[i].petrel, pairs[i].mosq
			if code := m.wait(t); code != 0 {
				t.Fatalf("mosquitto_sub %q: exit code %d, stderr %q", gf.args, code, m.stderr.String())
			}
			if code := p.wait(t); code != exitOK {
				t.Fatalf("petrel sub %q: exit code %d, stderr %q", gf.args, code, p.stderr.String())
			}
			got, want := p.stdout.String(), m.stdout.String()
			if gf.withTime {
				got, want = digits.ReplaceAllString(got, "9"), digits.ReplaceAllString(want, "9")
			}
			if got != want {
				t.Errorf("petrel sub %q differs from mosquitto_sub:\npetrel:\n%s\nmosquitto_sub:\n%s", gf.args, quoteLines(got), quoteLines(want))
			}
			// %J's complaints about payloads that are not JSON: one per
			// such message, on both.
			if n, want := strings.Count(p.stderr.String(), "not valid JSON"), strings.Count(m.stderr.String(), "not valid JSON"); n != want {
				t.Errorf("petrel sub %q: %d complaints about JSON on stderr, mosquitto_sub %d:\n%s\n%s", gf.args, n, want, p.stderr.String(), m.stderr.String())
			}
		})
	}
	if t.Failed() && os.Getenv("PETREL_GOLDEN_DUMP") != "" {
		for i := range pairs {
			fmt.Fprintf(os.Stderr, "%s\n%q\n%q\n", goldenFormats[i].name, pairs[i].petrel.stdout.String(), pairs[i].mosq.stdout.String())
		}
	}
}

// quoteLines quotes each line of s, for a readable diff.
func quoteLines(s string) string {
	var b bytes.Buffer
	for _, l := range strings.SplitAfter(s, "\n") {
		fmt.Fprintf(&b, "  %q\n", l)
	}
	return b.String()
}
