#!/usr/bin/env bash
# Runs the broker benchmark (TestBrokers): messages per second and the
# broker's CPU time per message through Mosquitto, mochi-mqtt and petrel
# broker, side by side, driven by Petrel's client, by Mosquitto's clients
# (mosquitto_pub -l, mosquitto_sub -C) and by plain.sh, the same case as a
# plain command line: one publisher to one subscriber at QoS 0, 1 and 2,
# and one publisher to 50 subscribers at QoS 0 and 1; 64-byte payloads.
# Prints a table of the medians per driver with petrel broker's ratios to
# the others', how busy Mosquitto's clients and the machine were in the
# cli driver's runs (a case where they are near full measures the driver),
# and the Mosquitto clients' figures beside plain.sh's.
#
#   REPS     runs of each case on each broker with each driver (default 3)
#   CASES    cases to run (default qos0,qos1,qos2,fanout50-qos0,fanout50-qos1)
#   DRIVERS  drivers (default client,cli,plain)
#   SCALE    multiplies the message counts (default 1)
#   NICE     if set, run under nice -n NICE (the brokers inherit it)
#
# Mosquitto and its clients come from Debian's packages: run
# scripts/deps.sh from the top, or apt-get install -y mosquitto
# mosquitto-clients. Run it on a quiet machine (see uptime). The output
# goes to results/brokers-<UTC time>.txt too, and results/latest.txt
# points at it.
set -euo pipefail
cd "$(dirname "$0")"

mkdir -p results
out=results/brokers-$(date -u +%Y%m%dT%H%M%SZ).txt
{
	echo "petrel-rev: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(
		[ -n "$(git status --porcelain -- ../../broker ../../packet ../../session 2>/dev/null)" ] && echo -dirty)"
	echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "mosquitto: $( (/usr/sbin/mosquitto -h 2>/dev/null || mosquitto -h 2>/dev/null || true) | head -1)"
	echo "mochi-mqtt: $(go list -m -f '{{.Version}}' github.com/mochi-mqtt/server/v2)"
} | tee "$out"

nice=()
if [ -n "${NICE:-}" ]; then
	nice=(nice -n "$NICE")
fi
"${nice[@]}" go test -run '^TestBrokers$' -v -count=1 -timeout 120m . \
	-brokers.reps="${REPS:-3}" \
	-brokers.cases="${CASES:-qos0,qos1,qos2,fanout50-qos0,fanout50-qos1}" \
	-brokers.drivers="${DRIVERS:-client,cli,plain}" \
	-brokers.scale="${SCALE:-1}" | tee -a "$out"
ln -sf "$(basename "$out")" results/latest.txt
