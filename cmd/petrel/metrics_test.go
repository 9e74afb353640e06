package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// promtoolPath returns the path of Prometheus's promtool. When it is
// missing the test is skipped, or fails if CI is "true", as mosquittoTool
// does.
func promtoolPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("promtool not found (CI=true: a missing tool fails the test): %v", err)
	}
	t.Skip("promtool not found: apt-get install prometheus (scripts/deps.sh does)")
	return ""
}

var metricsLine = regexp.MustCompile(`(?m)^metrics on (http://\S+/metrics)$`)

// waitMetricsURL waits for petrel broker to print its -metrics-listen URL.
func waitMetricsURL(t *testing.T, p *proc) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := metricsLine.FindStringSubmatch(p.stdout.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("petrel broker did not print its metrics URL; stdout %q, log %q", p.stdout.String(), tail(p.stderr.String()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// httpGet returns the status and body of a GET of url.
func httpGet(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// scrape fetches url, has promtool check the exposition, and returns its
// samples by name with their labels ("x_total{qos=\"1\"}").
func scrape(t *testing.T, promtool, url string) map[string]float64 {
	t.Helper()
	code, body, h := httpGet(t, url)
	if code != http.StatusOK || h.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET %s: status %d, Content-Type %q", url, code, h.Get("Content-Type"))
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s\nof\n%s", err, out, body)
	}
	m := make(map[string]float64)
	for _, line := range strings.Split(body, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

// TestBrokerMetrics runs the built petrel broker with -metrics-listen,
// -pprof and -log-format json, carries messages at each QoS and a refused
// login through it with petrel pub and sub, and checks the exposition with
// promtool and the counters' moves.
func TestBrokerMetrics(t *testing.T) {
	promtool := promtoolPath(t)
	pw := filepath.Join(t.TempDir(), "passwords")
	if code, _, stderr := petrel(t, "", "passwd", "-c", "-b", "-iterations", "1000", pw, "alice", "wonder"); code != exitOK {
		t.Fatalf("passwd: exit code %d, stderr %q", code, stderr)
	}
	p := startProc(t, nil, petrelBin(t), "broker", "-listen", "127.0.0.1:0", "-metrics-listen", "127.0.0.1:0",
		"-pprof", "-password-file", pw, "-log-format", "json")
	host, port, _ := net.SplitHostPort(listenAddr(t, p))
	url := waitMetricsURL(t, p)
	before := scrape(t, promtool, url)
	conn := []string{"-h", host, "-p", port, "-u", "alice", "-P", "wonder"}

	sub := start(t, nil, nil, join([]string{"sub"}, conn, []string{"-i", "metrics-sub", "-t", "m/#", "-q", "2", "-C", "6"})...)
	for deadline := time.Now().Add(10 * time.Second); scrape(t, promtool, url)["petrel_broker_subscriptions"] != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("no subscription within 10s; sub's stderr %q", sub.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"-t", "m/0", "-q", "0", "-m", "x"}},
		{"a\nb\n", []string{"-t", "m/1", "-q", "1", "-l"}},
		{"a\nb\nc\n", []string{"-t", "m/2", "-q", "2", "-l"}},
	} {
		if code, _, stderr := petrel(t, c.stdin, join([]string{"pub"}, conn, c.args)...); code != exitOK {
			t.Fatalf("pub %q: exit code %d, stderr %q", c.args, code, stderr)
		}
	}
	if code := sub.wait(t); code != exitOK {
		t.Fatalf("sub: exit code %d, stderr %q", code, sub.stderr.String())
	}
	if code, _, _ := petrel(t, "", "pub", "-h", host, "-p", port, "-u", "alice", "-P", "wrong", "-t", "m/x", "-m", "x"); code != exitConnect {
		t.Errorf("pub with a bad password: exit code %d, want %d", code, exitConnect)
	}
	after := scrape(t, promtool, url)

	for name, want := range map[string]float64{
		`petrel_broker_messages_received_total{qos="0"}`:                1,
		`petrel_broker_messages_received_total{qos="1"}`:                2,
		`petrel_broker_messages_received_total{qos="2"}`:                3,
		`petrel_broker_messages_sent_total{qos="0"}`:                    1,
		`petrel_broker_messages_sent_total{qos="1"}`:                    2,
		`petrel_broker_messages_sent_total{qos="2"}`:                    3,
		`petrel_broker_connections_accepted_total`:                      5, // sub, three pubs, the bad login
		`petrel_broker_connections_refused_total{code="5"}`:             1,
		`petrel_broker_connections_refused_total{code="4"}`:             0,
		`petrel_broker_auth_failures_total`:                             1,
		`petrel_broker_publishes_denied_total`:                          0,
		`petrel_broker_messages_undelivered_total{reason="queue_full"}`: 0,
	} {
		b, okb := before[name]
		a, oka := after[name]
		if !okb || !oka {
			t.Errorf("%s: missing from the exposition", name)
		} else if a-b != want {
			t.Errorf("%s moved by %v (%v to %v), want %v", name, a-b, b, a, want)
		}
	}
	// Bytes: each PUBLISH is at least its topic and payload, plus 2.
	for _, name := range []string{"petrel_broker_received_bytes_total", "petrel_broker_sent_bytes_total"} {
		if d := after[name] - before[name]; d < 6*(2+3+1) {
			t.Errorf("%s moved by %v, want at least %d", name, d, 6*(2+3+1))
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "petrel_broker_uptime_seconds"} {
		if after[name] <= 0 {
			t.Errorf("%s = %v, want > 0", name, after[name])
		}
	}

	// -pprof serves the profiler on the same listener.
	base := strings.TrimSuffix(url, "/metrics")
	if code, body, _ := httpGet(t, base+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("GET /debug/pprof/: status %d, body %.200q", code, body)
	}
	if code, body, _ := httpGet(t, base+"/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("GET /debug/pprof/goroutine: status %d, body %.200q", code, body)
	}
	if code, _, _ := httpGet(t, base+"/other"); code != http.StatusNotFound {
		t.Errorf("GET /other: status %d, want 404", code)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t); code != exitOK {
		t.Errorf("broker exit code %d after SIGTERM", code)
	}
	// -log-format json: one JSON object per line.
	lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
	for _, line := range lines {
		var rec struct{ Msg, Level string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Msg == "" || rec.Level == "" {
			t.Errorf("log line %q: not a JSON record with msg and level (%v)", line, err)
		}
	}
	if !strings.Contains(p.stderr.String(), `"msg":"broker stopped"`) {
		t.Errorf("no JSON record of the stop in %q", tail(p.stderr.String()))
	}
}

// TestBrokerMetricsFlags checks the flags' errors, and that without -pprof
// the profiler is not served.
func TestBrokerMetricsFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-pprof"}, "-pprof needs -metrics-listen"},
		{[]string{"-log-format", "xml"}, `-log-format "xml": text or json`},
		{[]string{"-listen", "127.0.0.1:0", "-metrics-listen", "256.0.0.1:0"}, "-metrics-listen 256.0.0.1:0"},
	} {
		code, _, stderr := petrel(t, "", append([]string{"broker"}, c.args...)...)
		if code == exitOK || !strings.Contains(stderr, c.want) {
			t.Errorf("broker %q: exit code %d, stderr %q; want an error with %q", c.args, code, stderr, c.want)
		}
	}
	b := startPetrelBroker(t, 1, "-listen", "127.0.0.1:0", "-metrics-listen", "127.0.0.1:0")
	b.stdout.waitFor(t, "metrics on http://")
	url := metricsLine.FindStringSubmatch(b.stdout.String())[1]
	if code, _, _ := httpGet(t, strings.TrimSuffix(url, "/metrics")+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ without -pprof: status %d, want 404", code)
	}
	if code, body, _ := httpGet(t, url); code != http.StatusOK || !strings.Contains(body, "petrel_broker_clients_connected 0\n") {
		t.Errorf("GET /metrics: status %d, body %.300q", code, body)
	}
	b.stop(t)
}
