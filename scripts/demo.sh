#!/usr/bin/env bash
# make demo: Petrel carries messages with nothing else installed. Builds
# petrel, starts `petrel broker` on a free loopback port, subscribes with
# `petrel sub`, publishes at QoS 0, 1 and 2 (one message retained) with
# `petrel pub`, shows each message arrive, and stops everything. Needs only
# Go. Everything it starts is killed when it exits, however it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 130" INT TERM

bold='' plain=''
if [ -t 1 ]; then
	bold=$'\033[1m' plain=$'\033[0m'
fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
# run prints a command as typed, then runs it.
run() {
	printf '$ %s\n' "${*//$tmp\//}"
	"$@"
}
fail() {
	echo "demo: $*" >&2
	if [ -s "$tmp/broker.log" ]; then
		echo "demo: the broker's log:" >&2
		sed 's/^/    /' "$tmp/broker.log" >&2
	fi
	exit 1
}
# wait_for waits up to 10 s for file to hold a line matching the regular
# expression.
wait_for() {
	local file=$1 re=$2 i
	for i in $(seq 200); do
		grep -qE "$re" "$file" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "nothing matching '$re' in $file after 10 s"
}

step "Building petrel"
run go build -o "$tmp/petrel" ./cmd/petrel
cd "$tmp" # so that the commands print as ./petrel ...
petrel=./petrel

step "Starting the broker on a free loopback port (port 0: the system picks one)"
printf '$ %s\n' "./petrel broker -listen 127.0.0.1:0 -v &"
"$petrel" broker -listen 127.0.0.1:0 -v >broker.out 2>broker.log &
pids+=($!)
wait_for broker.out '^listening on mqtt://'
sed 's/^/    /' broker.out
port=$(sed -n 's|^listening on mqtt://127\.0\.0\.1:\([0-9]*\)$|\1|p' broker.out)
[ -n "$port" ] || fail "cannot read the port from: $(cat broker.out)"
echo "The broker listens on port $port."

step "Publishing a retained message at QoS 1, before anyone subscribes"
run "$petrel" pub -p "$port" -t demo/status -m online -q 1 -r

step "Subscribing to demo/# at QoS 2, in the background; it exits after 4 messages"
printf '$ %s\n' "./petrel sub -p $port -t 'demo/#' -q 2 -v -C 4 &"
"$petrel" sub -p "$port" -t 'demo/#' -q 2 -v -C 4 -i petrel-demo-sub >sub.out 2>sub.err &
sub=$!
pids+=("$sub")
wait_for sub.out '^demo/status online$'
echo "    sub got the retained message: $(grep '^demo/status' sub.out)"

for m in "0 demo/temperature 21.5" "1 demo/temperature 21.7" "2 demo/door open"; do
	read -r qos topic payload <<<"$m"
	step "Publishing at QoS $qos"
	run "$petrel" pub -p "$port" -t "$topic" -m "$payload" -q "$qos"
	wait_for sub.out "^$topic $payload\$"
	echo "    sub got: $topic $payload"
done

step "sub has its 4 messages and exits"
wait "$sub" || fail "sub exited with code $?: $(cat sub.err)"
echo "What sub printed (topic, then payload):"
sed 's/^/    /' sub.out

step "Stopping the broker with SIGTERM"
kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "the broker exited with code $?"
echo "The broker's log:"
sed 's/^/    /' broker.log

step "Done: the broker, sub and pub have all exited"
echo "Try it with a terminal per program: see \"Try it\" in README.md."
