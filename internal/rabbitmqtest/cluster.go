package rabbitmqtest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Install tells how to install RabbitMQ.
const Install = "run scripts/deps.sh, or: apt-get install -y rabbitmq-server"

// Size is the number of nodes of a Cluster.
const Size = 3

// ErrNotInstalled is returned by Start when rabbitmq-server or epmd is not
// found.
var ErrNotInstalled = errors.New("rabbitmqtest: rabbitmq-server not found; " + Install)

// errAddrInUse: a port chosen was taken by someone else before the node
// or epmd bound it; Start tries again with other ports.
var errAddrInUse = errors.New("address in use")

// Cluster is three RabbitMQ nodes clustered together, each with an MQTT
// listener on loopback.
type Cluster struct {
	dir      string // holds everything: cookie, configs, node data, logs
	server   string // the rabbitmq-server script
	epmd     *process
	epmdPort int
	nodes    [Size]*Node
	startup  time.Duration
}

// Start starts a cluster: epmd, node 1, then nodes 2 and 3 in parallel,
// joining node 1 as they boot. It returns once every node accepts
// MQTT connections and messages published on nodes 2 and 3 reach a
// subscriber on node 1. Close stops it.
func Start() (*Cluster, error) {
	server, epmd, err := lookPaths()
	if err != nil {
		return nil, err
	}
	// A node's boot is CPU-bound: clusters of test binaries running in
	// parallel boot one after the other, each faster for it.
	unlock := lockBoot()
	defer unlock()
	var errs []error
	for range 3 {
		c, err := start(server, epmd)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func start(server, epmd string) (_ *Cluster, err error) {
	began := time.Now()
	dir, err := os.MkdirTemp("", "rabbitmqtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, server: server}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if err := c.writeFiles(); err != nil {
		return nil, err
	}
	ports, err := freePorts(1 + 3*Size)
	if err != nil {
		return nil, err
	}
	c.epmdPort = ports[0]
	for i := range c.nodes {
		p := ports[1+3*i:]
		c.nodes[i] = &Node{c: c, index: i + 1, mqttPort: p[0], amqpPort: p[1], distPort: p[2]}
		if err := c.nodes[i].writeConfig(); err != nil {
			return nil, err
		}
	}
	if err := c.startEPMD(epmd); err != nil {
		return nil, err
	}
	// Node 1 first, then the others in parallel. The MQTT plugin of a
	// blank node that finds no peer running it waits 3-6 s, then forms a
	// Raft group of client ids of its own: nodes booting together can end
	// in separate groups, and a node whose group never elects a leader
	// closes every CONNECT ("leader not known", "client ID registration
	// timed out"), for good. Seen under load. Nodes 2 and 3, started once
	// node 1 accepts MQTT, find it and join its group.
	if err := c.Restart(c.nodes[0]); err != nil {
		return nil, err
	}
	if err := c.Restart(); err != nil {
		return nil, err
	}
	if err := c.checkRouting(); err != nil {
		return nil, err
	}
	c.startup = time.Since(began)
	return c, nil
}

// writeFiles writes what the nodes share: the Erlang cookie (in HOME, the
// cluster's directory), the enabled plugins, and an empty environment
// file so that /etc/rabbitmq/rabbitmq-env.conf is not read.
func (c *Cluster) writeFiles() error {
	cookie := rand.Text() // 26 letters and digits
	if err := os.WriteFile(filepath.Join(c.dir, ".erlang.cookie"), []byte(cookie), 0o400); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.dir, "enabled_plugins"), []byte("[rabbitmq_mqtt].\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.dir, "rabbitmq-env.conf"), nil, 0o644)
}

// startEPMD starts the cluster's own epmd, on loopback, and waits until it
// accepts connections.
func (c *Cluster) startEPMD(bin string) error {
	logPath := filepath.Join(c.dir, "epmd.log")
	cmd := exec.Command(bin, "-port", strconv.Itoa(c.epmdPort), "-address", "127.0.0.1")
	p, err := launch(cmd, logPath)
	if err != nil {
		return fmt.Errorf("rabbitmqtest: starting %s: %v", bin, err)
	}
	c.epmd = p
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(c.epmdPort))
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-p.exited:
			log, _ := os.ReadFile(logPath)
			err := fmt.Errorf("rabbitmqtest: epmd exited at start (%v):\n%s", p.cmd.ProcessState, log)
			if strings.Contains(string(log), "in use") {
				err = fmt.Errorf("%w: %w", errAddrInUse, err)
			}
			return err
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("rabbitmqtest: epmd not accepting connections on %s after 10s: %v", addr, err)
		}
	}
}

// Node returns node i, from 1 to Size.
func (c *Cluster) Node(i int) *Node { return c.nodes[i-1] }

// Startup returns how long Start took, from nothing to a cluster whose
// three nodes accept MQTT connections and route messages to each other.
func (c *Cluster) Startup() time.Duration { return c.startup }

// Restart starts again, in parallel, each of nodes that is not running (a
// node killed or stopped, or one that died), with the data it had, and
// waits until each accepts MQTT connections. Without nodes, it restarts
// every node that is not running; with all running, it does nothing.
//
// One node restarts in 7-15 s. The whole cluster, killed or stopped,
// takes about two minutes: each node boots in 10-30 s, then the MQTT
// plugins wait for each other (3.10's mqtt_node asks its peers for the
// members of the client id Raft group, with a timeout of 100 s, before
// restarting its own member), and meanwhile every CONNECT is closed
// without CONNACK after 5 s ("client ID registration timed out").
func (c *Cluster) Restart(nodes ...*Node) error {
	if len(nodes) == 0 {
		nodes = c.nodes[:]
	}
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		if n.Running() {
			continue
		}
		wg.Go(func() { errs[i] = n.start() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close kills every node (SIGKILL: their data is thrown away) and epmd,
// and removes the cluster's files.
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		if n != nil {
			wg.Go(n.Kill)
		}
	}
	wg.Wait()
	if c.epmd != nil {
		c.epmd.kill()
	}
	os.RemoveAll(c.dir)
}

// lookPaths finds the rabbitmq-server script and epmd. Debian's
// /usr/sbin/rabbitmq-server is a wrapper that, as root, runs the server
// as the rabbitmq user through su, with that user's HOME: the script it
// wraps, in /usr/lib/rabbitmq/bin, is used instead.
func lookPaths() (server, epmd string, err error) {
	server = lookPath("rabbitmq-server", []string{"/usr/lib/rabbitmq/bin"}, []string{"/usr/local/sbin", "/opt/homebrew/sbin"})
	epmd = lookPath("epmd", nil, []string{"/usr/lib/erlang/bin", "/usr/local/lib/erlang/bin", "/opt/homebrew/bin"})
	if server == "" || epmd == "" {
		return "", "", ErrNotInstalled
	}
	return server, epmd, nil
}

// lookPath finds the executable name in first, then in PATH, then in
// then, skipping Debian's script wrapper.
func lookPath(name string, first, then []string) string {
	usable := func(p string) bool {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
			return false
		}
		real, err := filepath.EvalSymlinks(p)
		return err == nil && filepath.Base(real) != "rabbitmq-script-wrapper"
	}
	for _, dir := range first {
		if p := filepath.Join(dir, name); usable(p) {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil && usable(p) {
		return p
	}
	for _, dir := range then {
		if p := filepath.Join(dir, name); usable(p) {
			return p
		}
	}
	return ""
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

// process is a started program whose exit is awaited.
type process struct {
	cmd    *exec.Cmd
	stdin  *os.File      // the write end of its standard input, if a pipe
	exited chan struct{} // closed when it has exited
}

// launch starts cmd with its output appended to logPath.
func launch(cmd *exec.Cmd, logPath string) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// kill kills p with SIGKILL and waits for it to exit.
func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.exited
	if p.stdin != nil {
		p.stdin.Close()
	}
}

// running reports whether p has not exited.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}
