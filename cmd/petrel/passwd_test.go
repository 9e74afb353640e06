package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/broker"
)

// checkPasswords reads the password file and checks that it holds
// exactly the users of want, with their passwords.
func checkPasswords(t *testing.T, name string, want map[string]string) {
	t.Helper()
	pf, err := broker.ReadPasswordFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(pf.Users()); got != len(want) {
		t.Errorf("%d users %q, want %d", got, pf.Users(), len(want))
	}
	for user, password := range want {
		if !pf.Check(user, password) {
			t.Errorf("user %q with password %q not in the file", user, password)
		}
	}
	if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
}

// TestPasswd adds, changes and deletes users as mosquitto_passwd does,
// and checks the file with the broker's reader.
func TestPasswd(t *testing.T) {
	name := filepath.Join(t.TempDir(), "passwords")
	it := []string{"-iterations", "1000"}
	mustPasswd := func(args ...string) {
		t.Helper()
		if code, stdout, stderr := petrel(t, "", append([]string{"passwd"}, args...)...); code != exitOK || stdout != "" || stderr != "" {
			t.Fatalf("passwd %q: exit code %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	mustPasswd(join([]string{"-c", "-b"}, it, []string{name, "alice", "one"})...)
	checkPasswords(t, name, map[string]string{"alice": "one"})
	mustPasswd(join([]string{"-b"}, it, []string{name, "bob", "two"})...)
	mustPasswd(join([]string{"-b"}, it, []string{name, "alice", "three"})...)
	checkPasswords(t, name, map[string]string{"alice": "three", "bob": "two"})
	mustPasswd("-D", name, "alice")
	checkPasswords(t, name, map[string]string{"bob": "two"})
	// -c replaces the file.
	mustPasswd(join([]string{"-c", "-b"}, it, []string{name, "carol", "four"})...)
	checkPasswords(t, name, map[string]string{"carol": "four"})
	if b, _ := os.ReadFile(name); !strings.HasPrefix(string(b), "carol:$pbkdf2-sha512$1000$") {
		t.Errorf("file %q", b)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-D", name, "nobody"}, exitOperation, `no user "nobody"`},
		{[]string{"-b", filepath.Join(t.TempDir(), "new"), "u", "p"}, exitUsage, "no such file: -c creates it"},
		{[]string{"-b", name, "u"}, exitUsage, "-b takes three arguments"},
		{[]string{name, "u", "p"}, exitUsage, "needs -b"},
		{[]string{name}, exitUsage, "want two arguments"},
		{[]string{"-D", "-c", name, "u"}, exitUsage, "-D deletes a user: not with -c or -b"},
		{[]string{"-b", name, "a:b", "p"}, exitUsage, `invalid user name "a:b"`},
		{[]string{"-b", name, "u", ""}, exitUsage, "empty password"},
		{[]string{"-b", "-iterations", "0", name, "u", "p"}, exitUsage, "-iterations 0: out of range"},
		{[]string{name, "u"}, exitUsage, "standard input is not a terminal"},
		{[]string{"-x"}, exitUsage, "flag provided but not defined: -x"},
	} {
		code, _, stderr := petrel(t, "", append([]string{"passwd"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("passwd %q: exit code %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	checkPasswords(t, name, map[string]string{"carol": "four"})
}

// TestPasswdPrompt reads the password twice from the terminal prompt.
func TestPasswdPrompt(t *testing.T) {
	name := filepath.Join(t.TempDir(), "passwords")
	for _, c := range []struct {
		typed []string
		code  int
	}{
		{[]string{"secret", "secret"}, exitOK},
		{[]string{"secret", "secreT"}, exitUsage},
	} {
		var prompts []string
		typed := c.typed
		var stderr bytes.Buffer
		e := &env{stdin: strings.NewReader(""), stdout: new(bytes.Buffer), stderr: &stderr, getenv: func(string) string { return "" },
			password: func(_ context.Context, prompt string) ([]byte, error) {
				prompts = append(prompts, prompt)
				p := typed[0]
				typed = typed[1:]
				return []byte(p), nil
			}}
		code := run(context.Background(), e, []string{"passwd", "-c", "-iterations", "1000", name, "dave"})
		if code != c.code || len(prompts) != 2 {
			t.Errorf("typed %q: exit code %d, prompts %q, stderr %q; want %d", c.typed, code, prompts, stderr.String(), c.code)
		}
	}
	checkPasswords(t, name, map[string]string{"dave": "secret"})
}

// TestPasswdMosquitto: petrel passwd -mosquitto writes Mosquitto 2's $7$
// hash, which petrel broker's password file reads.
func TestPasswdMosquitto(t *testing.T) {
	name := filepath.Join(t.TempDir(), "passwd")
	if code, _, stderr := petrel(t, "", "passwd", "-c", "-b", "-mosquitto", "-iterations", "1000", name, "alice", "pw"); code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	b, _ := os.ReadFile(name)
	if !strings.HasPrefix(string(b), "alice:$7$1000$") {
		t.Fatalf("file %q, want alice's $7$ hash", b)
	}
	pf, err := broker.ReadPasswordFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pf.Authenticate(t.Context(), broker.ConnInfo{Username: "alice", Password: []byte("pw")}); err != nil {
		t.Errorf("alice with her password: %v", err)
	}
}
