package main

// The usage texts. Every flag registered in newFlagSet, runPub and runSub
// appears here; TestUsageNamesEveryFlag checks it.

const usage = `Usage: petrel <command> [flags]

Petrel's MQTT 3.1.1 client for the command line, with the flags of
mosquitto_pub and mosquitto_sub.

Commands:
  pub   publish a message, or each line of standard input
  sub   subscribe and print the messages received

Run 'petrel pub --help' or 'petrel sub --help' for their flags.
` + exitCodes

const pubUsage = `Usage: petrel pub [flags] -t topic {-m message | -f file | -s | -l | -n}

Connects, publishes one message (or each line of standard input, with -l),
waits for its acknowledgement at QoS 1 and 2, and disconnects.

Message:
  -t topic          the topic to publish to (or the path of the -L URL)
  -m message        the message
  -f file           send the contents of file
  -s                send standard input, read to the end, as one message
  -l                send each line of standard input as a message, without
                    its "\n" (an empty line is an empty message), until end
                    of input; each is acknowledged before the next is sent
  -n                send an empty (null) message
  -q qos            quality of service: 0, 1 or 2 (default 0)
  -r                retain the message; -r -n clears the retained message
` + connectionFlags + exitCodes

const subUsage = `Usage: petrel sub [flags] -t filter [-t filter ...]

Subscribes to the topic filters and prints each message received on
standard output, in arrival order, as its payload and a newline (with -v,
"topic payload"), flushed at once. SIGINT or SIGTERM disconnects cleanly
and exits with 0.

Subscription:
  -t filter         a topic filter to subscribe to, wildcards + and # allowed;
                    repeat -t for more (a topic in the -L URL comes first)
  -q qos            the largest QoS to receive messages with: 0, 1 or 2
                    (default 0)
  -C count          exit after printing count messages
  -E                exit once subscribed
  -v                print "topic payload" rather than the payload alone
` + connectionFlags + exitCodes

const connectionFlags = `
Broker:
  -h host           the broker's host name or IP address (default localhost)
  -p port           the broker's port (default 1883, or 8883 with TLS)
  -L url            the broker as a URL, instead of -h and -p:
                    mqtt://[user[:password]@]host[:port][/topic]; also
                    mqtts:// (TLS), ws:// (WebSocket) and wss://; the path is
                    the topic, percent-decoded (mqtt://host/a%20b/# is "a b/#")
  --ws-path path    the HTTP path of a ws:// or wss:// URL (default /mqtt)
  -V version        the protocol version: only mqttv311 (or 311)
  --connect-timeout t
                    how long connecting may take: seconds ("10") or a
                    duration ("10s", "10 s", "1m") (default 30s)
  -W t              end the run after t, connecting included, with exit
                    code 27; seconds or a duration, as for --connect-timeout

Client:
  -i id             the client id (default petrel-pub-<pid> or
                    petrel-sub-<pid>)
  -c                persistent session: clean session off; needs -i
  -k seconds        keepalive interval; 0 turns keepalive off (default 60)
  -u user           the user name
  -P password       the password; needs -u
  -d                print debug messages to standard error

Will, published by the broker if the connection ends without DISCONNECT:
  --will-topic topic
  --will-payload message
  --will-qos qos    0, 1 or 2 (default 0)
  --will-retain

TLS (--tls, --cafile, --cert and --insecure turn TLS on, as an mqtts:// or
wss:// URL does):
  --tls             TLS, trusting the system's root certificates
  --cafile file     TLS, trusting only the CA certificates in file (PEM)
  --cert file       the client certificate (PEM); without --key, file holds
                    the private key too
  --key file        the client certificate's private key (PEM: PKCS#8,
                    PKCS#1 or SEC1, possibly encrypted)
  --key-password p  the password of an encrypted key; else the environment
                    variable PETREL_KEY_PASSWORD; else, when standard input
                    is a terminal, a prompt (without echo on Linux). A
                    password on the command line is visible to other users
                    of the machine: prefer the variable or the prompt.
  --insecure        do not verify the server's certificate: for tests only

Flags are separate words (-r -d, not -rd); long flags take one dash or two.
`

const exitCodes = `
Exit codes:
  0    success
  1    usage error: a bad flag, or a file named by a flag that cannot be used
       (CA file, certificate, key or its password, message file)
  2    could not connect: a network or TLS failure, or the broker refused the
       connection (the message names the CONNACK return code)
  3    connected, but a publish or subscribe failed, or the connection was
       lost before the command was done
  27   -W ran out
  130  pub was interrupted by SIGINT or SIGTERM (sub exits with 0)
`
