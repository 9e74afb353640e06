#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME (default 60s), one after
# another: the codec's targets in fuzz/ and any other package's.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${FUZZTIME:=60s}"
for pkg in $(go list ./...); do
	targets=$(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
	for t in $targets; do
		echo "== $pkg $t for $FUZZTIME"
		go test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
