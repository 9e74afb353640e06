package main

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/session"
)

// TestCAPathAndTLSVersion checks --capath and --tls-version as Config
// settings, and their errors.
func TestCAPathAndTLSVersion(t *testing.T) {
	dir := t.TempDir()
	ca := mosquittotest.NewCA(t, "petrel capath CA")
	ca.WriteFile(t, dir)
	cfg, _, _, err := parseConfig(t, "sub", "--capath", dir, "--tls-version", "tlsv1.3")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Option != session.TLS || cfg.TLSConfig == nil || cfg.TLSConfig.RootCAs == nil ||
		cfg.TLSConfig.MinVersion != tls.VersionTLS13 || cfg.TLSConfig.MaxVersion != tls.VersionTLS13 {
		t.Errorf("--capath --tls-version tlsv1.3: option %v, TLS config %+v", cfg.Option, cfg.TLSConfig)
	}
	if !cfg.TLSConfig.RootCAs.Equal(ca.Pool()) {
		t.Error("--capath: the roots are not the directory's CA alone")
	}
	cfg, _, _, err = parseConfig(t, "pub", "-L", "mqtts://h/t", "--tls-version", "tlsv1.2")
	if err != nil || cfg.TLSConfig == nil || cfg.TLSConfig.MaxVersion != tls.VersionTLS12 || cfg.TLSConfig.RootCAs != nil {
		t.Errorf("-L mqtts:// --tls-version tlsv1.2: %v, %+v", err, cfg.TLSConfig)
	}

	empty := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--capath", empty}, "no PEM certificate in the directory's files"},
		{[]string{"--capath", "/nonexistent/dir"}, "--capath: open /nonexistent/dir"},
		{[]string{"--tls", "--tls-version", "tlsv1.0"}, `--tls-version "tlsv1.0": give tlsv1.3, tlsv1.2 or tlsv1.1`},
		{[]string{"--tls-version", "tlsv1.2"}, "--tls-version needs TLS"},
		{[]string{"-L", "mqtt://h/t", "--capath", dir}, "--capath needs TLS"},
		{[]string{"-L", "mqtt://h/t", "--tls-version", "tlsv1.2"}, "--tls-version needs TLS"},
	} {
		_, _, _, err := parseConfig(t, "pub", tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.want)
		}
	}
}
