package broker_test

import (
	"context"
	"log"

	"github.com/petrel-mqtt/petrel/broker"
)

// A broker at the edge, bridged to the nodes of a cluster: what devices
// publish on sensors/# goes out at QoS 1, kept on disk while the cluster
// is unreachable; commands for this site come in from sites/7/cmd/#, as
// cmd/#.
func ExampleBridge() {
	s, err := broker.New(broker.Config{
		PersistenceDir: "/var/lib/petrel",
		MaxQueued:      100000, // what the bridge's session may hold during an outage
		Bridges: []broker.Bridge{{
			Name:      "cluster",
			Addresses: []string{"mq1.example:1883", "mq2.example:1883", "mq3.example:1883"},
			ClientID:  "site-7",
			Topics: []broker.BridgeTopic{
				{Pattern: "sensors/#", Direction: broker.Out, QoS: 1},
				{Pattern: "cmd/#", Direction: broker.In, QoS: 1, RemotePrefix: "sites/7/"},
			},
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	// s.Serve(listener)...
}
