package main

import (
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestVersionCommand runs petrel version and petrel --version in the test
// process, where go test stamps no version: "devel".
func TestVersionCommand(t *testing.T) {
	want := "petrel devel " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, stdout, stderr := petrel(t, "", args...)
		if code != exitOK || stdout != want || stderr != "" {
			t.Errorf("petrel %s: exit code %d, stdout %q, stderr %q; want 0, %q, nothing",
				args[0], code, stdout, stderr, want)
		}
	}
	if code, _, stderr := petrel(t, "", "version", "x"); code != exitUsage || !strings.Contains(stderr, `unexpected argument "x"`) {
		t.Errorf("petrel version x: exit code %d, stderr %q", code, stderr)
	}
	if code, stdout, _ := petrel(t, "", "help", "version"); code != exitOK || !strings.HasPrefix(stdout, "Usage: petrel version") {
		t.Errorf("petrel help version: exit code %d, stdout %q", code, stdout)
	}
}

// TestVersionRevision checks that a petrel built in a Git checkout names
// the commit it was built from, with its time and the dirty flag, as the
// build information that go version -m reads says. Other commits may land
// while the test runs, so the revision must be HEAD or one of its
// ancestors, not HEAD itself.
func TestVersionRevision(t *testing.T) {
	if err := exec.Command("git", "status", "--porcelain").Run(); err != nil {
		t.Skipf("not a Git checkout (git status: %v): the binary carries no revision", err)
	}
	bin := petrelBin(t)
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("petrel version: %v", err)
	}
	line := string(out)
	m := regexp.MustCompile(`^petrel (v\d+\.\d+\.\d+\S*) \(rev ([0-9a-f]{12}), (\S+?)(, dirty)?\) (go\S+) (\w+/\w+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("petrel version printed %q, want petrel vX.Y.Z... (rev <12 hex digits>, <time>[, dirty]) go... os/arch", line)
	}
	rev, when, dirty := m[2], m[3], m[4] != ""
	if m[5] != runtime.Version() || m[6] != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("petrel version printed %q: wrong Go version or platform", line)
	}

	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	settings := map[string]string{}
	for l := range strings.Lines(string(info)) {
		if k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "build")), "="); ok {
			settings[k] = strings.TrimSpace(v)
		}
	}
	full := settings["vcs.revision"]
	if !strings.HasPrefix(full, rev) {
		t.Errorf("petrel version says rev %s; the build information says vcs.revision=%s", rev, full)
	}
	if got, want := dirty, settings["vcs.modified"] == "true"; got != want {
		t.Errorf("petrel version says dirty %v; the build information says vcs.modified=%s", got, settings["vcs.modified"])
	}

	if err := exec.Command("git", "merge-base", "--is-ancestor", full, "HEAD").Run(); err != nil {
		t.Errorf("revision %s is neither HEAD nor one of its ancestors: %v", full, err)
	}
	ct, err := exec.Command("git", "show", "-s", "--format=%cI", full).Output()
	if err != nil {
		t.Fatalf("git show %s: %v", full, err)
	}
	want, err := time.Parse(time.RFC3339, strings.TrimSpace(string(ct)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := time.Parse(time.RFC3339, when); err != nil || !got.Equal(want) {
		t.Errorf("petrel version says %s; the commit's time is %s", when, want.UTC().Format(time.RFC3339))
	}
}
