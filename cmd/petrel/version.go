package main

import (
	"fmt"
	"io"
	"runtime"

	"github.com/petrel-mqtt/petrel/internal/version"
)

const versionUsage = `Usage: petrel version
       petrel --version

Prints petrel's version, then, when the binary was built in a Git
checkout, its revision, the revision's commit time and "dirty" if the
working tree had uncommitted changes; then the Go version and platform:

  petrel v0.1.0-dev (rev 21a4c6d1e2f3, 2026-12-02T17:00:00Z, dirty) go1.26.8 linux/amd64

A release prints its tag (v0.1.0); a commit after the last release prints
the next version with "-dev"; a binary without version information (go
run, -buildvcs=false) prints "devel".
`

// runVersion prints petrel's version, from the binary's build information.
func runVersion(e *env, args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help":
			io.WriteString(e.stdout, versionUsage)
			return exitOK
		}
		return report(e, usageErr("unexpected argument %q: version takes none", args[0]))
	}
	fmt.Fprintf(e.stdout, "petrel %s %s %s/%s\n", version.Get(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
