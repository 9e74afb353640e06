package session

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/auth"
	"github.com/petrel-mqtt/petrel/packet"
)

func TestNewRefusesBadConfig(t *testing.T) {
	ok := Config{Address: "localhost", ClientID: "c"}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string // the ConfigError's Field, or "" for another error
		want  string // in the message
		is    error
	}{
		{"empty ClientID", func(c *Config) { c.ClientID = "" }, "ClientID", "must not be empty", ErrInvalidConfig},
		{"ClientID with U+0000", func(c *Config) { c.ClientID = "a\x00b" }, "ClientID", "MQTT-1.5.3-2", packet.ErrNullChar},
		{"ClientID ill-formed", func(c *Config) { c.ClientID = "\xff" }, "ClientID", "MQTT-1.5.3-1", packet.ErrUTF8},
		{"no Address", func(c *Config) { c.Address = "" }, "Address", "must name the broker", ErrInvalidConfig},
		{"Port out of range", func(c *Config) { c.Port = 70000 }, "Port", "70000", ErrInvalidConfig},
		{"Option unknown", func(c *Config) { c.Option = 7 }, "Option", "neither", ErrInvalidConfig},
		{"ConnectionTimeout in nanoseconds", func(c *Config) { c.ConnectionTimeout = 10 }, "ConnectionTimeout", "session.Seconds(10)", ErrInvalidConfig},
		{"ConnectionTimeout negative", func(c *Config) { c.ConnectionTimeout = -time.Second }, "ConnectionTimeout", "negative", ErrInvalidConfig},
		{"KeepAlive too long", func(c *Config) { c.KeepAlive = 70000 * time.Second }, "KeepAlive", "65,535", ErrInvalidConfig},
		{"KeepAlive below a second", func(c *Config) { c.KeepAlive = time.Millisecond }, "KeepAlive", "one second", ErrInvalidConfig},
		{"MaxInflight too large", func(c *Config) { c.MaxInflight = 70000 }, "MaxInflight", "65,535", ErrInvalidConfig},
		{"will topic with wildcard", func(c *Config) { c.Will = &Will{Topic: "a/#"} }, "Will.Topic", "MQTT-3.3.2-2", packet.ErrWildcard},
		{"will topic empty", func(c *Config) { c.Will = &Will{} }, "Will.Topic", "MQTT-4.7.3-1", packet.ErrEmptyTopic},
		{"will QoS 3", func(c *Config) { c.Will = &Will{Topic: "w", QoS: 3} }, "Will.QoS", "MQTT-3.1.2-14", ErrInvalidConfig},
		{"password without user", func(c *Config) { c.UserPassword = "secret" }, "", "MQTT-3.1.2-22", auth.ErrPasswordWithoutUser},
		{"URL with Port", func(c *Config) { c.Address = "mqtt://localhost"; c.Port = 1883 }, "Address", "URL", ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			c, err := New(cfg)
			if err == nil {
				t.Fatalf("New accepted the config: %+v", c.cfg)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q does not match %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			var ce *ConfigError
			if tt.field != "" && (!errors.As(err, &ce) || ce.Field != tt.field) {
				t.Errorf("error %q is not a ConfigError for field %s", err, tt.field)
			}
			if tt.field != "" && !strings.Contains(err.Error(), "Config."+tt.field) {
				t.Errorf("error %q does not name Config.%s", err, tt.field)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := New(Config{Address: "broker.example", ClientID: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if c.addresses[0] != "mqtt://broker.example:1883" {
		t.Errorf("address = %q", c.addresses[0])
	}
	cfg := c.cfg
	if cfg.ConnectionTimeout != DefaultConnectionTimeout || cfg.KeepAlive != DefaultKeepAlive ||
		cfg.MaxInflight != DefaultMaxInflight || cfg.MaxPacketSize != packet.DefaultMaxPacketSize ||
		cfg.MessageQueue != DefaultMessageQueue || cfg.PingTimeout != 30*time.Second || cfg.Logger == nil {
		t.Errorf("defaults not filled: %+v", cfg)
	}
	if got := cfg.keepAliveSeconds(); got != 60 {
		t.Errorf("keepalive seconds = %d, want 60", got)
	}
}

func TestConfigAddress(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Address: "10.0.0.1"}, "mqtt://10.0.0.1:1883"},
		{Config{Address: "broker", Option: TLS}, "mqtts://broker:8883"},
		{Config{Address: "broker", Port: 1884}, "mqtt://broker:1884"},
		{Config{Address: "broker", Port: 9999, Option: TLS}, "mqtts://broker:9999"},
		{Config{Address: "::1"}, "mqtt://[::1]:1883"},
		{Config{Address: "wss://broker/mqtt"}, "wss://broker:443/mqtt"},
	}
	for _, tt := range tests {
		tt.cfg.ClientID = "c"
		c, err := New(tt.cfg)
		if err != nil {
			t.Errorf("%+v: %v", tt.cfg, err)
			continue
		}
		if c.addresses[0] != tt.want {
			t.Errorf("Address %q Port %d Option %v: address %q, want %q", tt.cfg.Address, tt.cfg.Port, tt.cfg.Option, c.addresses[0], tt.want)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	good := []struct {
		in   any
		want time.Duration
	}{
		{10, 10 * time.Second},
		{int64(3), 3 * time.Second},
		{2.5, 2500 * time.Millisecond},
		{1500 * time.Millisecond, 1500 * time.Millisecond},
		{"10", 10 * time.Second},
		{"10s", 10 * time.Second},
		{"10 s", 10 * time.Second},
		{" 10 S ", 10 * time.Second},
		{"1m30s", 90 * time.Second},
		{"2 min", 2 * time.Minute},
		{"1.5 seconds", 1500 * time.Millisecond},
		{"500 ms", 500 * time.Millisecond},
		{"1 hour", time.Hour},
	}
	for _, tt := range good {
		got, err := ParseTimeout(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseTimeout(%#v) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	bad := []any{-1, "-5s", "", "ten seconds", "10 parsecs", "s", true, nil, "NaN"}
	for _, in := range bad {
		if got, err := ParseTimeout(in); err == nil {
			t.Errorf("ParseTimeout(%#v) = %v, want an error", in, got)
		} else if !strings.Contains(err.Error(), "timeout") {
			t.Errorf("ParseTimeout(%#v): error %q does not say what it is about", in, err)
		}
	}
}
