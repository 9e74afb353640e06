#!/usr/bin/env bash
# One case of the broker benchmark as a plain command line, the reference
# for TestBrokers' own runs with Mosquitto's clients: subscribers
# (mosquitto_sub -C) that each exit after N messages, and one
# mosquitto_pub -l that publishes a file of N lines. Prints the
# microseconds from the start of mosquitto_pub until every subscriber has
# exited.
#
#   plain.sh HOST PORT QOS TOPIC N SUBS WINDOW LINES_FILE OUT_DIR
#
# A retained "ready" on the topic comes first to each subscriber once it is
# subscribed (so each waits for N+1), and the publisher starts when all
# have it.
set -euo pipefail
host=$1 port=$2 qos=$3 topic=$4 n=$5 subs=$6 window=$7 file=$8 out=$9

mosquitto_pub -h "$host" -p "$port" -q 1 -r -t "$topic" -m ready
pids=()
for i in $(seq "$subs"); do
	mosquitto_sub -h "$host" -p "$port" -q "$qos" -t "$topic" -C $((n + 1)) >"$out/sub$i" &
	pids+=($!)
done
for i in $(seq "$subs"); do
	until [ -s "$out/sub$i" ]; do sleep 0.005; done
done
start=$(date +%s%N)
mosquitto_pub -h "$host" -p "$port" -q "$qos" -M "$window" -t "$topic" -l <"$file"
wait "${pids[@]}"
end=$(date +%s%N)
echo $(((end - start) / 1000))
