package transport_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/petrel-mqtt/petrel/transport"
)

func ExampleDial() {
	// TLS with the system's root CAs, host name verified.
	conn, err := transport.Dial(context.Background(), "mqtts://broker.example", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	// Write MQTT packets to conn and read them from it.
}

func ExampleDialer_Dial() {
	pool, err := transport.LoadCAFile("/etc/petrel/ca.pem")
	if err != nil {
		log.Fatal(err)
	}
	d := transport.Dialer{
		TLSConfig: transport.NewTLSConfig(pool), // trust only this CA
		Timeout:   10 * time.Second,             // connect, TLS and upgrade together
		Proxy:     transport.ProxyFromEnvironment,
		Header:    http.Header{"Authorization": {"Bearer token"}},
	}
	conn, err := d.Dial(context.Background(), "wss://broker.example:8443/mqtt")
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
}

func ExampleAddress() {
	for _, host := range []string{"broker.example", "192.0.2.7", "2001:db8::7"} {
		plain, _ := transport.Address(host, 0, false)
		secure, _ := transport.Address(host, 0, true)
		fmt.Println(plain, secure)
	}
	_, err := transport.Address("broker.example", 70000, false)
	fmt.Println(err)
	// Output:
	// mqtt://broker.example:1883 mqtts://broker.example:8883
	// mqtt://192.0.2.7:1883 mqtts://192.0.2.7:8883
	// mqtt://[2001:db8::7]:1883 mqtts://[2001:db8::7]:8883
	// mqtt: address "broker.example:70000": bad port: 70000 is not a port number from 1 to 65535 (or 0 for the default)
}

func ExampleParseAddress() {
	for _, a := range []string{"tcp://broker.example", "ssl://[::1]", "ws://broker.example:9001", "wss://broker.example/ws", "broker.example:1883"} {
		u, err := transport.ParseAddress(a)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(u)
	}
	// Output:
	// tcp://broker.example:1883
	// ssl://[::1]:8883
	// ws://broker.example:9001/mqtt
	// wss://broker.example:443/ws
	// mqtt: address "broker.example:1883": bad scheme: missing scheme; give a URL such as tcp://broker.example:1883 (want tcp, mqtt, ssl, tls, mqtts, ws or wss)
}
