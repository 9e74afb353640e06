#!/usr/bin/env bash
# Runs the end-to-end throughput benchmark (TestE2E): Petrel beside
# paho.mqtt.golang and mosquitto_pub/mosquitto_sub, one publisher to one
# subscriber through a local Mosquitto that the test starts, at QoS 0, 1
# and 2, and prints a table per QoS with the medians and Petrel's ratios.
#
#   REPS     runs of each case and peer (default 3); the table shows medians
#   COUNT    go test -count: repeats of the whole test, each with its table
#            (default 1)
#   PEERS    peers to run (default petrel,petrel-ordered,petrel-serial,paho,
#            mosquitto-clients,petrel-clients: petrel pub -l and petrel sub,
#            run exactly as mosquitto_pub -l and mosquitto_sub, plain: the
#            same case as a plain command line, ../broker/plain.sh, which
#            mosquitto-clients must come within 15% of)
#   QOS      QoS levels to run (default 0,1,2)
#   WINDOW   messages in flight per publisher (default 64)
#   SCALE    multiplies the message counts (default 1: 200,000 at QoS 0,
#            50,000 at QoS 1, 20,000 at QoS 2)
#   NICE     if set, run under nice -n NICE: -10 (as root) keeps background
#            load such as fuzzing from landing on the measurement; the
#            broker and the mosquitto clients inherit it like the Go peers
#   PROFILE  if set, a directory for a CPU profile of each Go peer's run;
#            read with: go tool pprof -top PROFILE/petrel-qos1-*.pprof
#            (-tagfocus client=publisher or client=subscriber for one side)
#
# Mosquitto and its clients come from Debian's packages: run scripts/deps.sh
# from the top, or apt-get install -y mosquitto mosquitto-clients.
#
# The output goes to results/e2e-<UTC time>.txt too, and results/latest.txt
# points at it.
set -euo pipefail
cd "$(dirname "$0")"

mkdir -p results
out=results/e2e-$(date -u +%Y%m%dT%H%M%SZ).txt
{
	echo "petrel-rev: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(
		[ -n "$(git status --porcelain -- ../../session ../../packet ../../transport 2>/dev/null)" ] && echo -dirty)"
	echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out"

nice=()
if [ -n "${NICE:-}" ]; then
	nice=(nice -n "$NICE")
fi
"${nice[@]}" go test -run '^TestE2E$' -v -count="${COUNT:-1}" -timeout 60m . \
	-e2e.reps="${REPS:-3}" \
	-e2e.peers="${PEERS:-petrel,petrel-ordered,petrel-serial,paho,mosquitto-clients,petrel-clients,plain}" \
	-e2e.qos="${QOS:-0,1,2}" \
	-e2e.window="${WINDOW:-64}" \
	-e2e.scale="${SCALE:-1}" \
	-e2e.profile="${PROFILE:-}" | tee -a "$out"
ln -sf "$(basename "$out")" results/latest.txt
