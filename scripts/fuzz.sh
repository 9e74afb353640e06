#!/usr/bin/env bash
# Runs each fuzz target of fuzz/ for FUZZTIME (default 60s), one after another.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${FUZZTIME:=60s}"
targets=$(go test -list '^Fuzz' ./fuzz/ | grep '^Fuzz')
for t in $targets; do
	echo "== $t for $FUZZTIME"
	go test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" ./fuzz/
done
