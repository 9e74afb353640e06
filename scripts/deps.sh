#!/usr/bin/env bash
# Installs what the tests need and is missing: the Mosquitto broker and
# its clients (mosquitto, mosquitto_passwd, mosquitto_pub), Python's
# paho-mqtt, Prometheus's promtool (package prometheus), which checks
# petrel broker's /metrics, and RabbitMQ (rabbitmq-server, with Erlang and
# the MQTT plugin), whose three-node cluster internal/rabbitmqtest runs,
# and Chromium (Debian's chromium), in which cmd/petrel's TestBrowser runs
# MQTT.js against petrel broker's WebSocket listener.
# Uses apt-get (Debian, Ubuntu), as root or through sudo. Installs nothing
# when everything is there.
#
# Then MQTT.js itself: the npm package mqtt, at the exact version
# MQTTJS_VERSION below, with npm (from apt's npm package when missing) into
# the user's cache, ${XDG_CACHE_HOME:-$HOME/.cache}/petrel/npm (Go's
# os.UserCacheDir), outside the repository. TestBrowser reads its browser
# build from node_modules/mqtt/dist/mqtt.min.js there. Skipped when that
# version is there already.
set -euo pipefail

MQTTJS_VERSION=5.16.0
npm_dir="${XDG_CACHE_HOME:-$HOME/.cache}/petrel/npm"
mqttjs_pkg="$npm_dir/node_modules/mqtt/package.json"

# have_mqttjs: MQTTJS_VERSION's browser build is in npm_dir.
have_mqttjs() {
	[ -f "$npm_dir/node_modules/mqtt/dist/mqtt.min.js" ] && [ -f "$mqttjs_pkg" ] &&
		grep -q "\"version\": *\"$MQTTJS_VERSION\"" "$mqttjs_pkg"
}

install_mqttjs() {
	if have_mqttjs; then
		echo "deps: MQTT.js (npm mqtt@$MQTTJS_VERSION) is in $npm_dir"
		return 0
	fi
	command -v npm >/dev/null || {
		echo "deps: npm not found; cannot install mqtt@$MQTTJS_VERSION" >&2
		exit 1
	}
	mkdir -p "$npm_dir"
	echo "+ npm install --prefix $npm_dir mqtt@$MQTTJS_VERSION --no-audit --no-fund"
	npm install --prefix "$npm_dir" "mqtt@$MQTTJS_VERSION" --no-audit --no-fund || {
		echo "deps: npm install mqtt@$MQTTJS_VERSION failed" >&2
		exit 1
	}
	have_mqttjs || {
		echo "deps: npm installed mqtt@$MQTTJS_VERSION but $npm_dir/node_modules/mqtt/dist/mqtt.min.js is not there" >&2
		exit 1
	}
	echo "deps: installed MQTT.js (npm mqtt@$MQTTJS_VERSION) in $npm_dir"
}

missing=()
# mosquitto lives in /usr/sbin, which is not in every user's PATH.
if ! command -v mosquitto >/dev/null && [ ! -x /usr/sbin/mosquitto ]; then
	missing+=(mosquitto)
fi
if ! command -v mosquitto_passwd >/dev/null || ! command -v mosquitto_pub >/dev/null; then
	missing+=(mosquitto-clients)
fi
# apt installs the module for the system's /usr/bin/python3, which may not be
# the python3 first in PATH (pyenv, venv): tests should run /usr/bin/python3.
have_paho() {
	local py
	for py in /usr/bin/python3 "$(command -v python3 || true)"; do
		[ -x "$py" ] && "$py" -c 'import paho.mqtt' 2>/dev/null && return 0
	done
	return 1
}
if ! have_paho; then
	missing+=(python3-paho-mqtt)
fi
if ! command -v promtool >/dev/null; then
	missing+=(prometheus)
fi
# The tests run the script that Debian's /usr/sbin/rabbitmq-server wraps
# (see internal/rabbitmqtest).
if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && ! command -v rabbitmq-server >/dev/null; then
	missing+=(rabbitmq-server)
fi
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
	missing+=(chromium)
fi
# npm installs MQTT.js (below); only needed when it is not there yet.
if ! have_mqttjs && ! command -v npm >/dev/null; then
	missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: mosquitto, mosquitto-clients, python3-paho-mqtt, prometheus (promtool), rabbitmq-server and chromium are installed"
	install_mqttjs
	exit 0
fi

fail() {
	echo "deps: $*" >&2
	echo "deps: install by hand: apt-get install -y ${missing[*]}" >&2
	exit 1
}

command -v apt-get >/dev/null || fail "apt-get not found; cannot install ${missing[*]} on this system"
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null; then
	sudo=(sudo)
else
	fail "not root and sudo not found"
fi

echo "deps: installing ${missing[*]}"
echo "+ ${sudo[*]:+${sudo[*]} }apt-get update"
"${sudo[@]}" apt-get update -qq || fail "apt-get update failed"
echo "+ ${sudo[*]:+${sudo[*]} }apt-get install -y --no-install-recommends ${missing[*]}"
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
	fail "apt-get install failed"
echo "deps: installed ${missing[*]}"
install_mqttjs
