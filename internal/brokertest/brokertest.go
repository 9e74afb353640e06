// Package brokertest starts Petrel's embedded broker (package broker) on a
// free loopback port for a test, and shuts it down when the test ends.
package brokertest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
)

// Start starts a broker.Server for cfg on a free loopback port and returns
// it with its address ("127.0.0.1:port"). The test's cleanup shuts it down
// and waits for it.
func Start(t testing.TB, cfg broker.Config) (*broker.Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return Serve(t, cfg, l), l.Addr().String()
}

// Serve starts a broker.Server for cfg on l (TCP, a Unix socket, any
// listener) and returns it. The test's cleanup shuts it down and waits
// for it.
func Serve(t testing.TB, cfg broker.Config, l net.Listener) *broker.Server {
	t.Helper()
	s, err := broker.New(cfg)
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.Serve(l)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-served
	})
	return s
}
