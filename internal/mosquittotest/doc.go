// Package mosquittotest runs a real Mosquitto broker for tests: Start
// writes a configuration into the test's temporary directory, starts
// mosquitto on free loopback ports (a plain listener, and optionally
// WebSocket, TLS and WebSocket over TLS listeners, and a password file),
// waits until it accepts connections and stops it when the test ends.
//
// It also makes the certificates such listeners need (NewCA, CA.Issue,
// CA.ServerTLS, SelfSigned), so that no key is checked in.
//
// Tests that use it are skipped when mosquitto is not installed, and fail
// instead when the environment variable CI is "true". scripts/deps.sh
// installs it (Debian: apt-get install mosquitto mosquitto-clients).
//
// A Broker's methods may be called from any goroutine of the test.
package mosquittotest
