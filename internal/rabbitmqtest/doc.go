// Package rabbitmqtest runs a real three-node RabbitMQ cluster with the
// MQTT plugin on loopback, for tests of what happens when one broker of a
// cluster dies: Start writes the configuration of each node into a
// temporary directory, starts node 1 and then the other two in parallel
// on free ports, waits until each accepts MQTT connections and checks that a message published
// on one node reaches a subscriber on another. Node.Kill (SIGKILL),
// Node.Stop (a clean shutdown) and Cluster.Restart take nodes down and
// bring them back with their data.
//
// A cluster takes 10-40 s to start, so a test package starts one and
// shares it: Shared starts it on first use, and TestMain stops it with
// StopShared. Tests that share it must use client ids and topics of their
// own, and leave every node running (Shared restarts those a test left
// down).
//
// Three nodes, because the MQTT plugin tracks client ids in a Raft cluster
// (3.10's mqtt_node), which needs a majority: a two-node cluster that loses
// one node refuses MQTT connections. RabbitMQ 3.10 answers a QoS 2 PUBLISH
// with PUBACK (it downgrades QoS 2 to 1) and delivers at most at QoS 1.
//
// How the nodes run, and why:
//
//   - The server script is run directly (Debian's
//     /usr/lib/rabbitmq/bin/rabbitmq-server), as the user running the
//     tests, not through /usr/sbin/rabbitmq-server, which as root switches
//     to the rabbitmq user with su (then every directory must belong to
//     that user, and HOME, hence the Erlang cookie, becomes
//     /var/lib/rabbitmq).
//   - Each cluster has its own epmd on a free port (ERL_EPMD_PORT), so
//     that clusters of concurrent test binaries, and any RabbitMQ of the
//     system, do not see each other's node names, and nothing is left
//     running afterwards.
//   - The nodes share an Erlang cookie in $HOME/.erlang.cookie, HOME being
//     the cluster's directory (RABBITMQ_ERLANG_COOKIE is deprecated).
//   - Nodes 2 and 3 join node 1 as they boot (peer discovery from the
//     configuration, classic_config), rather than by rabbitmqctl
//     stop_app, join_cluster and start_app after booting: that saves a
//     restart of the application and three CLI runs of 2-3 s each.
//   - Clusters of test binaries running at once (go test runs packages in
//     parallel) boot one after the other, under a lock file in the
//     temporary directory: a boot is CPU-bound, and two at once on two
//     cores took over three minutes under load.
//   - RABBITMQ_ALLOW_INPUT makes the script exec the Erlang VM, so that
//     the process started is the node itself (SIGKILL kills the node),
//     and its standard input is a pipe that the test process holds: when
//     the test binary dies, the node reads end of file and halts.
//
// Start returns ErrNotInstalled when rabbitmq-server is missing; Shared
// then skips the test, or fails it when the environment variable CI is
// "true". scripts/deps.sh installs it (Debian: apt-get install
// rabbitmq-server).
//
// The methods of Cluster and Node may be called from any goroutine.
package rabbitmqtest
