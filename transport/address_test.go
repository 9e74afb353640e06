package transport

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://broker.example":              "tcp://broker.example:1883",
		"mqtt://broker.example:1884":        "mqtt://broker.example:1884",
		"MQTT://Broker.Example":             "mqtt://Broker.Example:1883",
		"mqtt://broker.example/":            "mqtt://broker.example:1883",
		"ssl://10.0.0.1":                    "ssl://10.0.0.1:8883",
		"tls://broker.example":              "tls://broker.example:8883",
		"mqtts://[::1]":                     "mqtts://[::1]:8883",
		"mqtts://[2001:db8::1]:9883":        "mqtts://[2001:db8::1]:9883",
		"tcp://[fe80::1%25eth0]:1883":       "tcp://[fe80::1%25eth0]:1883",
		"ws://broker.example":               "ws://broker.example:80/mqtt",
		"ws://broker.example/":              "ws://broker.example:80/",
		"wss://broker.example":              "wss://broker.example:443/mqtt",
		"wss://broker.example:8443/a/b?c=d": "wss://broker.example:8443/a/b?c=d",
		"ws://[::1]:9001/mqtt":              "ws://[::1]:9001/mqtt",
		"tcp://my_broker.local.":            "tcp://my_broker.local.:1883",
	} {
		u, err := ParseAddress(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if u.String() != want {
			t.Errorf("%s: %s, want %s", in, u, want)
		}
	}
}

func TestParseAddressErrors(t *testing.T) {
	for in, part := range map[string]string{
		"broker.example:1883":        "scheme",
		"localhost":                  "scheme",
		"http://broker.example":      "scheme",
		"foo://broker.example":       "scheme",
		"://broker.example":          "scheme",
		"tcp://":                     "host",
		"tcp://:1883":                "host",
		"tcp://broker.example:0":     "port",
		"tcp://broker.example:65536": "port",
		"tcp://broker.example:x":     "port",
		"tcp://broker.example:":      "port",
		"tcp://broker.example:-1":    "port",
		"tcp://[::1":                 "host",
		"tcp://[broker.example]":     "host",
		"tcp://bro ker":              "host",
		"tcp://a..b":                 "host",
		"tcp://" + strings.Repeat("a", 64) + ".example": "host",
		"tcp://broker.example/mqtt":                     "path",
		"mqtts://broker.example?x=1":                    "query",
		"tcp://user:pass@broker.example":                "user info",
		"ws://broker.example/#frag":                     "fragment",
		"ws://broker.example#":                          "fragment",
	} {
		_, err := ParseAddress(in)
		var ae *AddressError
		if !errors.As(err, &ae) || ae.Part != part {
			t.Errorf("%s: %v, want an *AddressError about the %s", in, err, part)
			continue
		}
		if in == "tcp://user:pass@broker.example" {
			if strings.Contains(err.Error(), "pass@") {
				t.Errorf("%s: the error shows the password: %v", in, err)
			}
		} else if !strings.HasPrefix(err.Error(), "mqtt: address "+`"`+in) {
			t.Errorf("%s: error %q does not quote the address", in, err)
		}
	}
}

func TestAddress(t *testing.T) {
	for _, tc := range []struct {
		host   string
		port   int
		useTLS bool
		want   string
	}{
		{"broker.example", 0, false, "mqtt://broker.example:1883"},
		{"broker.example", 0, true, "mqtts://broker.example:8883"},
		{"broker.example", 1884, true, "mqtts://broker.example:1884"},
		{"192.168.1.10", 0, false, "mqtt://192.168.1.10:1883"},
		{"::1", 0, false, "mqtt://[::1]:1883"},
		{"[::1]", 8884, true, "mqtts://[::1]:8884"},
		{"fe80::1%eth0", 0, false, "mqtt://[fe80::1%25eth0]:1883"},
	} {
		got, err := Address(tc.host, tc.port, tc.useTLS)
		if err != nil || got != tc.want {
			t.Errorf("Address(%q, %d, %v) = %q, %v; want %q", tc.host, tc.port, tc.useTLS, got, err, tc.want)
			continue
		}
		// What Address returns, ParseAddress accepts unchanged.
		if u, err := ParseAddress(got); err != nil || u.String() != got {
			t.Errorf("ParseAddress(%q) = %v, %v", got, u, err)
		}
	}
	for _, tc := range []struct {
		host string
		port int
		part string
	}{
		{"", 0, "host"},
		{"[]", 0, "host"},
		{"broker.example:1883", 0, "host"},
		{"tcp://broker.example", 0, "host"},
		{"[broker.example]", 0, "host"},
		{"bro ker", 0, "host"},
		{"broker.example", -1, "port"},
		{"broker.example", 65536, "port"},
	} {
		_, err := Address(tc.host, tc.port, false)
		var ae *AddressError
		if !errors.As(err, &ae) || ae.Part != tc.part {
			t.Errorf("Address(%q, %d): %v, want an *AddressError about the %s", tc.host, tc.port, err, tc.part)
		}
	}
}
