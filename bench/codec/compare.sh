#!/usr/bin/env bash
# Benchmarks Petrel's codec beside mochi-mqtt's and paho.mqtt.golang's
# (codec_test.go), in one run, and prints benchstat's table with the
# libraries as columns, then Petrel's median ns/op as a ratio of each other
# library's, per case (ratio/).
#
#   BENCHCOUNT  runs of each benchmark (default 6)
#   BENCH       benchmark pattern (default .)
#   BENCHSTAT   benchstat to `go run` (default: a pinned golang.org/x/perf)
#   INTERLEAVE  if 1, run the whole suite BENCHCOUNT times with -count=1
#               instead of each benchmark BENCHCOUNT times in a row, so that
#               a burst of load from elsewhere spreads over all libraries
#               rather than landing on one
#
# The raw results go to results/codec-<UTC time>.txt, and results/latest.txt
# points at them.
set -euo pipefail
cd "$(dirname "$0")"

count=${BENCHCOUNT:-6}
bench=${BENCH:-.}
benchstat=${BENCHSTAT:-golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da}

mkdir -p results
out=results/codec-$(date -u +%Y%m%dT%H%M%SZ).txt

# The three libraries must encode and decode the same packets, or the
# comparison means nothing.
go test -count=1 -run '^TestSamePackets$' .

# Which Petrel was measured, as a benchstat configuration line.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- ../../packet 2>/dev/null)" ]; then
	rev=$rev-dirty
fi
echo "petrel-rev: $rev" >"$out"

echo "benchmarking, $count runs of each case: $out" >&2
if [ "${INTERLEAVE:-0}" = 1 ]; then
	go test -c -o results/codec.test .
	for i in $(seq "$count"); do
		echo "round $i of $count" >&2
		results/codec.test -test.run '^$' -test.bench "$bench" -test.benchmem -test.count=1 >>"$out"
	done
	rm -f results/codec.test
else
	go test -run '^$' -bench "$bench" -benchmem -count="$count" . >>"$out"
fi
ln -sf "$(basename "$out")" results/latest.txt

echo
go run "$benchstat" -col '/lib@(petrel mochi paho)' "$out"
echo
go run ./ratio "$out"
