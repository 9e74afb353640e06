package session

import "testing"

// TestConfigHostPort: Address and Reconnect.Addresses may carry their own
// port, which wins over Port, as a list of cluster nodes needs.
func TestConfigHostPort(t *testing.T) {
	cfg := Config{
		Address:  "127.0.0.1:1884",
		Port:     1999,
		ClientID: "c",
		Reconnect: &Reconnect{Addresses: []string{
			"broker:1885", "[::1]:1886", "other", "[::1]", "::1",
		}},
	}
	want := []string{
		"mqtt://127.0.0.1:1884", "mqtt://broker:1885", "mqtt://[::1]:1886",
		"mqtt://other:1999", "mqtt://[::1]:1999", "mqtt://[::1]:1999",
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.addresses) != len(want) {
		t.Fatalf("addresses %q, want %q", c.addresses, want)
	}
	for i := range want {
		if c.addresses[i] != want[i] {
			t.Errorf("address %d: %q, want %q", i, c.addresses[i], want[i])
		}
	}

	cfg = Config{Address: "a:1", ClientID: "c", Option: TLS}
	if c, err := New(cfg); err != nil || c.addresses[0] != "mqtts://a:1" {
		t.Errorf("a:1 with TLS: %v, %v", c.addresses, err)
	}
	for _, bad := range []string{"a:b", "a:70000", "a:1:2"} {
		if _, err := New(Config{Address: bad, ClientID: "c"}); err == nil {
			t.Errorf("Address %q accepted", bad)
		}
	}
}
