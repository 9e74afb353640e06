package broker

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestMetrics carries messages at each QoS and a refused login through the
// broker, then checks Stats and the exposition WriteMetrics writes: every
// family has its HELP and TYPE lines, counters end in _total, and the
// counters moved by what was done.
func TestMetrics(t *testing.T) {
	auth := AuthenticatorFunc(func(_ context.Context, ci ConnInfo) (string, error) {
		if ci.Username == "mallory" {
			return "", ErrBadUsernameOrPassword
		}
		return ci.Username, nil
	})
	s, addr := startServer(t, Config{Authenticator: auth})
	sub := connectID(t, addr, "sub", true)
	sub.subscribe(1, "m/#", packet.QoS2, packet.GrantedQoS2)
	p := connectID(t, addr, "pub", true)
	counts := [3]int{3, 2, 1}
	id := uint16(1)
	for q, n := range counts {
		for range n {
			p.publish("m/x", "hello", packet.QoS(q), false, id)
			id++
		}
	}
	for q, n := range counts {
		for range n {
			got := sub.next().(*packet.Publish)
			if got.QoS != packet.QoS(q) {
				t.Fatalf("got QoS %d, want %d", got.QoS, q)
			}
			switch got.QoS {
			case packet.QoS1:
				sub.send(&packet.Puback{PacketID: got.PacketID})
			case packet.QoS2:
				sub.send(&packet.Pubrec{PacketID: got.PacketID})
				sub.expect(&packet.Pubrel{PacketID: got.PacketID})
				sub.send(&packet.Pubcomp{PacketID: got.PacketID})
			}
		}
	}
	bad := dial(t, addr)
	bad.connect(&packet.Connect{ClientID: []byte("m"), CleanSession: true, UsernameFlag: true, Username: []byte("mallory")},
		packet.Connack{ReturnCode: packet.RefusedNotAuthorized}) // 5, as Mosquitto sends
	bad.expectClosed()

	st := s.Stats()
	if st.ReceivedByQoS != [3]uint64{3, 2, 1} || st.SentByQoS != [3]uint64{3, 2, 1} {
		t.Errorf("ReceivedByQoS %v, SentByQoS %v, want [3 2 1] both", st.ReceivedByQoS, st.SentByQoS)
	}
	if st.MessagesReceived != 6 || st.MessagesSent != 6 {
		t.Errorf("MessagesReceived %d, MessagesSent %d, want 6", st.MessagesReceived, st.MessagesSent)
	}
	if st.RefusedByCode != [6]uint64{5: 1} || st.Refused != 1 || st.AuthFailures != 1 {
		t.Errorf("RefusedByCode %v, Refused %d, AuthFailures %d, want one refusal with code 5", st.RefusedByCode, st.Refused, st.AuthFailures)
	}
	if st.ConnectionsTotal != 3 {
		t.Errorf("ConnectionsTotal %d, want 3", st.ConnectionsTotal)
	}

	var b strings.Builder
	if err := s.WriteMetrics(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	checkExposition(t, text)
	for _, want := range []string{
		`petrel_broker_messages_received_total{qos="0"} 3`,
		`petrel_broker_messages_received_total{qos="2"} 1`,
		`petrel_broker_messages_sent_total{qos="1"} 2`,
		`petrel_broker_connections_refused_total{code="5"} 1`,
		`petrel_broker_connections_refused_total{code="4"} 0`,
		`petrel_broker_auth_failures_total 1`,
		`petrel_broker_connections_accepted_total 3`,
		`petrel_broker_subscriptions 1`,
		`petrel_broker_messages_undelivered_total{reason="queue_full"} 0`,
		`go_goroutines `,
		`go_info{version="go`,
	} {
		if !strings.Contains(text, "\n"+want) {
			t.Errorf("no line %q in\n%s", want, text)
		}
	}
}

var (
	sampleLine = regexp.MustCompile(`^([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [-+0-9.eInfNa]+$`)
	typeLine   = regexp.MustCompile(`^# TYPE ([a-z_]+) (counter|gauge)$`)
)

// checkExposition checks the shape of the text format: HELP then TYPE
// before a family's samples, each family once, counters named _total and
// nothing else so.
func checkExposition(t *testing.T, text string) {
	t.Helper()
	if !strings.HasSuffix(text, "\n") {
		t.Error("exposition does not end with a newline")
	}
	seen := map[string]bool{}
	var family, typ, help string
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			help = strings.Fields(line)[2]
		case strings.HasPrefix(line, "# TYPE "):
			m := typeLine.FindStringSubmatch(line)
			if m == nil || m[1] != help {
				t.Errorf("%q: not a TYPE line after the family's HELP", line)
				continue
			}
			family, typ = m[1], m[2]
			if seen[family] {
				t.Errorf("family %s written twice", family)
			}
			seen[family] = true
			if (typ == "counter") != strings.HasSuffix(family, "_total") {
				t.Errorf("%s is a %s: only counters end in _total", family, typ)
			}
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%q: not a sample line", line)
			} else if m[1] != family {
				t.Errorf("%q: sample outside its family (%s)", line, family)
			}
		}
	}
}

// TestMetricsHandler serves the exposition with the format's content type.
func TestMetricsHandler(t *testing.T) {
	s, _ := startServer(t, Config{})
	hs := httptest.NewServer(s.MetricsHandler())
	defer hs.Close()
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if resp.StatusCode != 200 || !strings.Contains(string(body), "# TYPE petrel_broker_connections_open gauge\n") {
		t.Errorf("status %d, body %q", resp.StatusCode, body)
	}
	resp, err = http.Post(hs.URL+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
}
