package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/petrel-mqtt/petrel/broker"
)

// TestBridgeConf reads Mosquitto's bridge directives into broker.Bridge.
func TestBridgeConf(t *testing.T) {
	f, err := parseConf(t, `
listener 1883
connection cluster
address mq1.example:1883 mq2.example
addresses [::1]:1884
topic sensors/# out 1
topic cmd/# in 2 site/7/ sites/7/
topic "" both 0 local/state remote/state
remote_clientid site-7
local_clientid bridge.site-7
cleansession true
remote_username edge
remote_password s3cret
bridge_protocol_version mqttv311
keepalive_interval 30
restart_timeout 2 20
notifications true
notifications_local_only true
notification_topic edge/site-7/state
try_private false
start_type automatic
round_robin true
bridge_attempt_unsubscribe false

connection second
address 10.0.0.1
topic # out
restart_timeout 7
notifications false
try_private true
`)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := f.brokerConfig(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	want := []broker.Bridge{{
		Name:      "cluster",
		Addresses: []string{"mq1.example:1883", "mq2.example", "[::1]:1884"},
		Topics: []broker.BridgeTopic{
			{Pattern: "sensors/#", Direction: broker.Out, QoS: 1},
			{Pattern: "cmd/#", Direction: broker.In, QoS: 2, LocalPrefix: "site/7/", RemotePrefix: "sites/7/"},
			{Pattern: "", Direction: broker.Both, QoS: 0, LocalPrefix: "local/state", RemotePrefix: "remote/state"},
		},
		ClientID: "site-7", LocalClientID: "bridge.site-7", CleanSession: true,
		Username: "edge", Password: "s3cret", KeepAlive: 30 * time.Second,
		RestartMin: 2 * time.Second, RestartMax: 20 * time.Second,
		Notifications: broker.NotifyLocal, NotificationTopic: "edge/site-7/state",
	}, {
		Name: "second", Addresses: []string{"10.0.0.1"}, Topics: []broker.BridgeTopic{{Pattern: "#"}},
		RestartMin: 7 * time.Second, RestartMax: 7 * time.Second, Notifications: broker.NotifyNone, TryPrivate: true,
	}}
	if d := cmp.Diff(want, cfg.Bridges, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("bridges (-want +got):\n%s", d)
	}
}

// TestBridgeConfBroker: what broker.New refuses in a bridge names the
// file, the line of its connection and the directive.
func TestBridgeConfBroker(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"connection b\ntopic x\n", "line 1: connection b: address: none"},
		{"connection b\naddress h\n", "line 1: connection b: topic: none"},
		{"connection b\naddress h\ntopic a/#/b\n", "line 1: connection b: topic:"},
		{"connection b\naddress h\ntopic x out 0 \"\" r/\ntopic \"\" out 0 l \"\"\n", "line 1: connection b: topic: an empty Pattern needs both prefixes"},
		{"connection b\naddress h\ntopic x\nremote_password p\n", "line 1: connection b: remote_password: without a Username"},
	} {
		f, err := parseConf(t, tc.conf)
		if err != nil {
			t.Errorf("%q: %v", tc.conf, err)
			continue
		}
		cfg, err := f.brokerConfig(slog.New(slog.DiscardHandler))
		if err != nil {
			t.Errorf("%q: %v", tc.conf, err)
			continue
		}
		_, err = broker.New(cfg)
		if err == nil {
			t.Errorf("%q: broker.New accepted it", tc.conf)
			continue
		}
		if err := f.mosq.bridgeErr(err); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.conf, err, tc.want)
		}
	}
}
