package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := func(rev, when, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "-buildmode", Value: "exe"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: when},
			{Key: "vcs.modified", Value: modified},
		}
	}
	const rev = "21a4c6d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7"
	dep := func(v string, replace *debug.Module) *debug.BuildInfo {
		return &debug.BuildInfo{
			Main: debug.Module{Path: "example.com/app", Version: "v1.2.3"},
			Deps: []*debug.Module{
				{Path: "golang.org/x/sync", Version: "v0.10.0"},
				{Path: modulePath, Version: v, Replace: replace},
			},
			// The settings describe the program's checkout, not Petrel's.
			Settings: vcs("ffffffffffffffffffffffffffffffffffffffff", "2027-01-01T00:00:00Z", "true"),
		}
	}
	main := func(v string, settings []debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: v}, Settings: settings}
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"untagged checkout, dirty",
			main("v0.0.0-20261202170000-21a4c6d1e2f3+dirty", vcs(rev, "2026-12-02T17:00:00Z", "true")),
			"v0.1.0-dev (rev 21a4c6d1e2f3, 2026-12-02T17:00:00Z, dirty)"},
		{"untagged checkout, clean",
			main("v0.0.0-20261202170000-21a4c6d1e2f3", vcs(rev, "2026-12-02T17:00:00Z", "false")),
			"v0.1.0-dev (rev 21a4c6d1e2f3, 2026-12-02T17:00:00Z)"},
		{"tagged checkout",
			main("v0.1.0", vcs(rev, "2026-12-02T17:00:00Z", "false")),
			"v0.1.0 (rev 21a4c6d1e2f3, 2026-12-02T17:00:00Z)"},
		{"after a release",
			main("v0.1.1-0.20270105093000-0123456789ab", vcs("0123456789abcdef", "2027-01-05T09:30:00Z", "false")),
			"v0.1.1-dev (rev 0123456789ab, 2027-01-05T09:30:00Z)"},
		{"go install @v0.1.0",
			main("v0.1.0", nil),
			"v0.1.0"},
		{"go install @latest before a tag",
			main("v0.0.0-20261202170000-21a4c6d1e2f3", nil),
			"v0.1.0-dev (rev 21a4c6d1e2f3, 2026-12-02T17:00:00Z)"},
		{"after a pre-release",
			main("v0.2.0-rc.1.0.20270301120000-abcdefabcdef", nil),
			"v0.2.0-rc.1-dev (rev abcdefabcdef, 2027-03-01T12:00:00Z)"},
		{"a pre-release",
			main("v0.2.0-rc.1", nil),
			"v0.2.0-rc.1"},
		{"no version control information",
			main("(devel)", []debug.BuildSetting{{Key: "-buildmode", Value: "exe"}}),
			"devel"},
		{"a dependency at a release", dep("v0.1.0", nil), "v0.1.0"},
		{"a dependency at a commit", dep("v0.1.1-0.20270105093000-0123456789ab", nil),
			"v0.1.1-dev (rev 0123456789ab, 2027-01-05T09:30:00Z)"},
		{"a dependency replaced by a directory", dep("v0.1.0", &debug.Module{Path: "../petrel"}), "devel"},
		{"a dependency replaced by a fork", dep("v0.1.0", &debug.Module{Path: "example.com/fork", Version: "v0.1.2"}), "v0.1.2"},
		{"not a dependency", &debug.BuildInfo{Main: debug.Module{Path: "example.com/app"}}, "devel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromBuildInfo(tt.bi).String(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitPseudo(t *testing.T) {
	for _, v := range []string{
		"v0.1.0", "v0.1.0-rc.1", "v1.0.0-20261202170000", "v0.0.0-2026120217000x-21a4c6d1e2f3",
		"v0.0.0-20261202170000-21A4C6D1E2F3", "v0.0.0-20261202170000-21a4c6d1e2f", "v0.1.0-pre-20261202170000-21a4c6d1e2f3",
	} {
		if next, rev, _, ok := splitPseudo(v); ok {
			t.Errorf("splitPseudo(%q) = %q, %q, ok: not a pseudo-version", v, next, rev)
		}
	}
}

// TestGet checks the test binary's own Info: go test stamps no version
// unless -buildvcs=true asks for it.
func TestGet(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build information")
	}
	got := Get()
	if want := fromBuildInfo(bi); got != want {
		t.Errorf("Get() = %q, want %q", got, want)
	}
	if bi.Main.Version == "(devel)" && got.String() != "devel" {
		t.Errorf("Get() = %q, want devel", got)
	}
}
