// Package version tells which Petrel a program holds, from the build
// information the Go toolchain writes into every binary
// (runtime/debug.ReadBuildInfo): the module version, and, for a binary
// built in a Git checkout, the revision, its commit time and whether the
// working tree had uncommitted changes.
//
// The petrel command prints it (petrel version), the broker publishes it
// under $SYS/broker/version and logs it when it starts. When Petrel is a
// dependency of another program, the version is the one that program
// requires; the revision of the program's own checkout is not Petrel's and
// is left out.
package version

import (
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// modulePath is Petrel's module path.
const modulePath = "github.com/petrel-mqtt/petrel"

// firstRelease is the release that a build from a history without any
// version tag is working towards. Once v0.1.0 is tagged, Go derives the
// next version from the tags and this is no longer used.
const firstRelease = "v0.1.0"

// Info describes the Petrel a binary was built from. Its fields are empty
// when the build information does not say.
type Info struct {
	// Version is a release ("v0.1.0"), a version between releases ("v0.1.0-dev":
	// a commit after the last tag, before the named release), or "devel"
	// when the binary carries no version: built by go test, go run, with
	// -buildvcs=false, or outside a checkout.
	Version string
	// Revision is the full VCS revision, or the 12-digit prefix a Go
	// pseudo-version carries.
	Revision string
	// Time is the revision's commit time, in RFC 3339 form, UTC.
	Time string
	// Dirty reports a build from a working tree with uncommitted changes.
	Dirty bool
}

// Get returns the Info of the running binary.
func Get() Info { return get() }

var get = sync.OnceValue(func() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "devel"}
	}
	return fromBuildInfo(bi)
})

// String returns the version, then what is known of the revision in
// parentheses: "v0.1.0-dev (rev 21a4c6d1e2f3, 2026-12-02T17:00:00Z, dirty)",
// "v0.1.0", "devel".
func (i Info) String() string {
	var extra []string
	if i.Revision != "" {
		extra = append(extra, "rev "+short(i.Revision))
	}
	if i.Time != "" {
		extra = append(extra, i.Time)
	}
	if i.Dirty {
		extra = append(extra, "dirty")
	}
	if len(extra) == 0 {
		return i.Version
	}
	return i.Version + " (" + strings.Join(extra, ", ") + ")"
}

// short shortens a revision to 12 digits, as Go's pseudo-versions do.
func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// fromBuildInfo reads Petrel's Info from bi: from the main module when the
// binary is Petrel's own, else from the dependency on Petrel.
func fromBuildInfo(bi *debug.BuildInfo) Info {
	if bi.Main.Path == modulePath {
		i := fromModuleVersion(bi.Main.Version)
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.time":
				i.Time = s.Value
			case "vcs.modified":
				i.Dirty = i.Dirty || s.Value == "true"
			}
		}
		return i
	}
	for _, m := range bi.Deps {
		if m.Path != modulePath {
			continue
		}
		if m.Replace != nil {
			m = m.Replace // a directory replacement has no version: devel
		}
		return fromModuleVersion(m.Version)
	}
	return Info{Version: "devel"}
}

// fromModuleVersion reads a module version: a release, a pseudo-version
// (a commit between releases, whose revision and time it carries), or
// "(devel)" or "" (none). Go adds "+dirty" to the version of a build from
// a modified working tree.
func fromModuleVersion(v string) Info {
	var i Info
	if base, ok := strings.CutSuffix(v, "+dirty"); ok {
		v, i.Dirty = base, true
	}
	if v == "" || v == "(devel)" {
		i.Version = "devel"
		return i
	}
	next, rev, t, ok := splitPseudo(v)
	if !ok {
		i.Version = v // a release
		return i
	}
	if next == "" {
		next = firstRelease
	}
	i.Version, i.Revision, i.Time = next+"-dev", rev, t.Format(time.RFC3339)
	return i
}

// splitPseudo splits a Go pseudo-version into the version its commit leads
// to, its revision prefix and its commit time. The three forms are
// "vX.0.0-yyyymmddhhmmss-abcdefabcdef" (no tag before the commit: next is
// ""), "vX.Y.Z-pre.0.yyyymmddhhmmss-abcdefabcdef" (after the pre-release
// vX.Y.Z-pre: next is vX.Y.Z-pre) and "vX.Y.Z-0.yyyymmddhhmmss-abcdefabcdef"
// (after the release before vX.Y.Z: next is vX.Y.Z). ok is false for
// anything else.
func splitPseudo(v string) (next, rev string, t time.Time, ok bool) {
	v, _, _ = strings.Cut(v, "+") // "+incompatible"
	i := strings.LastIndexByte(v, '-')
	if i < 0 || len(v)-i-1 != 12 || strings.Trim(v[i+1:], "0123456789abcdef") != "" {
		return "", "", time.Time{}, false
	}
	rev, v = v[i+1:], v[:i]
	if len(v) < 14 {
		return "", "", time.Time{}, false
	}
	t, err := time.Parse("20060102150405", v[len(v)-14:])
	if err != nil {
		return "", "", time.Time{}, false
	}
	switch base := v[:len(v)-14]; {
	case strings.HasSuffix(base, ".0.0-") && strings.Count(base, "-") == 1:
		return "", rev, t, true
	case strings.HasSuffix(base, "-0.") || strings.HasSuffix(base, ".0."):
		return base[:len(base)-3], rev, t, true
	}
	return "", "", time.Time{}, false
}
