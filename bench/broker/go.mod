module github.com/petrel-mqtt/petrel/bench/broker

go 1.26

require github.com/petrel-mqtt/petrel v0.0.0

replace github.com/petrel-mqtt/petrel => ../..
