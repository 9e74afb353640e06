# Petrel's tasks. Each wraps a script in scripts/ or a single go command.
FUZZTIME ?= 60s
BENCHCOUNT ?= 6
BENCH ?= .
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
BENCHSTAT := golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

.PHONY: test deps fmt vet cross race norace fuzz bench bench-compare lint demo

# demo: builds petrel, starts petrel broker on a free loopback port, and
# carries a few messages with petrel pub and petrel sub, saying what it
# does. Needs only Go.
demo:
	@scripts/demo.sh

# test: everything CI runs: installs what the tests need (Mosquitto and its
# clients, promtool, RabbitMQ, Chromium, from Debian's packages; MQTT.js
# from npm), then formatting, vet (here and for other systems), the
# race-enabled tests (fuzz seeds included, as unit tests), and the raw I/O
# paths without the race detector.
test: deps fmt vet cross race norace

deps:
	@scripts/deps.sh

fmt:
	@scripts/gofmt-check.sh

vet:
	go vet ./...

# cross: vet, and so type-check, every package and its tests for systems
# other than this one: Windows, macOS, 32-bit Linux (where int is 32
# bits) and FreeBSD.
cross:
	GOOS=windows go vet ./...
	GOOS=darwin GOARCH=arm64 go vet ./...
	GOARCH=386 go vet ./...
	GOOS=freebsd go vet ./...

# race: every package's tests under the race detector. The RabbitMQ
# cluster's own tests run after the rest, so that no two clusters boot and
# elect their Raft leaders at once on a small machine (cmd/petrel starts
# one for its failover tests).
race:
	go test -race -count=1 -timeout 30m $$(go list ./... | grep -v /internal/rabbitmqtest$$)
	go test -race -count=1 -timeout 30m ./internal/rabbitmqtest/

# norace: the packages whose reads and writes are raw system calls on Linux
# (internal/nowait) without the race detector too: under it they are
# syscall.Read and syscall.Write, which tell it of the ordering that I/O
# makes.
norace:
	go test -count=1 -timeout 10m ./internal/nowait/ ./broker/ ./session/

# fuzz: run every fuzz target in fuzz/ for FUZZTIME each.
fuzz:
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# bench: Petrel's codec benchmarks, BENCHCOUNT runs, summarised by benchstat.
bench:
	go test -run '^$$' -bench '$(BENCH)' -benchmem -count=$(BENCHCOUNT) ./packet/ | tee bench.out
	go run $(BENCHSTAT) bench.out

# bench-compare: Petrel beside mochi-mqtt and paho.mqtt.golang (bench/codec,
# a nested module), in one run, with the ratios.
bench-compare:
	cd bench/codec && BENCHCOUNT=$(BENCHCOUNT) BENCHSTAT=$(BENCHSTAT) ./compare.sh

# bench-e2e: end-to-end throughput through a local Mosquitto, Petrel beside
# paho.mqtt.golang and mosquitto_pub/mosquitto_sub (bench/e2e, a nested
# module), at QoS 0, 1 and 2, 3 runs each, with the medians and the ratios.
.PHONY: bench-e2e
bench-e2e:
	cd bench/e2e && ./run.sh

# bench-broker: messages per second and broker CPU per message through
# petrel broker, Mosquitto and mochi-mqtt, side by side, driven by Petrel's
# client and by mosquitto_pub/mosquitto_sub, beside the same runs as a
# plain command line (bench/broker, a nested module): 1 to 1 at QoS 0, 1
# and 2, and 1 to 50, with the medians of REPS runs and the ratios.
.PHONY: bench-broker
bench-broker:
	cd bench/broker && ./run.sh

lint:
	go run $(STATICCHECK) ./...

# soak: the fault-injection test at length: 100,000 QoS 1 and 100,000
# QoS 2 messages through Mosquitto and through Petrel's broker, with at
# least 500 cuts each, the figures printed (Mosquitto's log lines left out).
.PHONY: soak
soak: deps
	PETREL_SOAK=1 go test -race -count=1 -v -timeout 120m -run '^TestFaultInjection(Broker)?$$' ./session/ | grep -v '^        [0-9][0-9]:'
