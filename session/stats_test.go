package session

import (
	"context"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// statsClient connects a client with cfg, closed when the test ends.
func statsClient(t *testing.T, ctx context.Context, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	return c
}

// statsTraffic publishes n messages at each QoS from pub, and waits for
// them to reach the handler feeding got.
func statsTraffic(t *testing.T, ctx context.Context, pub *Client, got <-chan *Message, n int) {
	t.Helper()
	for q := range 3 {
		for range n {
			if err := pub.Publish(ctx, Message{Topic: "stats/x", Payload: []byte("hello"), QoS: packet.QoS(q)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 3 * n {
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatal("messages did not arrive")
		}
	}
}
