package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The browser build of MQTT.js (npm package mqtt) that scripts/deps.sh
// installs, relative to the user's cache directory (os.UserCacheDir). The
// environment variable PETREL_MQTTJS names another file.
const mqttJSCachePath = "petrel/npm/node_modules/mqtt/dist/mqtt.min.js"

// chromiumPath returns Debian's chromium (or chromium-browser). When it
// is missing the test is skipped, or fails if CI is "true", as
// mosquittoTool does.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (CI=true: a missing tool fails the test): run scripts/deps.sh (apt-get install chromium)")
	}
	t.Skip("chromium not found: run scripts/deps.sh (apt-get install chromium)")
	return ""
}

// mqttJSBundle returns the contents of MQTT.js's browser build and where
// it was read from: $PETREL_MQTTJS, or where scripts/deps.sh installs it.
// When it is missing the test is skipped, or fails if CI is "true".
func mqttJSBundle(t *testing.T) (bundle []byte, path string) {
	t.Helper()
	path = os.Getenv("PETREL_MQTTJS")
	if path == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			t.Fatalf("no cache directory for MQTT.js: %v", err)
		}
		path = filepath.Join(dir, mqttJSCachePath)
	}
	bundle, err := os.ReadFile(path)
	if err == nil {
		return bundle, path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("MQTT.js not found (CI=true: a missing part fails the test): %v; run scripts/deps.sh (npm install mqtt) or set PETREL_MQTTJS", err)
	}
	t.Skipf("MQTT.js not found: %v; run scripts/deps.sh (npm install mqtt) or set PETREL_MQTTJS", err)
	return nil, ""
}

// browserScript runs in the page after MQTT.js. cfg is the JSON of
// browserConfig. It connects to the broker over WebSocket, publishes a
// retained message, subscribes at QoS 2 (the retained message comes
// back), publishes at QoS 0, 1 and 2 and an empty payload at QoS 1, each
// after the previous one's acknowledgement, and waits for all to arrive,
// then a little longer to catch duplicates. It writes what happened as
// JSON into #result, then asks the hold server for /done, which lets the
// page finish loading so that --dump-dom prints it.
const browserScript = `
(function () {
  const cfg = %s;
  const out = document.getElementById('result');
  const res = {connected: false, granted: null, received: [], published: [], errors: [], end: ''};
  let done = false;
  let client = null;
  function finish(why) {
    if (done) return;
    done = true;
    res.end = why;
    try { if (client) client.end(true); } catch (e) { res.errors.push('end: ' + e); }
    out.textContent = JSON.stringify(res);
    fetch(cfg.hold + '/done', {mode: 'no-cors', cache: 'no-store'}).catch(() => {});
  }
  setTimeout(() => finish('timeout'), cfg.timeoutMs);
  try {
    client = mqtt.connect(cfg.url, {protocolVersion: 4, clientId: cfg.clientId, clean: true,
      reconnectPeriod: 0, connectTimeout: 5000});
  } catch (e) {
    res.errors.push('connect: ' + e);
    finish('error');
    return;
  }
  client.on('error', e => { res.errors.push('error: ' + e.message); finish('error'); });
  client.on('close', () => finish('close'));
  client.on('message', (topic, payload, packet) => {
    res.received.push({topic: topic, payload: new TextDecoder().decode(payload),
      qos: packet.qos, retain: packet.retain, dup: packet.dup});
    if (res.received.length === cfg.want) setTimeout(() => finish('all'), cfg.graceMs);
  });
  function pub(topic, payload, opts) {
    return new Promise(resolve => client.publish(topic, payload, opts, err => {
      res.published.push({topic: topic, err: err ? err.message : null});
      resolve();
    }));
  }
  client.on('connect', async () => {
    res.connected = true;
    await pub(cfg.prefix + '/retained', 'kept', {qos: 1, retain: true});
    client.subscribe(cfg.prefix + '/#', {qos: 2}, async (err, granted) => {
      if (err) { res.errors.push('subscribe: ' + err.message); finish('error'); return; }
      res.granted = granted.map(g => ({topic: g.topic, qos: g.qos}));
      await pub(cfg.prefix + '/q0', 'zero', {qos: 0});
      await pub(cfg.prefix + '/q1', 'one', {qos: 1});
      await pub(cfg.prefix + '/q2', 'two', {qos: 2});
      await pub(cfg.prefix + '/empty', '', {qos: 1});
    });
  });
})();
`

type browserConfig struct {
	URL       string `json:"url"`
	ClientID  string `json:"clientId"`
	Prefix    string `json:"prefix"`
	Hold      string `json:"hold"`
	Want      int    `json:"want"`
	TimeoutMs int    `json:"timeoutMs"`
	GraceMs   int    `json:"graceMs"`
}

type browserMessage struct {
	Topic   string `json:"topic"`
	Payload string `json:"payload"`
	QoS     int    `json:"qos"`
	Retain  bool   `json:"retain"`
	Dup     bool   `json:"dup"`
}

type browserResult struct {
	Connected bool `json:"connected"`
	Granted   []struct {
		Topic string `json:"topic"`
		QoS   int    `json:"qos"`
	} `json:"granted"`
	Received  []browserMessage `json:"received"`
	Published []struct {
		Topic string  `json:"topic"`
		Err   *string `json:"err"`
	} `json:"published"`
	Errors []string `json:"errors"`
	End    string   `json:"end"`
}

// holdServer keeps the page loading until it asks for /done: an image in
// the page loads /hold, which answers only then (or after a minute, or
// when the test ends). Chromium's --dump-dom prints the DOM once the page
// has loaded, so it prints the results, in real time. (Chromium's
// --virtual-time-budget does not wait: virtual time runs ahead while a
// WebSocket waits for the broker, and a pending fetch, which pauses it,
// stops MQTT.js's timers too.)
func holdServer(t *testing.T) string {
	t.Helper()
	done := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch r.URL.Path {
		case "/done":
			once.Do(func() { close(done) })
		case "/hold":
			select {
			case <-done:
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { once.Do(func() { close(done) }) }) // runs before srv.Close
	return srv.URL
}

// TestBrowser loads MQTT.js's browser build in headless Chromium, which
// connects to petrel broker's WebSocket listener, subscribes at QoS 2 and
// publishes at QoS 0, 1 and 2 (and a retained message, and an empty
// payload); the page writes what arrived into the DOM, which
// chromium --dump-dom prints.
func TestBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	bundle, bundlePath := mqttJSBundle(t)
	t.Logf("MQTT.js: %s (%d bytes)", bundlePath, len(bundle))

	p := startProc(t, nil, petrelBin(t), "broker", "-listen", "127.0.0.1:0", "-listen-ws", "127.0.0.1:0")
	listenAddr(t, p)
	wsAddr := ""
	for deadline := time.Now().Add(10 * time.Second); wsAddr == ""; time.Sleep(5 * time.Millisecond) {
		for _, m := range listeningLine.FindAllStringSubmatch(p.stdout.String(), -1) {
			if m[1] == "ws" {
				wsAddr = m[2]
			}
		}
		if wsAddr == "" && time.Now().After(deadline) {
			t.Fatalf("petrel broker printed no WebSocket listener within 10s; stdout %q", p.stdout.String())
		}
	}

	const clientID = "petrel-browser"
	bc := browserConfig{
		URL:       "ws://" + wsAddr + "/",
		ClientID:  clientID,
		Prefix:    "browser/test",
		Hold:      holdServer(t),
		Want:      5,
		TimeoutMs: 15000,
		GraceMs:   300,
	}
	cfg, err := json.Marshal(bc)
	if err != nil {
		t.Fatal(err)
	}
	// The bundle goes inline, so that the page needs nothing but itself
	// (file:// URLs load no other origins' scripts); "</script" would end
	// the element early.
	inline := strings.ReplaceAll(string(bundle), "</script", `<\/script`)
	page := "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>petrel TestBrowser</title></head><body>\n" +
		"<pre id=\"result\">pending</pre>\n" +
		"<img id=\"hold\" alt=\"\" src=\"" + html.EscapeString(bc.Hold+"/hold") + "\">\n" +
		"<script>\n" + inline + "\n</script>\n" +
		"<script>\n" + fmt.Sprintf(browserScript, cfg) + "\n</script>\n</body></html>\n"
	dir := t.TempDir()
	pagePath := filepath.Join(dir, "mqtt.html")
	if err := os.WriteFile(pagePath, []byte(page), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// --no-sandbox: Chromium's sandbox refuses to run as root and needs
	// user namespaces, which containers often lack.
	cmd := exec.CommandContext(ctx, chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+pagePath)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	begin := time.Now()
	err = cmd.Run()
	t.Logf("chromium --dump-dom took %v", time.Since(begin).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("chromium: %v (context: %v); stdout %q; stderr ends %q", err, ctx.Err(), tail(stdout.String()), tail(stderr.String()))
	}
	m := regexp.MustCompile(`(?s)<pre id="result">(.*?)</pre>`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no #result in the DOM chromium dumped: %q; stderr ends %q", tail(stdout.String()), tail(stderr.String()))
	}
	text := html.UnescapeString(m[1])
	t.Logf("the page's result: %s", text)
	var res browserResult
	if err := json.Unmarshal([]byte(text), &res); err != nil {
		t.Fatalf("#result is not the page's JSON (%v): %q; chromium's stderr ends %q", err, text, tail(stderr.String()))
	}

	if !res.Connected || res.End != "all" || len(res.Errors) != 0 {
		t.Errorf("connected %v, ended by %q, errors %q; want connected, ended by \"all\", no errors", res.Connected, res.End, res.Errors)
	}
	if len(res.Granted) != 1 || res.Granted[0].Topic != "browser/test/#" || res.Granted[0].QoS != 2 {
		t.Errorf("granted %+v; want browser/test/# at QoS 2", res.Granted)
	}
	if len(res.Published) != 5 {
		t.Errorf("%d publish callbacks; want 5: %+v", len(res.Published), res.Published)
	}
	for _, pb := range res.Published {
		if pb.Err != nil {
			t.Errorf("publish %s: %s", pb.Topic, *pb.Err)
		}
	}
	// One connection, each publish after the last one's acknowledgement:
	// they arrive in order, the retained one first (at SUBSCRIBE), each at
	// the QoS it was published with (the subscription grants 2), once.
	want := []browserMessage{
		{Topic: "browser/test/retained", Payload: "kept", QoS: 1, Retain: true},
		{Topic: "browser/test/q0", Payload: "zero", QoS: 0},
		{Topic: "browser/test/q1", Payload: "one", QoS: 1},
		{Topic: "browser/test/q2", Payload: "two", QoS: 2},
		{Topic: "browser/test/empty", Payload: "", QoS: 1},
	}
	if !reflect.DeepEqual(res.Received, want) {
		t.Errorf("received\n%+v\nwant\n%+v", res.Received, want)
	}

	// The broker saw the browser connect and, after client.end, leave.
	if !res.Connected {
		t.FailNow()
	}
	p.stderr.waitFor(t, `msg="client connected" client=`+clientID+` `)
	p.stderr.waitFor(t, `msg="client disconnected" client=`+clientID+` `)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != exitOK {
		t.Errorf("petrel broker exit code %d after SIGTERM; stderr %q", code, tail(p.stderr.String()))
	}
}
