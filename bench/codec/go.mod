module github.com/petrel-mqtt/petrel/bench/codec

go 1.26

require (
	github.com/eclipse/paho.mqtt.golang v1.5.1
	github.com/mochi-mqtt/server/v2 v2.7.9
	github.com/petrel-mqtt/petrel v0.0.0
)

replace github.com/petrel-mqtt/petrel => ../..
