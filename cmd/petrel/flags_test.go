package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw, wsPath string
		want        brokerURL // redacted is not compared
	}{
		{raw: "mqtt://127.0.0.1/a/b", want: brokerURL{address: "mqtt://127.0.0.1:1883", topic: "a/b"}},
		{raw: "tcp://broker:1884", want: brokerURL{address: "tcp://broker:1884"}},
		{raw: "mqtt://broker/", want: brokerURL{address: "mqtt://broker:1883"}},
		{raw: "MQTT://broker/t", want: brokerURL{address: "mqtt://broker:1883", topic: "t"}},
		{
			raw:  "mqtt://alice:s%40cret@broker:1884/x",
			want: brokerURL{address: "mqtt://broker:1884", hasUser: true, user: "alice", password: "s@cret", topic: "x"},
		},
		{raw: "mqtt://bob@broker/x", want: brokerURL{address: "mqtt://broker:1883", hasUser: true, user: "bob", topic: "x"}},
		{raw: "mqtts://broker/t", want: brokerURL{address: "mqtts://broker:8883", tls: true, topic: "t"}},
		{raw: "ssl://broker:1/t", want: brokerURL{address: "ssl://broker:1", tls: true, topic: "t"}},
		{raw: "tls://broker/t", want: brokerURL{address: "tls://broker:8883", tls: true, topic: "t"}},
		{raw: "ws://broker:9001/a/+/c", want: brokerURL{address: "ws://broker:9001/mqtt", topic: "a/+/c"}},
		{raw: "wss://broker/t", wsPath: "/ws", want: brokerURL{address: "wss://broker:443/ws", tls: true, topic: "t"}},
		{raw: "mqtt://h/a/#", want: brokerURL{address: "mqtt://h:1883", topic: "a/#"}},
		{raw: "mqtt://h/a/%23", want: brokerURL{address: "mqtt://h:1883", topic: "a/#"}},
		{raw: "mqtt://h/a%20b/%2B", want: brokerURL{address: "mqtt://h:1883", topic: "a b/+"}},
		{raw: "mqtt://h//lead", want: brokerURL{address: "mqtt://h:1883", topic: "/lead"}},
		{raw: "mqtt://[::1]:1883/t", want: brokerURL{address: "mqtt://[::1]:1883", topic: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := parseURL(tt.raw, tt.wsPath)
			if err != nil {
				t.Fatal(err)
			}
			got.redacted = ""
			if got != tt.want {
				t.Errorf("parseURL(%q, %q)\n got %+v\nwant %+v", tt.raw, tt.wsPath, got, tt.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct{ raw, wsPath, want string }{
		{"broker/t", "", "missing scheme"},
		{"://broker/t", "", "missing scheme"},
		{"http://h/t", "", `bad scheme: unknown scheme "http"`},
		{"mqtt://h:0/t", "", "bad port"},
		{"mqtt://h:x/t", "", "-L"},
		{"mqtt:///t", "", "bad host: missing host"},
		{"mqtt://h?x=1", "", "query or fragment"},
		{"mqtt://h#", "", "query or fragment"},
		{"mqtt://h/a%zz", "", "percent-encoded"},
		{"mqtt://h/t", "/x", "--ws-path needs a ws://"},
		{"ws://h/t", "x", `--ws-path "x"`},
		{"mqtt://u:secret@h:0/t", "", "mqtt://u:xxxxx@h:0/t"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := parseURL(tt.raw, tt.wsPath)
			if err == nil {
				t.Fatalf("parseURL(%q) succeeded", tt.raw)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("parseURL(%q): %q, want it to hold %q", tt.raw, msg, tt.want)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("parseURL(%q): %q shows the password", tt.raw, msg)
			}
			if code := err.(*exitError).code; code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
		})
	}
}

// parseConfig parses args as command's flags and returns the Config.
func parseConfig(t *testing.T, command string, args ...string) (session.Config, *connFlags, string, error) {
	t.Helper()
	var f connFlags
	var fs *flag.FlagSet
	if command == "pub" {
		fs = pubFlagSet(&f, new(pubFlags))
	} else {
		fs = subFlagSet(&f, new(subFlags))
	}
	var stderr bytes.Buffer
	e := &env{stderr: &stderr, getenv: func(string) string { return "" }}
	if err := f.parse(fs, args); err != nil {
		return session.Config{}, &f, stderr.String(), err
	}
	cfg, err := f.config(context.Background(), e)
	return cfg, &f, stderr.String(), err
}

func TestConfig(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	tests := []struct {
		name    string
		command string
		args    []string
		check   func(t *testing.T, cfg session.Config, f *connFlags, stderr string)
	}{
		{"defaults", "pub", nil, func(t *testing.T, cfg session.Config, f *connFlags, _ string) {
			if cfg.Address != "localhost" || cfg.Port != 0 || cfg.Option != session.Plain || cfg.TLSConfig != nil {
				t.Errorf("address %q port %d option %v TLS %v, want localhost, 0 (1883), plain, nil", cfg.Address, cfg.Port, cfg.Option, cfg.TLSConfig)
			}
			if cfg.ClientID != "petrel-pub-"+pid || cfg.PersistentSession || cfg.KeepAlive != 60*time.Second {
				t.Errorf("client id %q persistent %v keepalive %v", cfg.ClientID, cfg.PersistentSession, cfg.KeepAlive)
			}
			if cfg.Will != nil || cfg.Logger != nil || cfg.ConnectionTimeout != 0 || cfg.User != "" {
				t.Errorf("unexpected settings: %+v", cfg)
			}
			if f.runTimeout != 0 {
				t.Errorf("-W %v by default", f.runTimeout)
			}
		}},
		{"sub client id", "sub", nil, func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
			if cfg.ClientID != "petrel-sub-"+pid {
				t.Errorf("client id %q", cfg.ClientID)
			}
		}},
		{"session", "sub", []string{"-h", "10.0.0.1", "-p", "1884", "-i", "me", "-k", "0", "-c", "-V", "311"},
			func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
				if cfg.Address != "10.0.0.1" || cfg.Port != 1884 || cfg.ClientID != "me" || !cfg.PersistentSession || cfg.KeepAlive >= 0 {
					t.Errorf("%+v", cfg)
				}
			}},
		{"user", "pub", []string{"-u", "alice", "-P", "pw"}, func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
			if cfg.User != "alice" || cfg.UserPassword != "pw" {
				t.Errorf("user %q password %q", cfg.User, cfg.UserPassword)
			}
		}},
		{"tls", "pub", []string{"--tls"}, func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
			if cfg.Option != session.TLS || cfg.TLSConfig == nil || cfg.TLSConfig.RootCAs != nil || cfg.TLSConfig.InsecureSkipVerify {
				t.Errorf("option %v, TLS config %+v", cfg.Option, cfg.TLSConfig)
			}
		}},
		{"insecure", "pub", []string{"--insecure"}, func(t *testing.T, cfg session.Config, _ *connFlags, stderr string) {
			if cfg.Option != session.TLS || !cfg.TLSConfig.InsecureSkipVerify {
				t.Errorf("option %v, TLS config %+v", cfg.Option, cfg.TLSConfig)
			}
			if !strings.Contains(stderr, "WARNING: --insecure") {
				t.Errorf("no warning on stderr: %q", stderr)
			}
		}},
		{"url", "pub", []string{"-L", "mqtts://u:p@h/t"}, func(t *testing.T, cfg session.Config, f *connFlags, _ string) {
			if cfg.Address != "mqtts://h:8883" || cfg.Port != 0 || cfg.Option != session.Plain || cfg.User != "u" || cfg.UserPassword != "p" {
				t.Errorf("%+v", cfg)
			}
			if !slices.Equal(f.topics, []string{"t"}) {
				t.Errorf("topics %q", f.topics)
			}
		}},
		{"url and -t", "sub", []string{"-t", "b", "-L", "ws://h:9001/a", "-t", "c", "--ws-path", "/"},
			func(t *testing.T, cfg session.Config, f *connFlags, _ string) {
				if cfg.Address != "ws://h:9001/" {
					t.Errorf("address %q", cfg.Address)
				}
				if !slices.Equal(f.topics, []string{"a", "b", "c"}) {
					t.Errorf("topics %q, want the URL's first", f.topics)
				}
			}},
		{"will", "pub", []string{"--will-topic", "w", "--will-payload", "bye", "--will-qos", "1", "--will-retain"},
			func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
				w := cfg.Will
				if w == nil || w.Topic != "w" || string(w.Payload) != "bye" || w.QoS != packet.QoS1 || !w.Retain {
					t.Errorf("will %+v", w)
				}
			}},
		{"timeouts", "sub", []string{"--connect-timeout", "10 s", "-W", "1.5"}, func(t *testing.T, cfg session.Config, f *connFlags, _ string) {
			if cfg.ConnectionTimeout != 10*time.Second || f.runTimeout != 1500*time.Millisecond {
				t.Errorf("connect timeout %v, -W %v", cfg.ConnectionTimeout, f.runTimeout)
			}
		}},
		{"timeout seconds", "pub", []string{"--connect-timeout", "10"}, func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
			if cfg.ConnectionTimeout != 10*time.Second {
				t.Errorf("connect timeout %v", cfg.ConnectionTimeout)
			}
		}},
		{"timeout duration, two dashes or one", "pub", []string{"-connect-timeout=10s", "-W", "500ms"},
			func(t *testing.T, cfg session.Config, f *connFlags, _ string) {
				if cfg.ConnectionTimeout != 10*time.Second || f.runTimeout != 500*time.Millisecond {
					t.Errorf("connect timeout %v, -W %v", cfg.ConnectionTimeout, f.runTimeout)
				}
			}},
		{"reconnect by default", "pub", nil, func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
			if r := cfg.Reconnect; r == nil || r.MinDelay != 0 || r.MaxDelay != 0 || !r.QueueQoS0 {
				t.Errorf("pub: Reconnect %+v, want the defaults, QoS 0 queued", r)
			}
		}},
		{"sub reconnects, queues no QoS 0", "sub", nil, func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
			if r := cfg.Reconnect; r == nil || r.QueueQoS0 {
				t.Errorf("sub: Reconnect %+v", r)
			}
		}},
		{"no reconnect", "sub", []string{"--no-reconnect"}, func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
			if cfg.Reconnect != nil {
				t.Errorf("Reconnect %+v, want nil", cfg.Reconnect)
			}
		}},
		{"reconnect delay", "sub", []string{"--reconnect-delay", "50ms,2"}, func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
			if r := cfg.Reconnect; r == nil || r.MinDelay != 50*time.Millisecond || r.MaxDelay != 2*time.Second {
				t.Errorf("Reconnect %+v", r)
			}
		}},
		{"reconnect delay min only", "sub", []string{"--reconnect-delay", "1m"}, func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
			if r := cfg.Reconnect; r == nil || r.MinDelay != time.Minute || r.MaxDelay != time.Minute {
				t.Errorf("Reconnect %+v: above the default max, max is min", r)
			}
		}},
		{"debug", "sub", []string{"-d"}, func(t *testing.T, cfg session.Config, _ *connFlags, _ string) {
			if cfg.Logger == nil {
				t.Error("-d: no logger")
			}
		}},
	}
	for _, tt := range tests {
		if tt.check == nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			cfg, f, stderr, err := parseConfig(t, tt.command, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, cfg, f, stderr)
			// The Config is one session.New accepts.
			if _, err := session.New(cfg); err != nil {
				t.Errorf("session.New: %v", err)
			}
		})
	}
}

// TestConfigErrors checks that each bad flag is a usage error that names
// it.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-q", "3"}, "-q 3: the QoS must be 0, 1 or 2"},
		{[]string{"-q", "-1"}, "-q -1"},
		{[]string{"-q", "x"}, `invalid value "x" for flag -q`},
		{[]string{"-q"}, "flag needs an argument: -q"},
		{[]string{"-k", "70000"}, "-k 70000"},
		{[]string{"-k", "-1"}, "-k -1"},
		{[]string{"-p", "0"}, "-p 0"},
		{[]string{"-p", "65536"}, "-p 65536"},
		{[]string{"-h", "mqtt://h"}, `-h "mqtt://h"`},
		{[]string{"-i", "a\x00b"}, "-i"},
		{[]string{"-c"}, "-c needs -i"},
		{[]string{"-P", "x"}, "-P needs -u"},
		{[]string{"-V", "mqttv5"}, `-V "mqttv5"`},
		{[]string{"--will-qos", "1"}, "--will-qos needs --will-topic"},
		{[]string{"--will-payload", "x"}, "--will-payload needs --will-topic"},
		{[]string{"--will-retain"}, "--will-retain needs --will-topic"},
		{[]string{"--will-topic", "a/#"}, `--will-topic "a/#"`},
		{[]string{"--will-topic", "w", "--will-qos", "3"}, "--will-qos 3"},
		{[]string{"--connect-timeout", "abc"}, `invalid value "abc" for flag -connect-timeout`},
		{[]string{"--connect-timeout", "0"}, "must be more than zero"},
		{[]string{"-W", "-1"}, `invalid value "-1" for flag -W`},
		{[]string{"-L", "mqtt://h/t", "-h", "x"}, "-L and -h"},
		{[]string{"-L", "mqtt://h/t", "-p", "1"}, "-L and -p"},
		{[]string{"-L", "mqtt://u@h/t", "-u", "x"}, "holds a user name"},
		{[]string{"-L", "mqtt://h/t", "--tls"}, "--tls needs TLS"},
		{[]string{"-L", "ws://h/t", "--cert", "c.pem"}, "--cert needs TLS"},
		{[]string{"-L", "bogus"}, "-L"},
		{[]string{"--ws-path", "/x"}, "--ws-path needs"},
		{[]string{"--key", "k.pem"}, "--key needs --cert"},
		{[]string{"--key-password", "x"}, "--key-password needs --cert"},
		{[]string{"--cafile", "/nonexistent/ca.pem"}, "--cafile: "},
		{[]string{"-L", "wss://h/t", "--cafile", "/dev/null"}, "--cafile: "},
		{[]string{"--cert", "/nonexistent/c.pem"}, "--cert: "},
		{[]string{"--reconnect-delay", "0"}, `invalid value "0" for flag -reconnect-delay: min: must be more than zero`},
		{[]string{"--reconnect-delay", "1,x"}, `invalid value "1,x" for flag -reconnect-delay: max: `},
		{[]string{"--reconnect-delay", "2s,1s"}, "max 1s is less than min 2s"},
		{[]string{"--reconnect-delay", "1", "--no-reconnect"}, "--reconnect-delay and --no-reconnect"},
		{[]string{"--store", "dir"}, "--store needs -c"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-z"}, "flag provided but not defined: -z"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, _, err := parseConfig(t, "pub", tt.args...)
			if err == nil {
				t.Fatalf("%q: no error", tt.args)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%q: %q, want it to hold %q", tt.args, err, tt.want)
			}
			if ee, ok := err.(*exitError); !ok || ee.code != exitUsage {
				t.Errorf("%q: %#v, want a usage error", tt.args, err)
			}
		})
	}
}

// TestUsageErrors runs the commands with flags they refuse before
// connecting: exit code 1, "petrel: " and the flag on stderr, nothing on
// stdout.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"pub", "-t", "a"}, "no message: give -m, -f, -s, -l or -n"},
		{[]string{"pub", "-t", "a", "-m", "x", "-n"}, "-m and -n: give one message source only"},
		{[]string{"pub", "-t", "a", "-s", "-l"}, "-s and -l"},
		{[]string{"pub", "-m", "x"}, "no topic"},
		{[]string{"pub", "-t", "a", "-t", "b", "-m", "x"}, `-t "b": pub publishes to one topic`},
		{[]string{"pub", "-L", "mqtt://h/a", "-t", "b", "-m", "x"}, `-t "b": the topic is given by -L already`},
		{[]string{"pub", "-t", "a/+", "-m", "x"}, `-t "a/+"`},
		{[]string{"pub", "-t", "", "-m", "x"}, `-t ""`},
		{[]string{"pub", "-t", "a", "-f", "/nonexistent/message"}, "-f: open /nonexistent/message"},
		{[]string{"pub", "-t", "a", "-m", "x", "-q", "5"}, "-q 5"},
		{[]string{"pub", "-t", "a", "-m", "x", "-c", "-i", "x", "--store", "/dev/null/store"}, "--store /dev/null/store: "},
		{[]string{"sub", "-t", "a", "-c", "-i", "x", "--store", "/dev/null/store"}, "--store /dev/null/store: "},
		{[]string{"sub"}, "no topic: give -t"},
		{[]string{"sub", "-t", "a/#/b"}, `-t "a/#/b"`},
		{[]string{"sub", "-t", "a", "-C", "-1"}, "-C -1"},
		{[]string{"sub", "-t", "a", "-m", "x"}, "flag provided but not defined: -m"},
		{[]string{"pub", "-t", "a", "-m", "x", "-C", "1"}, "flag provided but not defined: -C"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{nil, "Usage: petrel <command>"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := petrel(t, "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q, want it to hold %q", stderr, tt.want)
			}
			if len(tt.args) > 0 && !strings.HasPrefix(stderr, "petrel: ") {
				t.Errorf("stderr %q does not start with \"petrel: \"", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"pub", "--help"}, "Usage: petrel pub"},
		{[]string{"pub", "-help"}, "Usage: petrel pub"},
		{[]string{"sub", "--help"}, "Usage: petrel sub"},
		{[]string{"help", "sub"}, "Usage: petrel sub"},
		{[]string{"help", "pub"}, "Usage: petrel pub"},
		{[]string{"--help"}, "Usage: petrel <command>"},
		{[]string{"help"}, "Usage: petrel <command>"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := petrel(t, "", tt.args...)
			if code != exitOK || stderr != "" {
				t.Errorf("exit code %d, stderr %q", code, stderr)
			}
			if !strings.Contains(stdout, tt.want) || !strings.Contains(stdout, "Exit codes:") {
				t.Errorf("stdout %q, want the usage %q with the exit codes", stdout, tt.want)
			}
		})
	}
}

// TestUsageNamesEveryFlag keeps the usage texts in step with the flags.
func TestUsageNamesEveryFlag(t *testing.T) {
	for _, c := range []struct {
		usage string
		fs    *flag.FlagSet
	}{
		{pubUsage, pubFlagSet(new(connFlags), new(pubFlags))},
		{subUsage, subFlagSet(new(connFlags), new(subFlags))},
	} {
		c.fs.VisitAll(func(f *flag.Flag) {
			name := "-" + f.Name + " "
			if len(f.Name) > 1 {
				name = "-" + name
			}
			if !strings.Contains(c.usage, "  "+name) && !strings.Contains(c.usage, "  "+strings.TrimSuffix(name, " ")+"\n") {
				t.Errorf("%s: the usage text does not describe %s", c.fs.Name(), strings.TrimSpace(name))
			}
		})
	}
	for _, code := range []int{exitOK, exitUsage, exitConnect, exitOperation, exitTimeout, exitInterrupted} {
		if !strings.Contains(exitCodes, "\n  "+strconv.Itoa(code)+" ") {
			t.Errorf("the usage text does not document exit code %d", code)
		}
	}
}

// TestFlagGroups checks that groups of one-letter boolean flags are
// written out, and that a group with a letter that takes a value, or is
// no flag, is refused naming it.
func TestFlagGroups(t *testing.T) {
	tests := []struct {
		command string
		args    []string
		want    []string // after expandGroups; nil for an error
		err     string
	}{
		{"pub", []string{"-rd", "-t", "a"}, []string{"-r", "-d", "-t", "a"}, ""},
		{"sub", []string{"-vRN", "-t", "a"}, []string{"-v", "-R", "-N", "-t", "a"}, ""},
		{"pub", []string{"-m", "-rd"}, []string{"-m", "-rd"}, ""},                     // the value of -m
		{"pub", []string{"-cafile", "x"}, []string{"-cafile", "x"}, ""},               // a long flag
		{"pub", []string{"--rd"}, []string{"--rd"}, ""},                               // for the flag package to refuse
		{"pub", []string{"-q=1", "-rd"}, []string{"-q=1", "-r", "-d"}, ""},            // = holds the value
		{"pub", []string{"-t", "a", "x", "-rd"}, []string{"-t", "a", "x", "-rd"}, ""}, // parsing stops at x
		{"pub", []string{"-rq", "1"}, nil, "-rq: -q takes a value, so it cannot be grouped: write it apart (-r -q value)"},
		{"pub", []string{"-q1"}, nil, "-q1: -q takes a value, as a word of its own: write -q 1"},
		{"pub", []string{"-rz"}, nil, "-rz: neither a flag nor a group of one-letter flags: -z is not a flag"},
		{"sub", []string{"-vC"}, nil, "-C takes a value"},
	}
	for _, tt := range tests {
		t.Run(tt.command+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			var f connFlags
			fs := subFlagSet(&f, new(subFlags))
			if tt.command == "pub" {
				fs = pubFlagSet(&f, new(pubFlags))
			}
			got, err := expandGroups(fs, tt.args)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("%q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// Through parse: -rd sets both.
	cfg, _, _, err := parseConfig(t, "pub", "-cd", "-i", "me")
	if err != nil || !cfg.PersistentSession || cfg.Logger == nil {
		t.Errorf("pub -cd -i me: %v, persistent %v, logger %v", err, cfg.PersistentSession, cfg.Logger != nil)
	}
}
