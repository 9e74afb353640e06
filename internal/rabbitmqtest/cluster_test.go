package rabbitmqtest

import (
	"strings"
	"testing"
	"time"
)

// TestClusterStop stops node 2 cleanly, and Shared restarts it for the next user.
//
// It runs first, on the cluster as it started: right after node 1 was
// killed and restarted, node 2 restarted after a clean stop once waited
// 5 minutes for the leader of the MQTT plugin's Raft group ("leader not
// known") while the other two had elected one (CI=true make test).
func TestClusterStop(t *testing.T) {
	c := Shared(t)
	n2 := c.Node(2)
	n2.Stop()
	if n2.Running() {
		t.Fatal("node 2 still running after Stop")
	}
	if !strings.Contains(n2.Log(), "stop") {
		t.Errorf("node 2 logged no stop:\n%s", tail(n2.Log(), 20))
	}
	if err := routes(c.Node(1), c.Node(3)); err != nil {
		t.Fatalf("with node 2 stopped: %v", err)
	}
	Shared(t)
	if !n2.Running() {
		t.Fatal("Shared did not restart node 2")
	}
	if err := routes(c.Node(1), n2); err != nil {
		t.Fatalf("after the restart of node 2: %v", err)
	}
}

// TestClusterKillAndRestart kills node 1: nodes 2 and 3 still accept MQTT
// connections (the Raft group of client ids keeps its majority) and route
// messages to each other; node 1, restarted, is back in the cluster.
func TestClusterKillAndRestart(t *testing.T) {
	c := Shared(t)
	t.Logf("cluster started in %v", c.Startup().Round(100*time.Millisecond))
	n1, n2, n3 := c.Node(1), c.Node(2), c.Node(3)
	for _, n := range []*Node{n1, n2, n3} {
		if !strings.HasPrefix(n.URL(), "mqtt://127.0.0.1:") || n.Port() == 0 {
			t.Errorf("%v: URL %q", n, n.URL())
		}
	}
	if err := routes(n1, n2, n3); err != nil {
		t.Fatal(err)
	}

	n1.Kill()
	if n1.Running() {
		t.Fatal("node 1 still running after Kill")
	}
	if _, err := dial(n1.Addr(), "rabbitmqtest-killed"); err == nil {
		t.Fatal("node 1 accepted a connection after Kill")
	}
	if err := routes(n3, n2); err != nil {
		t.Fatalf("with node 1 killed: %v", err)
	}
	if err := routes(n2, n3); err != nil {
		t.Fatalf("with node 1 killed: %v", err)
	}

	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("node 1 restarted in %v", n1.BootTime().Round(100*time.Millisecond))
	if err := routes(n3, n1); err != nil {
		t.Fatalf("after the restart of node 1: %v", err)
	}
}
