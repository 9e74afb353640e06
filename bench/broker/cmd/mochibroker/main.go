// Command mochibroker runs mochi-mqtt's broker (github.com/mochi-mqtt/server/v2)
// on one TCP listener, for TestBrokers to measure beside petrel broker and
// Mosquitto as a process of its own. It prints "listening on
// mqtt://ADDR" once the listener is bound, and stops on SIGINT or SIGTERM.
//
// The broker keeps mochi-mqtt's defaults but one: a client's queue of
// pending writes holds 65,536 packets (MaximumClientWritesPending, 8,192
// by default, beyond which mochi-mqtt drops the message for that client),
// as the benchmark lifts the other brokers' queue limits.
package main

import (
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "the address of the TCP listener")
	flag.Parse()

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumClientWritesPending = 65536
	srv := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		log.Fatal(err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "tcp", Address: *listen})
	if err := srv.AddListener(tcp); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on mqtt://%s\n", tcp.Address())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	if err := srv.Serve(); err != nil { // starts the listeners and returns
		log.Fatal(err)
	}
	<-stop
	srv.Close()
}
