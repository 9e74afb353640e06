package rabbitmqtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// startTimeout bounds the wait for a node to accept MQTT connections:
	// 10-30 s usually, minutes on a machine loaded many times over.
	startTimeout = 5 * time.Minute
	// stopTimeout bounds a clean stop, after which the node is killed.
	stopTimeout = 30 * time.Second
	// logTail is how many lines of a node's log an error quotes.
	logTail = 60
)

// Node is one RabbitMQ node of a Cluster.
type Node struct {
	c                            *Cluster
	index                        int // from 1
	mqttPort, amqpPort, distPort int

	mu       sync.Mutex
	proc     *process      // nil before the first start and after Kill or Stop
	bootTime time.Duration // how long the latest start took
}

// Name returns the node's Erlang name: rabbitN@localhost.
func (n *Node) Name() string { return "rabbit" + strconv.Itoa(n.index) + "@localhost" }

// Addr returns the host:port of the node's MQTT listener.
func (n *Node) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.mqttPort)) }

// Port returns the port of the node's MQTT listener.
func (n *Node) Port() int { return n.mqttPort }

// URL returns the address of the node's MQTT listener:
// mqtt://127.0.0.1:port.
func (n *Node) URL() string { return "mqtt://" + n.Addr() }

// String returns "node N (host:port)", for messages.
func (n *Node) String() string { return fmt.Sprintf("node %d (%s)", n.index, n.Addr()) }

// BootTime returns how long the node's latest start took, until it
// accepted an MQTT connection.
func (n *Node) BootTime() time.Duration {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.bootTime
}

// Running reports whether the node's process is running.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc != nil && n.proc.running()
}

// Kill kills the node with SIGKILL, as a crash or a power cut would, and
// waits until it has exited. Cluster.Restart starts it again.
func (n *Node) Kill() {
	if p := n.take(); p != nil {
		p.kill()
	}
}

// Stop stops the node cleanly (SIGTERM: RabbitMQ closes its connections
// and leaves the cluster's running nodes), or kills it if it has not
// exited after 30 seconds. Cluster.Restart starts it again.
func (n *Node) Stop() {
	p := n.take()
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		p.stdin.Close()
	case <-time.After(stopTimeout):
		p.kill()
	}
}

// take returns the node's process, if any, and forgets it.
func (n *Node) take() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.proc
	n.proc = nil
	return p
}

// Log returns what the node has logged, across its restarts.
func (n *Node) Log() string {
	b, _ := os.ReadFile(n.logPath())
	return string(b)
}

func (n *Node) dir() string      { return filepath.Join(n.c.dir, "node"+strconv.Itoa(n.index)) }
func (n *Node) logPath() string  { return filepath.Join(n.c.dir, "node"+strconv.Itoa(n.index)+".log") }
func (n *Node) confPath() string { return filepath.Join(n.c.dir, "node"+strconv.Itoa(n.index)+".conf") }

// writeConfig writes the node's rabbitmq.conf: its listeners on loopback
// and, for nodes 2 and 3, node 1 as the peer to join when booting blank.
// A node joins at its first boot only; after that it knows its cluster.
func (n *Node) writeConfig() error {
	var c strings.Builder
	c.WriteString("# written by internal/rabbitmqtest\n")
	fmt.Fprintf(&c, "listeners.tcp.default = 127.0.0.1:%d\n", n.amqpPort)
	fmt.Fprintf(&c, "mqtt.listeners.tcp.default = 127.0.0.1:%d\n", n.mqttPort)
	c.WriteString("mqtt.allow_anonymous = true\n")
	if n.index > 1 {
		c.WriteString("cluster_formation.peer_discovery_backend = classic_config\n")
		fmt.Fprintf(&c, "cluster_formation.classic_config.nodes.1 = %s\n", n.c.nodes[0].Name())
		// Node 1 may be booting too (the whole cluster restarted):
		// keep trying to reach it for as long as a start may take.
		interval := 500 * time.Millisecond
		fmt.Fprintf(&c, "cluster_formation.discovery_retry_interval = %d\n", interval.Milliseconds())
		fmt.Fprintf(&c, "cluster_formation.discovery_retry_limit = %d\n", startTimeout/interval)
	}
	if err := os.MkdirAll(n.dir(), 0o755); err != nil {
		return err
	}
	return os.WriteFile(n.confPath(), []byte(c.String()), 0o644)
}

// env returns the environment of the node's process: the test's, without
// its RABBITMQ_ and ERL_ variables, plus the node's.
func (n *Node) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "RABBITMQ_") || strings.HasPrefix(k, "ERL_") || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	c := n.c
	return append(env,
		"HOME="+c.dir, // for $HOME/.erlang.cookie
		"ERL_EPMD_PORT="+strconv.Itoa(c.epmdPort),
		"RABBITMQ_NODENAME="+n.Name(),
		"RABBITMQ_NODE_PORT="+strconv.Itoa(n.amqpPort),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(n.distPort),
		"RABBITMQ_MNESIA_BASE="+n.dir(),
		"RABBITMQ_LOG_BASE="+n.dir(),
		"RABBITMQ_LOGS=-", // standard output, which is the node's log file
		"RABBITMQ_CONFIG_FILE="+n.confPath(),
		"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(c.dir, "advanced.config"), // absent
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(c.dir, "rabbitmq-env.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(c.dir, "enabled_plugins"),
		// exec the VM rather than run it under a shell that traps signals
		"RABBITMQ_ALLOW_INPUT=1",
		// Distribution on loopback only; schedulers that sleep when idle
		// rather than spin, on machines the tests share.
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none",
	)
}

// start starts the node's process and waits until it accepts an MQTT
// connection.
func (n *Node) start() error {
	began := time.Now()
	stdin, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer stdin.Close()
	if f, err := os.OpenFile(n.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
		fmt.Fprintf(f, "=== rabbitmqtest: starting node %d at %s\n", n.index, began.Format("15:04:05.000"))
		f.Close()
	}
	cmd := exec.Command(n.c.server)
	cmd.Env = n.env()
	cmd.Dir = n.dir()
	cmd.Stdin = stdin
	p, err := launch(cmd, n.logPath())
	if err != nil {
		w.Close()
		return fmt.Errorf("rabbitmqtest: starting %s: %v", n.c.server, err)
	}
	p.stdin = w
	n.mu.Lock()
	if n.proc != nil { // a node that died by itself
		n.proc.stdin.Close()
	}
	n.proc = p
	n.mu.Unlock()
	if err := n.waitReady(p); err != nil {
		return err
	}
	n.mu.Lock()
	n.bootTime = time.Since(began)
	n.mu.Unlock()
	return nil
}

// waitReady waits until the node answers an MQTT CONNECT with an
// accepting CONNACK, which it does once the MQTT plugin has joined the
// cluster's Raft group of client ids.
func (n *Node) waitReady(p *process) error {
	deadline := time.Now().Add(startTimeout)
	var err error
	for {
		var cl *client
		if cl, err = dial(n.Addr(), "rabbitmqtest-ready-"+strconv.Itoa(n.index)); err == nil {
			cl.close()
			return nil
		}
		select {
		case <-p.exited:
			return n.failure(fmt.Sprintf("exited while starting (%v)", p.cmd.ProcessState), nil)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return n.failure(fmt.Sprintf("not accepting MQTT connections after %v", startTimeout), err)
		}
	}
}

// failure returns an error saying what went wrong with the node, with the
// end of its log.
func (n *Node) failure(what string, err error) error {
	if err != nil {
		what += ": " + err.Error()
	}
	log := n.Log()
	err = fmt.Errorf("rabbitmqtest: %v %s; the end of its log:\n%s", n, what, tail(log, logTail))
	if l := strings.ToLower(log); strings.Contains(l, "eaddrinuse") || strings.Contains(l, "address already in use") {
		err = fmt.Errorf("%w: %w", errAddrInUse, err)
	}
	return err
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
