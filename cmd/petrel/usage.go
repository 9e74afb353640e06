package main

// The usage texts. Every flag registered in newFlagSet, runPub and runSub
// appears here; TestUsageNamesEveryFlag checks it.

const usage = `Usage: petrel <command> [flags]

Petrel's MQTT 3.1.1 client for the command line, with the flags of
mosquitto_pub and mosquitto_sub, and Petrel's broker.

Commands:
  pub      publish a message, or each line of standard input
  sub      subscribe and print the messages received
  broker   run an MQTT broker (TCP, TLS, WebSocket)
  passwd   add, change or delete a user of a broker password file
  bench    measure a broker: throughput, latency, lost and reordered messages
  version  print petrel's version and revision (also: petrel --version)

Run 'petrel <command> --help' for its flags.
` + exitCodes

const pubUsage = `Usage: petrel pub [flags] -t topic {-m message | -f file | -s | -l | -n}

Connects, publishes one message (or each line of standard input, with -l),
waits for its acknowledgement at QoS 1 and 2, and disconnects. At QoS 0 it
pings the broker before disconnecting: a connection closed right after the
message (as a broker closes it on one over its size limit) is an error.

Message:
  -t topic          the topic to publish to (or the path of the -L URL)
  -m message        the message
  -f file           send the contents of file
  -s                send standard input, read to the end, as one message
  -l                send each line of standard input as a message, without
                    its "\n" (an empty line is an empty message), until end
                    of input, in order; at QoS 1 and 2 up to -M lines await
                    their acknowledgement at once. When standard error is a
                    terminal, a line there shows, once a second, the lines
                    read, sent and acknowledged and the rate (cleared at
                    the end; petrel's own)
  -M n              with -l at QoS 1 and 2: how many lines may await their
                    acknowledgement at once, sent in order (default 20, as
                    mosquitto_pub's -M); the run fails if any line does
  --max-inflight n  the same as -M
  -n                send an empty (null) message
  -q qos            quality of service: 0, 1 or 2 (default 0)
  -r                retain the message; -r -n clears the retained message
  --repeat n        publish the message of -m, -f, -s or -n n times, each
                    once the one before is delivered (default 1)
  --repeat-delay t  with --repeat: wait t between publishes (seconds, "0.5",
                    or a duration, "500ms"; default 0)
  -x seconds        MQTT v5's session expiry interval (0 to 4294967295, -1
                    or ∞): checked, and without effect in MQTT 3.1.1,
                    where -c keeps the session (as mosquitto_pub -V 311)

When the connection is lost, pub reconnects and waits: each message, QoS 0
included, is sent once the connection is back, and pub goes on. A message
that cannot be sent (-W ran out, a signal, the broker refused the client)
is reported, with a non-zero exit code: never dropped silently. Without -c
the broker forgets the session on a reconnection, so a QoS 1 message whose
PUBACK was lost is published again, and a QoS 2 message fails (its fate is
unknown); with -c both are completed as their QoS promises.
` + connectionFlags + exitCodes

const subUsage = `Usage: petrel sub [flags] -t filter [-t filter ...] [-U filter ...]

Subscribes to the topic filters and prints each message received on
standard output, in arrival order, as its payload and a newline (with -v,
"topic payload"; with -F, a format of your own), flushed at once. SIGINT or
SIGTERM disconnects cleanly and exits with 0. When the connection is lost,
sub says so on standard error, reconnects and goes on; with -c (and -q 1 or
2) the broker keeps the messages meanwhile, and at -q 2 each is printed
exactly once.

Subscription:
  -t filter         a topic filter to subscribe to, wildcards + and # allowed;
                    repeat -t for more (a topic in the -L URL comes first)
  -q qos            the largest QoS to receive messages with: 0, 1 or 2
                    (default 0)
  -U filter         unsubscribe from filter (repeatable), after subscribing
                    to those of -t; with -U alone, unsubscribe and exit: for
                    a persistent session (-c -i id)
  -C count          exit after count messages (those -R, -T and
                    --retained-only leave out do not count)
  -E                exit once subscribed (and unsubscribed, with -U)

Which messages:
  -R                skip the retained messages (stale: sent on subscribing)
  --retained-only   print only the retained messages, and exit (0) at the
                    first that is not; not with -R
  -T filter         skip the messages whose topic filter matches
                    (repeatable)
  --remove-retained clear each retained message received (but those -T
                    skips), publishing an empty retained message to its
                    topic at QoS 1; with --retained-only it clears a tree:
                    -t 'a/#' --remove-retained --retained-only
  --random-filter p print a message with a chance of p percent (0.1 to 100)

Output (one write per message):
  -v                print "topic payload" rather than the payload alone; an
                    empty payload prints "topic (null)", and without -v
                    nothing, as mosquitto_sub
  -N                no newline after each message
  -F format         print each message as format says, as mosquitto_sub -F:
                    %t topic, %p payload, %x or %X payload in hex, %l its
                    length, %q QoS, %r retain flag (0 or 1), %m message id
                    (0 at QoS 0), %j JSON of the message with the payload
                    as a string, %J with the payload as JSON (it must be),
                    %I ISO 8601 time, %U Unix time "seconds.nanoseconds",
                    %% a '%'; a width and precision as printf's (%-10.5t,
                    %05l); @ and a letter of strftime(3) (@Y-@m-@d @H:@M:@S,
                    @N nanoseconds, @@ an '@'); escapes \n \t \r \v \a
                    \e \0 \\; MQTT v5's %A %C %D %E %F %P %R %S print as
                    absent. A newline follows unless -N.
                    Example: -F '%I %t %p'  -F '%j'  -F '@H:@M:@S %05l %x'
  --pretty          indent the JSON of %j and %J
  -x seconds        MQTT v5's session expiry interval (0 to 4294967295, -1
                    or ∞): checked, and without effect in MQTT 3.1.1,
                    where -c keeps the session (as mosquitto_sub -V 311)
` + connectionFlags + exitCodes

const connectionFlags = `
Broker:
  -h host           the broker's host name or IP address (default localhost);
                    or the nodes of a cluster, host[:port],host[:port],...,
                    tried in turn on connecting and on each reconnection
  -p port           the broker's port (default 1883, or 8883 with TLS)
  -L url            the broker as a URL, instead of -h and -p:
                    mqtt://[user[:password]@]host[:port][/topic]; also
                    mqtts:// (TLS), ws:// (WebSocket) and wss://; the path is
                    the topic, percent-decoded (mqtt://host/a%20b/# is "a b/#")
  --ws-path path    the HTTP path of a ws:// or wss:// URL (default /mqtt)
  --unix path       connect over the Unix socket at path, as mosquitto's
                    --unix, instead of -h, -p and -L; plain MQTT only (no
                    TLS, no --proxy)
  --proxy url       connect through a proxy, as mosquitto's --proxy:
                    socks5h://[user[:password]@]host[:port], SOCKS5 (port
                    1080 by default), the proxy resolving the broker's name;
                    petrel's own: socks5://... (petrel resolves the name)
                    and http://[user[:password]@]host[:port], an HTTP proxy
                    that allows CONNECT (port 80 by default). TLS and
                    WebSocket go through the tunnel. %40, %3A and %25 in
                    the user name or password are @, : and %
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
  --quiet           print no runtime error (the exit code still tells);
                    usage errors are printed

Reconnecting (once connected; a first connection that fails exits with 2):
  --no-reconnect    exit when the connection is lost (exit code 3), instead
                    of reconnecting by itself
  --reconnect-delay min[,max]
                    the delay before reconnecting: min at first, doubling up
                    to max with each failed attempt, jittered (default
                    0.1,30: seconds or durations, "100ms,30s"); it starts
                    from min again once a connection has lasted 10s. A
                    refusal by the broker (bad user name or password, not
                    authorized, identifier rejected) ends the run with exit
                    code 2, without retrying. With -c the session goes on
                    across reconnections: no QoS 1 or 2 message is lost,
                    and QoS 2 messages are delivered exactly once.
  --store dir       keep the session's QoS 1 and 2 state in dir (created if
                    need be), so that the next run with the same -c -i id
                    finishes what this one began: pub sends again what the
                    broker had not acknowledged, sub recognises QoS 2
                    messages it had already printed; needs -c

Will, published by the broker if the connection ends without DISCONNECT:
  --will-topic topic
  --will-payload message
  --will-qos qos    0, 1 or 2 (default 0)
  --will-retain

TLS (--tls, --cafile, --capath, --cert and --insecure turn TLS on, as an
mqtts:// or wss:// URL does):
  --tls             TLS, trusting the system's root certificates
  --cafile file     TLS, trusting only the CA certificates in file (PEM)
  --capath dir      TLS, trusting only the CA certificates in the PEM files
                    of dir (with --cafile: those too); no rehash needed
  --tls-version v   speak only this TLS version: tlsv1.3, tlsv1.2 or tlsv1.1
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

One-letter flags without a value may be grouped (-rd is -r -d; mosquitto's
clients refuse that); long flags take one dash or two.
`

const exitCodes = `
Exit codes:
  0    success
  1    usage error: a bad flag, or a file named by a flag that cannot be used
       (CA file, certificate, key or its password, message file)
  2    could not connect: a network or TLS failure, or the broker refused the
       connection, at first or on reconnecting (the message names the
       CONNACK return code)
  3    connected, but a publish or subscribe failed, or (with
       --no-reconnect) the connection was lost before the command was done
  27   -W ran out
  130  pub was interrupted by SIGINT or SIGTERM (sub exits with 0)
`

const brokerUsage = `Usage: petrel broker [flags]

Runs an MQTT 3.1.1 broker until SIGINT or SIGTERM, then shuts it down
cleanly: clients that did not disconnect have their wills published, and
persistent sessions are saved with -persistence-dir. SIGHUP reads the
password and ACL files again and reopens log files, as Mosquitto does. It prints one line per
listener on standard output, "listening on mqtt://127.0.0.1:1883", with the
port the system chose for port 0; it logs to standard error.

Listeners (each may be repeated; with none, port 1883 of 127.0.0.1 and
::1):
  -listen addr      MQTT over TCP on host:port (":1883": every interface)
  -listen-tls addr  MQTT over TLS; needs -certfile and -keyfile
  -listen-ws addr   MQTT over WebSocket, on any HTTP path
  -listen-wss addr  MQTT over WebSocket over TLS
  -p port           Mosquitto's: with no other listener, MQTT over TCP on
                    this port of 127.0.0.1 and ::1 (instead of 1883);
                    ignored, with a warning, when a listener is given

TLS:
  -certfile file    the server's certificate chain (PEM); a leaf alone is
                    sent with its issuers from -cafile (and capath), the
                    root left out
  -keyfile file     the server's private key (PEM, not encrypted)
  -cafile file      the CA certificates that sign client certificates (PEM);
                    a client certificate, if given, must verify against them
  -require-certificate
                    TLS clients must present a certificate; needs -cafile
  -use-identity-as-username
                    the certificate's common name is the client's user name,
                    and no password is asked; needs -require-certificate.
                    Clients without a certificate (on -listen or -listen-ws)
                    are refused unless -password-file or -allow-anonymous
                    lets them in

Access (without -password-file every client may connect, and the user name
it sends is taken as given):
  -password-file file
                    users and their password hashes, written by petrel passwd
  -allow-anonymous  with -password-file or -use-identity-as-username, let
                    clients without a user name (or certificate) in too
  -acl-file file    who may read and write what: Mosquitto's ACL format
                    ("user alice", "topic readwrite sensors/#",
                    "pattern write clients/%c/#"); without it, everything
                    is allowed except publishing to $SYS/

State and limits (0 means the default):
  -persistence-dir dir
                    keep persistent sessions and retained messages in dir
                    across restarts
  -persist-interval t
                    each change is written to dir at once (a kill loses
                    none); the longest it waits to be fsynced (default 1s)
  -max-connections n
                    clients connected at once (default 10000); connections
                    that have not sent CONNECT yet are limited apart
  -max-sessions n   persistent sessions (clean session 0) held, connected
                    or offline (default 100000); a new one beyond ends the
                    session offline the longest (CONNACK 3 if none is)
  -max-pending n    connections accepted whose CONNECT is not handled yet
                    (default 1024); beyond, the oldest is closed, so silent
                    sockets cannot keep clients out
  -max-pending-per-ip n
                    pending connections from one IP address (default 0: no
                    limit); beyond, a new one is closed at once
  -max-connect-packet-size n
                    the largest packet accepted before CONNECT is accepted,
                    in bytes (default 65536)
  -max-inflight n   outgoing QoS 1 and 2 messages awaiting acknowledgement,
                    per client (default 64, at most 65535)
  -max-queued n     messages queued per session beyond the in-flight window
                    or while offline (default 1000); above half of it,
                    publishers to a connected client are held back; beyond
                    it, messages are dropped, counted and logged
  -max-queued-bytes n
                    bytes of queued and in-flight messages per session
                    (default 33554432, 32 MiB), held back and dropped as
                    for -max-queued
  -max-total-queued-bytes n
                    bytes of queued and in-flight messages of all sessions
                    (default 268435456, 256 MiB)
  -max-retained-bytes n
                    bytes of all retained messages, with their topics'
                    nodes (default 268435456, 256 MiB); a retained
                    message beyond is delivered but not retained, counted
                    and logged
  -max-subscriptions n
                    subscriptions per session (default 10000); a filter
                    beyond gets return code 0x80, counted and logged
  -max-subscription-bytes n
                    what one session's subscriptions cost together: each
                    its filter's bytes and 144 a level (default 8388608,
                    8 MiB); beyond, refused as for -max-subscriptions
  -stall-timeout t  how long a client may take no message while publishers
                    wait for it before it is disconnected (default 10s)
  -max-packet-size n
                    the largest packet accepted, in bytes (default 1048576)
  -max-topic-levels n
                    the most levels in a topic or filter (default 201:
                    200 '/', Mosquitto's limit); a client sending a deeper
                    one is disconnected
  -sys-interval t   publish counters under $SYS/broker/ every t (default 0:
                    none)
  -shutdown-timeout t
                    how long a shutdown may take (default 10s)

Durations are seconds ("10") or Go durations ("10s", "1m").

Monitoring:
  -metrics-listen addr
                    serve the broker's counters and the Go runtime's over
                    HTTP at http://addr/metrics, in Prometheus's text
                    format; prints "metrics on http://addr/metrics". Keep
                    addr private (loopback, or a firewalled port): it has
                    no authentication
  -pprof            also serve Go's profiler at /debug/pprof/ on the
                    -metrics-listen address
  -log-format f     text (default: slog's key=value lines) or json (one
                    JSON object per line)

Other:
  -c file           read a Mosquitto 2 configuration file (mosquitto.conf,
                    its include_dir, password and ACL files as they are;
                    see docs/migrating-from-mosquitto.md), or flags, one
                    "key value" per line, the key a flag's name without
                    its dash ("listen 127.0.0.1:1883", "max-queued 5000",
                    "require-certificate"); '#' starts a comment line;
                    flags on the command line win
  -v                log at debug level: connections, subscriptions

Mosquitto's command line (mosquitto -c file -p port -v) works as it is:
  -config-file file the same as -c ("--" works as "-" for every flag)
  -port port        the same as -p
  -verbose          the same as -v
  -d                refused: petrel broker does not put itself in the
                    background; run it under a service manager
  -daemon           the same as -d

Exit codes:
  0    stopped by SIGINT or SIGTERM
  1    usage error: a bad flag or configuration line, or a file named by a
       flag that cannot be used
  2    could not listen on an address (-metrics-listen's too)
  3    a listener failed while running, or the shutdown did not finish in
       time
`

const passwdUsage = `Usage: petrel passwd [-c] file user
       petrel passwd [-c] -b file user password
       petrel passwd -D file user

Adds a user to a password file of petrel broker (-password-file), or
changes its password, as mosquitto_passwd does; the password is hashed with
PBKDF2-HMAC-SHA512 and a random salt. Without -b the password is asked for
twice, without echo. The file is replaced atomically, with mode 0600.

  -c                create the file, replacing one that exists
  -b                take the password from the command line (it is then
                    visible to other users of the machine)
  -D                delete the user
  -iterations n     PBKDF2 iterations (default 210000)
  -mosquitto        write Mosquitto 2's $7$ hash (PBKDF2-SHA512 too), which
                    mosquitto reads as well; petrel broker reads $7$ and $6$

Exit codes:
  0    success
  1    usage error, or the file cannot be read
  3    -D of a user not in the file, or the file cannot be written
`

const benchUsage = `Usage: petrel bench [flags]

Measures an MQTT 3.1.1 broker, any broker: connects subscribers, then
publishers, which publish until each has sent -n messages or -duration has
passed; waits for the subscribers to receive what was acknowledged; and
reports the messages per second sent and received, the end-to-end latency
(p50, p90, p99, max), and per subscriber the messages lost, duplicated and
out of order. Each payload starts with a 24-byte header (a random run id,
the publisher, the message's sequence number and the time it was sent), so
no broker support is needed; latency is measured with the local clock, so
run publishers and subscribers on one machine. While running it prints a
progress line each second on standard error.

Broker:
  -h host           the broker's host (default localhost)
  -p port           the broker's port (default 1883, 8883 with TLS)
  -L url            the broker as a URL instead: mqtt://host:port,
                    mqtts://..., ws://host:port/path, wss://...
  -u user           user name
  -P password       password
  -cafile file      verify the broker's TLS certificate against this CA
                    (PEM) instead of the system's; turns TLS on
  -insecure         do not verify the broker's TLS certificate; turns TLS on

Load:
  -pub n            publishers (default 1)
  -sub n            subscribers (default 1); each subscribes to -filter
  -q qos            the QoS of publications and subscriptions (default 0)
  -s bytes          payload size, at least 24 (default 64)
  -n count          messages per publisher (default 1000, or no limit with
                    -duration)
  -duration t       publish for t ("10s", "1m"); with -n, whichever ends
                    first
  -rate r           messages a second per publisher (default 0: as fast as
                    the broker acknowledges, -inflight at a time at QoS 1
                    and 2)
  -t pattern        each publisher's topic: %i is its number (0, 1...), %c
                    its client id (default "petrel/bench/%i")
  -filter pattern   each subscriber's filter, with %i and %c likewise
                    (default "petrel/bench/#")
  -connect-rate r   connections a second (default 0: 32 at a time)
  -inflight n       QoS 1 and 2 messages awaiting acknowledgement per
                    publisher (default 64); Mosquitto closes the connection
                    of a client with more QoS 2 messages awaiting PUBCOMP
                    than its max_inflight_messages (default 20): use
                    -inflight 20 against it
  -drain t          once publishing ends, how long to wait without any
                    message before giving up on the missing ones (default
                    5s)
  -i prefix         client id prefix; clients are prefix-pub-N and
                    prefix-sub-N (default petrel-bench-PID)

Output:
  -json             the report as one JSON object
  -quiet            no progress lines

A subscriber expects every message acknowledged to a publisher whose topic
its filter matches (at QoS 0, every message sent); those it never received
are lost. A client whose connection ends is not reconnected: its messages
from then on are lost, and the report names its error.

Exit codes:
  0    done; at QoS 0 some messages may have been lost (see the report)
  1    usage error
  2    a client could not connect, or the broker refused it
  3    a client's connection ended during the run, or a publish failed
  4    messages were lost at QoS 1 or 2
  130  interrupted while connecting
`
