package main

import (
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
)

// TestPubRepeatErrors checks --repeat, --repeat-delay and pub's -x before
// connecting: exit code 1, the flag and the rule on stderr.
func TestPubRepeatErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--repeat", "0"}, "--repeat 0: the number of times to publish must be 1 or more"},
		{[]string{"--repeat", "-2"}, "--repeat -2"},
		{[]string{"--repeat", "x"}, `invalid value "x" for flag -repeat`},
		{[]string{"--repeat", "2", "--repeat-delay", "-1"}, `invalid value "-1" for flag -repeat-delay`},
		{[]string{"--repeat-delay", "1"}, "--repeat-delay needs --repeat N"},
		{[]string{"-x", "abc"}, `-x "abc"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, stdout, stderr := petrel(t, "", append([]string{"pub", "-t", "a", "-m", "x"}, tt.args...)...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit code %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, exitUsage, tt.want)
			}
		})
	}
	code, _, stderr := petrel(t, "", "pub", "-t", "a", "-l", "--repeat", "2")
	if code != exitUsage || !strings.Contains(stderr, "-l publishes each line once") {
		t.Errorf("pub -l --repeat 2: exit code %d, stderr %q", code, stderr)
	}
}

// TestPubRepeat publishes one message three times, 50ms apart, at QoS 0
// and 1, and an empty message twice, to a subscriber.
func TestPubRepeat(t *testing.T) {
	b := startBroker(t, mosquittotest.Options{})
	for _, q := range []string{"0", "1"} {
		id := "petrel-repeat-" + q
		sub := start(t, nil, nil, subArgs(b, "-t", "rep/"+q, "-q", "1", "-C", "5", "-F", "%t %l %p", "-i", id)...)
		waitSubscribed(t, b, id, 1, "rep/"+q)
		mustPub(t, b, "", "-t", "rep/"+q, "-q", q, "-m", "again", "--repeat", "3", "--repeat-delay", "0.05", "-x", "60")
		mustPub(t, b, "", "-t", "rep/"+q, "-q", q, "-n", "--repeat", "2")
		sub.check(t, exitOK, strings.Repeat("rep/"+q+" 5 again\n", 3)+strings.Repeat("rep/"+q+" 0 \n", 2))
	}
}
