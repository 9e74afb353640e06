// Command petrel publishes and subscribes to an MQTT 3.1.1 broker from the
// command line, with the flags of mosquitto_pub and mosquitto_sub, on
// Petrel's session client; it also runs Petrel's broker (petrel broker),
// edits its password files (petrel passwd), and measures any broker's
// throughput, latency and losses (petrel bench).
//
//	petrel pub -h broker.local -t sensors/7 -m 21.5 -q 1
//	petrel sub -h broker.local -t 'sensors/#' -v -C 10
//	petrel pub -L mqtts://alice:secret@broker.local/sensors/7 -m 21.5
//	tail -f events.log | petrel pub -t events -l -q 1
//	petrel pub --cafile ca.pem --cert client.pem --key client.key -t a -m hi
//
// pub connects, publishes one message (-m, -f, -s or -n) or each line of
// standard input (-l, in order, up to -M lines awaiting acknowledgement at
// once, 20 by default as mosquitto_pub's), waits for each acknowledgement
// at QoS 1 and 2, and disconnects; with -l and standard error on a
// terminal, it keeps a progress line there. sub subscribes to one or more filters (-t, repeatable) and
// prints each message on standard output as "payload\n", or "topic
// payload\n" with -v, in arrival order, one write per message so that a
// pipe sees it at once; it runs until -C messages, -E (once subscribed),
// -W, SIGINT or SIGTERM (then it disconnects cleanly and exits with 0).
//
// The broker is -h and -p, or a URL with -L:
// mqtt://[user[:password]@]host[:port][/topic], mqtts://, ws:// or wss://,
// whose path is the topic. -h may list the nodes of a cluster,
// host[:port],host[:port],... (-p for those without a port): the client
// connects to the first that accepts, and on each reconnection tries the
// next. TLS comes on with --tls (the system's roots),
// --cafile (only that CA), --cert and --key (a client certificate, whose
// key may be encrypted: its password comes from --key-password, the
// environment variable PETREL_KEY_PASSWORD, or a prompt without echo when
// standard input is a terminal on Linux), or --insecure, which skips the
// verification of the server's certificate and says so loudly. --proxy
// connects through a SOCKS5 proxy, socks5h://[user[:password]@]host[:port],
// as mosquitto's clients do; --unix PATH connects over a Unix socket
// instead of TCP.
//
// pub and sub run on one thread of Go code (GOMAXPROCS 1) unless the
// GOMAXPROCS environment variable says otherwise: a client moving one
// stream spends less on one thread than on several (see clientProcs).
// sub writes the QoS 0 messages of a burst together, as soon as it has
// handled the last of them, and a QoS 1 or 2 message before acknowledging
// it; when standard input or output is a pipe, pub and sub read and write
// it without blocking a thread (see stdio.go).
//
// # Reconnecting
//
// Once connected, pub and sub reconnect by themselves when the connection
// is lost, as mosquitto_sub does: after a delay that doubles from 100ms to
// 30s with each failed attempt, jittered (--reconnect-delay min[,max]),
// and starts from min again once a connection has lasted 10s. Each loss
// and each return is a line on standard error ("petrel: connection lost
// (...); reconnecting", "petrel: reconnected"), never on standard output;
// -d logs the attempts. A first connection that fails still exits with 2,
// and so does a refusal on reconnecting for the client's configuration
// (bad user name or password, not authorized, identifier rejected): it is
// reported, not retried. --no-reconnect makes a lost connection end the
// run with exit code 3.
//
// With -c (clean session off, with -i) the session goes on across
// reconnections: the broker keeps the subscriptions and queues messages
// meanwhile, the client sends again what the broker had not acknowledged,
// so that "petrel sub -c -q 2" prints every message exactly once, and
// "petrel pub -c -q 2 -l" delivers every line exactly once, however often
// the link drops. During an outage pub waits: each message, QoS 0
// included, is sent once the connection is back. A message that cannot be
// sent (-W, a signal, a refusal) is an error and a non-zero exit code,
// never a silent drop. Without -c the broker forgets the session on each
// reconnection: pub publishes a QoS 1 message whose PUBACK was lost again,
// and fails for a QoS 2 one, whose fate is then unknown.
//
// --store dir (with -c) keeps the session's QoS 1 and 2 state on disk, in
// a crash-safe log (package store): a pub killed or interrupted mid-stream
// leaves its unacknowledged messages there, and the next run with the same
// -i and --store sends them first; a sub keeps the identifiers of QoS 2
// messages it has printed but not completed, so that the next run does not
// print them again.
//
// # petrel broker
//
// "petrel broker" runs the broker package: MQTT 3.1.1 over TCP (-listen),
// TLS (-listen-tls, with -certfile and -keyfile; -cafile and
// -require-certificate for client certificates, -use-identity-as-username
// to take the certificate's common name as the user), WebSocket
// (-listen-ws) and WebSocket over TLS (-listen-wss); with no listener it
// listens on port 1883 (or each -p port, as Mosquitto) of 127.0.0.1 and
// ::1. It prints "listening on <url>" per listener on standard output,
// logs to standard error (-v for debug), and shuts
// down cleanly on SIGINT or SIGTERM, publishing the wills of clients still
// connected. -password-file (written by petrel passwd) and
// -allow-anonymous decide who connects, -acl-file (Mosquitto's format)
// what each may read and write; -persistence-dir keeps persistent
// sessions and retained messages across restarts. -c file reads the flags
// from "key value" lines. Its exit codes: 0 stopped by a signal, 1 usage,
// 2 could not listen, 3 a listener failed or the shutdown ran out of time.
//
// # petrel passwd
//
// "petrel passwd [-c] file user" adds a user to a password file or changes
// its password, as mosquitto_passwd does: the password is asked twice
// without echo (or taken from the command line with -b), hashed with
// PBKDF2-HMAC-SHA512 and a random salt (-iterations), and the file
// replaced atomically with mode 0600. -c creates the file, -D deletes the
// user.
//
// # petrel version
//
// "petrel version" (or "petrel --version") prints the version and, for a
// binary built in a Git checkout, the revision it was built from, read
// from the binary's build information: "petrel v0.1.0-dev (rev
// 21a4c6d1e2f3, 2026-12-02T17:00:00Z, dirty) go1.26.8 linux/amd64".
//
// Run "petrel pub --help", "petrel sub --help", "petrel broker --help" and
// "petrel passwd --help" for every flag.
//
// # Exit codes of pub and sub
//
//	0    success
//	1    usage error: a bad flag, or a file named by a flag that cannot be
//	     used (CA file, certificate, key or its password, message file)
//	2    could not connect: a network or TLS failure, or the broker refused
//	     the connection, at first or on reconnecting (the message names the
//	     CONNACK return code)
//	3    connected, but a publish or subscribe failed, or (with
//	     --no-reconnect) the connection was lost before the command was done
//	27   -W ran out (as mosquitto_sub's -W)
//	130  pub was interrupted by SIGINT or SIGTERM (sub exits with 0)
//
// Errors go to standard error, prefixed "petrel: ". With -d, the client's
// log goes there too, at debug level.
//
// # Differences from mosquitto's clients
//
// One-letter boolean flags may be grouped (-rd is -r -d; mosquitto's
// clients refuse groups); flags are parsed by the flag package. Only MQTT
// 3.1.1 is spoken (-V mqttv311), so -x is checked and has no effect. -W
// bounds the whole run, the connection included, and pub takes it too.
// --connect-timeout and -W take seconds or a duration ("10", "10s",
// "10 s"). -L also takes ws:// and wss:// URLs; their path is the topic,
// and --ws-path the HTTP path. sub -U may be given without -t, as the
// manual says (mosquitto_sub 2.0.11 refuses it). sub -F refuses an unknown
// strftime letter after '@' (mosquitto_sub hands it to strftime).
// --proxy also takes socks5:// (petrel resolves the broker's name) and
// http:// (an HTTP proxy that allows CONNECT); mosquitto's take
// socks5h:// only.
package main
