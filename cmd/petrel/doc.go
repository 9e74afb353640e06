// Command petrel publishes and subscribes to an MQTT 3.1.1 broker from the
// command line, with the flags of mosquitto_pub and mosquitto_sub, on
// Petrel's session client.
//
//	petrel pub -h broker.local -t sensors/7 -m 21.5 -q 1
//	petrel sub -h broker.local -t 'sensors/#' -v -C 10
//	petrel pub -L mqtts://alice:secret@broker.local/sensors/7 -m 21.5
//	tail -f events.log | petrel pub -t events -l -q 1
//	petrel pub --cafile ca.pem --cert client.pem --key client.key -t a -m hi
//
// pub connects, publishes one message (-m, -f, -s or -n) or each line of
// standard input (-l), waits for each acknowledgement at QoS 1 and 2, and
// disconnects. sub subscribes to one or more filters (-t, repeatable) and
// prints each message on standard output as "payload\n", or "topic
// payload\n" with -v, in arrival order, one write per message so that a
// pipe sees it at once; it runs until -C messages, -E (once subscribed),
// -W, SIGINT or SIGTERM (then it disconnects cleanly and exits with 0).
//
// The broker is -h and -p, or a URL with -L:
// mqtt://[user[:password]@]host[:port][/topic], mqtts://, ws:// or wss://,
// whose path is the topic. TLS comes on with --tls (the system's roots),
// --cafile (only that CA), --cert and --key (a client certificate, whose
// key may be encrypted: its password comes from --key-password, the
// environment variable PETREL_KEY_PASSWORD, or a prompt without echo when
// standard input is a terminal on Linux), or --insecure, which skips the
// verification of the server's certificate and says so loudly.
//
// Run "petrel pub --help" and "petrel sub --help" for every flag.
//
// # Exit codes
//
//	0    success
//	1    usage error: a bad flag, or a file named by a flag that cannot be
//	     used (CA file, certificate, key or its password, message file)
//	2    could not connect: a network or TLS failure, or the broker refused
//	     the connection (the message names the CONNACK return code)
//	3    connected, but a publish or subscribe failed, or the connection
//	     was lost before the command was done
//	27   -W ran out (as mosquitto_sub's -W)
//	130  pub was interrupted by SIGINT or SIGTERM (sub exits with 0)
//
// Errors go to standard error, prefixed "petrel: ". With -d, the client's
// log goes there too, at debug level.
//
// # Differences from mosquitto's clients
//
// Flags are separate words (-r -d, not -rd), parsed by the flag package.
// Only MQTT 3.1.1 is spoken (-V mqttv311). -W bounds the whole run, the
// connection included, and pub takes it too. --connect-timeout and -W take
// seconds or a duration ("10", "10s", "10 s"). -L also takes ws:// and
// wss:// URLs; their path is the topic, and --ws-path the HTTP path. With
// -v, an empty payload prints as "topic " (mosquitto_sub prints "(null)").
package main
