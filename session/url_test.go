package session

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want Config
		addr string // the transport address New derives
	}{
		{"mqtt://broker:1884", Config{Address: "broker", Port: 1884}, "mqtt://broker:1884"},
		{"tcp://10.0.0.1", Config{Address: "10.0.0.1"}, "mqtt://10.0.0.1:1883"},
		{"mqtts://alice:s%3Acret@broker?client_id=c1&clean_session=false&keepalive=30s&connect_timeout=10%20s",
			Config{Address: "broker", Option: TLS, User: "alice", UserPassword: "s:cret", ClientID: "c1",
				PersistentSession: true, KeepAlive: 30 * time.Second, ConnectionTimeout: 10 * time.Second}, "mqtts://broker:8883"},
		{"ssl://[::1]:9000", Config{Address: "::1", Port: 9000, Option: TLS}, "mqtts://[::1]:9000"},
		{"ws://bob@broker:8080/mqtt?client_id=c2&clean_session=true", Config{Address: "ws://broker:8080/mqtt", User: "bob", ClientID: "c2"}, "ws://broker:8080/mqtt"},
		{"wss://broker/", Config{Address: "wss://broker/"}, "wss://broker:443/"},
	}
	for _, tt := range tests {
		got, err := ParseURL(tt.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tt.url, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreUnexported(Config{})); diff != "" {
			t.Errorf("ParseURL(%q) (-want +got):\n%s", tt.url, diff)
		}
		if got.ClientID == "" {
			got.ClientID = "x"
		}
		c, err := New(got)
		if err != nil {
			t.Errorf("New(ParseURL(%q)): %v", tt.url, err)
			continue
		}
		if c.addresses[0] != tt.addr {
			t.Errorf("ParseURL(%q): address %q, want %q", tt.url, c.addresses[0], tt.addr)
		}
	}
}

func TestParseURLErrors(t *testing.T) {
	tests := []struct{ url, field, want string }{
		{"http://broker", "Address", "scheme"},
		{"mqtt://broker/topic", "Address", "no path"},
		{"mqtt://broker?clean_session=maybe", "PersistentSession", "maybe"},
		{"mqtt://broker?keepalive=forever", "KeepAlive", "forever"},
		{"mqtt://broker?clientid=x", "Address", "clientid"},
		{"mqtt://broker:port", "Address", "URL"},
	}
	for _, tt := range tests {
		_, err := ParseURL(tt.url)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tt.field || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseURL(%q) = %v; want a ConfigError for %s saying %q", tt.url, err, tt.field, tt.want)
		}
	}
}
