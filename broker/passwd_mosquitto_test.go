package broker

import (
	"strings"
	"testing"
)

// Hashes of "s3cret!": $7$ written by Debian's mosquitto_passwd 2
// (mosquitto_passwd -c -b pw alice 's3cret!'); $6$ is SHA-512 of the
// password then the salt "0123456789ab", Mosquitto 1.x's format.
const (
	mosquitto7 = "$7$101$pf1X65aJYTr+cgoN$cnP095n2bXaOel2/uUwIwFf0jDy1FrML1b+C8V52Rz+ShhxxLSZkUhM3c0lxvi1VaqBBP1m/hGWnm45YX9gj+g=="
	mosquitto6 = "$6$MDEyMzQ1Njc4OWFi$l65i5D/t3apm/BiNgyDPcQfEi72pdwTFGXY9C/nPeCJyr8NiQw0s4Gp+6C5/Zo4v9gpTZBIFLg48/OoCEbu9wQ=="
)

// TestMosquittoHashes checks that Mosquitto's $7$ and $6$ hashes verify
// the right password only, and that HashPasswordMosquitto writes a $7$
// hash that verifies.
func TestMosquittoHashes(t *testing.T) {
	h7, err := HashPasswordMosquitto("pw", 1000)
	if err != nil || !strings.HasPrefix(h7, "$7$1000$") {
		t.Fatalf("HashPasswordMosquitto = %q, %v", h7, err)
	}
	for _, c := range []struct{ hash, good string }{{mosquitto7, "s3cret!"}, {mosquitto6, "s3cret!"}, {h7, "pw"}} {
		for pw, want := range map[string]bool{c.good: true, c.good + "x": false, "": false} {
			if ok, err := CheckPassword(c.hash, pw); ok != want || err != nil {
				t.Errorf("CheckPassword(%.12s…, %q) = %v, %v; want %v", c.hash, pw, ok, err, want)
			}
		}
	}
	for _, bad := range []string{"$6$bm9wZQ==", "$6$!!$AAAA", "$6$bm9wZQ==$c2hvcnQ=", "$7$0$c2FsdA==$a2V5", "$7$101$c2FsdA==", "$5$x$y"} {
		if _, err := CheckPassword(bad, "x"); err == nil {
			t.Errorf("CheckPassword(%q): no error", bad)
		}
	}
	f, err := ParsePasswordFile(strings.NewReader("alice:" + mosquitto7 + "\nbob:" + mosquitto6 + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Users(); len(got) != 2 {
		t.Errorf("Users = %q", got)
	}
}
