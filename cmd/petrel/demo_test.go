package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDemo runs scripts/demo.sh, what make demo runs, and checks that
// every message arrived and everything stopped.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds petrel and runs the demo")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not found")
	}
	p := startProc(t, nil, bash, "../../scripts/demo.sh")
	select { // a cold go build may take a while
	case <-p.done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("demo.sh did not exit within 3 minutes; stdout:\n%s", p.stdout.String())
	}
	if p.err != nil {
		t.Fatalf("demo.sh: %v\nstdout:\n%s\nstderr:\n%s", p.err, p.stdout.String(), p.stderr.String())
	}
	for _, want := range []string{
		"listening on mqtt://127.0.0.1:",
		"sub got the retained message: demo/status online",
		"sub got: demo/temperature 21.5",
		"sub got: demo/temperature 21.7",
		"sub got: demo/door open",
		`msg="broker stopped"`,
		"==> Done",
	} {
		if !strings.Contains(p.stdout.String(), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, p.stdout.String())
		}
	}
}
