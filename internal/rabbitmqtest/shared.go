package rabbitmqtest

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
)

// shared is the cluster of the test package, started by the first call to
// Shared and stopped by StopShared.
var shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// Shared returns the cluster shared by the tests of the package, starting
// it on the first call (10-40 s) and restarting any node a previous test
// left down. If the test fails, the node logs written during it are
// printed.
//
// If rabbitmq-server is not installed, Shared skips the test, or fails it
// when the environment variable CI is "true". If the cluster failed to
// start, every test that calls Shared fails with that error, without
// trying again.
//
// A package that calls Shared stops the cluster in TestMain, after its
// tests and before the check for leaked goroutines:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		rabbitmqtest.StopShared()
//		os.Exit(leaktest.Finish(code))
//	}
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.once.Do(func() { shared.c, shared.err = Start() })
	if errors.Is(shared.err, ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatal(shared.err.Error() + " (CI=true: a missing broker fails the test)")
		}
		t.Skip(shared.err)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	c := shared.c
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	var marks [Size]int
	for i, n := range c.nodes {
		marks[i] = len(n.Log())
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, n := range c.nodes {
			log := n.Log()
			if len(log) < marks[i] {
				continue
			}
			t.Logf("%v logged during the test (the end):\n%s", n, tail(strings.TrimPrefix(log[marks[i]:], "\n"), 200))
		}
	})
	return c
}

// StopShared stops the cluster Shared started, if any, and removes its
// files.
func StopShared() {
	if shared.c != nil {
		shared.c.Close()
	}
}
