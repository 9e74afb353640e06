package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
)

// parseConf parses a configuration file holding text, with the command
// line args before -c.
func parseConf(t *testing.T, text string, args ...string) (*brokerFlags, error) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "mosquitto.conf")
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var f brokerFlags
	fs := brokerFlagSet(&f)
	err := f.parse(fs, append(args, "-c", name))
	return &f, err
}

// TestMosquittoConf checks each directive of a Mosquitto 2 configuration
// file: what it sets, or the error naming the line and the directive.
func TestMosquittoConf(t *testing.T) {
	dir := t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "passwd")
	os.WriteFile(pw, nil, 0o600)
	cfgOf := func(f *brokerFlags) broker.Config {
		cfg, err := f.brokerConfig(slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	ok := []struct {
		name, text string
		check      func(*brokerFlags) bool
	}{
		{"listener", "listener 1884\n", func(f *brokerFlags) bool { return slices.Equal(f.listen, []string{":1884"}) }},
		{"listener address", "listener 1884 127.0.0.1\n", func(f *brokerFlags) bool { return slices.Equal(f.listen, []string{"127.0.0.1:1884"}) }},
		{"socket_domain ipv4", "listener 1884\nsocket_domain ipv4\n", func(f *brokerFlags) bool { return slices.Equal(f.listen, []string{"0.0.0.0:1884"}) }},
		{"socket_domain ipv6", "listener 1884\nsocket_domain ipv6\n", func(f *brokerFlags) bool { return slices.Equal(f.listen, []string{"[::]:1884"}) }},
		{"protocol websockets", "listener 1883\nlistener 9001\nprotocol websockets\n", func(f *brokerFlags) bool {
			return slices.Equal(f.listen, []string{":1883"}) && slices.Equal(f.listenWS, []string{":9001"})
		}},
		{"protocol mqtt", "listener 1883\nprotocol mqtt\n", func(f *brokerFlags) bool { return len(f.listen) == 1 }},
		{"port, bind_address", "port 1885\nbind_address 127.0.0.1\n", func(f *brokerFlags) bool { return slices.Equal(f.listen, []string{"127.0.0.1:1885"}) }},
		{"TLS listener", "listener 8883\ncafile " + pw + "\ncertfile c.pem\nkeyfile k.pem\nrequire_certificate true\nuse_identity_as_username true\ntls_version tlsv1.3\n", func(f *brokerFlags) bool {
			return slices.Equal(f.listenTLS, []string{":8883"}) && f.caFile == pw && f.certFile == "c.pem" && f.keyFile == "k.pem" &&
				f.requireCert && f.certUser && f.mosq.tlsMin == tls.VersionTLS13
		}},
		{"capath", "listener 8883\ncapath " + dir + "\ncertfile c\nkeyfile k\n", func(f *brokerFlags) bool { return f.mosq.caPath == dir }},
		{"allow_anonymous false, password_file", "listener 1\nallow_anonymous false\npassword_file " + pw + "\n", func(f *brokerFlags) bool {
			return f.passwordFile == pw && !f.allowAnonymous
		}},
		{"allow_anonymous true, password_file", "listener 1\nallow_anonymous true\npassword_file " + pw + "\n", func(f *brokerFlags) bool { return f.allowAnonymous }},
		{"no allow_anonymous, no password_file: all refused", "listener 1\n", func(f *brokerFlags) bool {
			_, ok := cfgOf(f).Authenticator.(*broker.PasswordFile)
			return ok
		}},
		{"allow_anonymous true alone: all allowed", "listener 1\nallow_anonymous true\n", func(f *brokerFlags) bool { return cfgOf(f).Authenticator == nil }},
		{"per_listener_settings", "per_listener_settings true\nlistener 1\nacl_file " + pw + "\nlistener 2\nacl_file " + pw + "\n", func(f *brokerFlags) bool {
			return f.mosq.perListener && f.aclFile == pw
		}},
		{"max_connections", "max_connections 5\n", func(f *brokerFlags) bool { return f.maxConnections == 5 }},
		{"max_connections -1", "max_connections -1\n", func(f *brokerFlags) bool { return f.maxConnections == 1<<30 }},
		{"max_inflight_messages", "max_inflight_messages 7\n", func(f *brokerFlags) bool { return f.maxInflight == 7 }},
		{"max_inflight_messages 0", "max_inflight_messages 0\n", func(f *brokerFlags) bool { return f.maxInflight == 65535 }},
		{"max_inflight_bytes 0", "max_inflight_bytes 0\n", func(f *brokerFlags) bool { return true }},
		{"max_queued_messages", "max_queued_messages 100\n", func(f *brokerFlags) bool { return f.maxQueued == 100 }},
		{"max_queued_bytes", "max_queued_bytes 4096\n", func(f *brokerFlags) bool { return f.maxQueuedBytes == 4096 }},
		{"max_queued_bytes at its largest", fmt.Sprintf("max_queued_bytes %d\n", min(1<<40, math.MaxInt)), func(f *brokerFlags) bool {
			return f.maxQueuedBytes == min(1<<40, math.MaxInt)
		}},
		{"queue_qos0_messages false", "queue_qos0_messages false\n", func(f *brokerFlags) bool { return true }},
		{"message_size_limit", "message_size_limit 100\n", func(f *brokerFlags) bool { return cfgOf(f).MaxPayloadSize == 100 }},
		{"max_packet_size", "max_packet_size 2000\n", func(f *brokerFlags) bool { return f.maxPacketSize == 2000 }},
		{"message_size_limit below the largest packet", "message_size_limit 900000\n", func(f *brokerFlags) bool { return f.maxPacketSize == 0 }},
		{"message_size_limit above the largest packet", "message_size_limit 5000000\n", func(f *brokerFlags) bool { return f.maxPacketSize == 5000000+5+2+65535+2 }},
		{"message_size_limit, max_packet_size", "max_packet_size 2000000\nmessage_size_limit 5000000\n", func(f *brokerFlags) bool { return f.maxPacketSize == 2000000 }},
		{"message_size_limit at MQTT's largest", "message_size_limit 268435455\n", func(f *brokerFlags) bool { return f.maxPacketSize == 268435455+5 }},
		{"max_keepalive", "max_keepalive 60\n", func(f *brokerFlags) bool { return cfgOf(f).MaxKeepAlive == 60 }},
		{"allow_zero_length_clientid", "allow_zero_length_clientid false\n", func(f *brokerFlags) bool { return cfgOf(f).RefuseEmptyClientID }},
		{"auto_id_prefix", "auto_id_prefix dev-\n", func(f *brokerFlags) bool { return cfgOf(f).GeneratedClientIDPrefix == "dev-" }},
		{"Mosquitto's auto_id_prefix", "listener 1\n", func(f *brokerFlags) bool { return cfgOf(f).GeneratedClientIDPrefix == "auto-" }},
		{"persistence", "persistence true\npersistence_location " + dir + "\nautosave_interval 30\n", func(f *brokerFlags) bool {
			return f.persistenceDir == dir && f.persistInterval == 30*time.Second
		}},
		{"persistence false", "persistence false\n", func(f *brokerFlags) bool { return f.persistenceDir == "" }},
		{"persistence_location first", "persistence_location " + dir + "\npersistence true\n", func(f *brokerFlags) bool { return f.persistenceDir == dir }},
		{"persistence_location, persistence false", "persistence_location " + dir + "\npersistence false\n", func(f *brokerFlags) bool { return f.persistenceDir == "" }},
		{"persistence_location alone: Mosquitto's persistence false", "persistence_location " + dir + "\n", func(f *brokerFlags) bool {
			return f.persistenceDir == "" && strings.Contains(strings.Join(f.mosq.warnings, "\n"), "persistence_location: ignored")
		}},
		{"persistence true, Petrel's persistence-dir", "persistence true\npersistence-dir " + dir + "\n", func(f *brokerFlags) bool { return f.persistenceDir == dir }},
		// Mosquitto writes persistence_file (mosquitto.db) in its working
		// directory; Petrel a directory of its own beside it.
		{"persistence true alone", "persistence true\n", func(f *brokerFlags) bool {
			return f.persistenceDir == filepath.Join(wd, "mosquitto.db.petrel") &&
				strings.Contains(strings.Join(f.mosq.warnings, "\n"), "persistence_location not given: Petrel keeps its own files in "+f.persistenceDir)
		}},
		{"persistence_file", "persistence_file mosquitto-1888.db\npersistence true\n", func(f *brokerFlags) bool {
			return f.persistenceDir == filepath.Join(wd, "mosquitto-1888.db.petrel")
		}},
		{"persistence_file, persistence_location", "persistence true\npersistence_file m.db\npersistence_location " + dir + "\n", func(f *brokerFlags) bool {
			return f.persistenceDir == dir && strings.Contains(strings.Join(f.mosq.warnings, "\n"), "persistence_file: ignored")
		}},
		{"persistence_file, persistence false", "persistence_file m.db\n", func(f *brokerFlags) bool { return f.persistenceDir == "" }},
		{"retain_available true", "retain_available true\n", func(f *brokerFlags) bool { return true }},
		{"check_retain_source false", "check_retain_source false\n", func(f *brokerFlags) bool { return true }},
		{"upgrade_outgoing_qos false", "upgrade_outgoing_qos false\n", func(f *brokerFlags) bool { return true }},
		{"use_subject_as_username false", "use_subject_as_username false\n", func(f *brokerFlags) bool { return true }},
		{"sys_interval", "sys_interval 30\n", func(f *brokerFlags) bool { return f.sysInterval == 30*time.Second }},
		{"Mosquitto's sys_interval", "listener 1\n", func(f *brokerFlags) bool { return f.sysInterval == 10*time.Second }},
		{"log_dest, log_type", "log_dest stdout\nlog_dest file " + filepath.Join(dir, "log") + "\nlog_type warning\nlog_type error\n", func(f *brokerFlags) bool {
			return slices.Equal(f.mosq.logDests, []string{"stdout", filepath.Join(dir, "log")}) && *f.mosq.logLevel == slog.LevelWarn
		}},
		{"log_dest syslog", "log_dest syslog\n", func(f *brokerFlags) bool { return len(f.mosq.warnings) == 1 }},
		{"log_type none", "log_type none\n", func(f *brokerFlags) bool { return f.mosq.logNone }},
		{"connection_messages", "connection_messages false\n", func(f *brokerFlags) bool { return f.mosq.quietConns }},
		{"user", "user mosquitto\n", func(f *brokerFlags) bool { return strings.Contains(f.mosq.warnings[0], "does not drop privileges") }},
		{"pid_file", "pid_file /run/petrel.pid\n", func(f *brokerFlags) bool { return f.mosq.pidFile == "/run/petrel.pid" }},
		{"internals are warnings", "autosave_on_changes false\nset_tcp_nodelay true\ndhparamfile dh.pem\n", func(f *brokerFlags) bool { return len(f.mosq.warnings) == 3 }},
		{"comments and blank lines", "# a comment\n\n   \nlistener 1884\n", func(f *brokerFlags) bool { return len(f.listen) == 1 }},
		{"Petrel's own form", "listen 127.0.0.1:0\nmax-inflight 9\nmax_queued 3\nallow-anonymous\npassword-file " + pw + "\n", func(f *brokerFlags) bool {
			return f.maxInflight == 9 && f.maxQueued == 3 && f.allowAnonymous && f.sysInterval == 0
		}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			f, err := parseConf(t, c.text)
			if err != nil {
				t.Fatalf("%q: %v", c.text, err)
			}
			if !c.check(f) {
				t.Errorf("%q: not what it should set: %+v, %+v", c.text, *f, *f.mosq)
			}
		})
	}

	bad := []struct{ text, want string }{
		{"listener 1883\nfrobnicate 3\n", `line 2: frobnicate: unknown directive`},
		{"max_connections lots\n", `line 1: max_connections: "lots"`},
		{"max_inflight_messages 70000\n", `line 1: max_inflight_messages: "70000": a whole number from 0 to 65535`},
		{"message_size_limit -1\n", "line 1: message_size_limit"},
		{"max_keepalive 70000\n", "line 1: max_keepalive"},
		{"allow_anonymous yes\n", `line 1: allow_anonymous: "yes": true or false`},
		{"listener\n", "line 1: listener: no value"},
		{"listener 70000\n", `line 1: listener: port "70000"`},
		{"listener 0 /run/mqtt.sock\n", "unix sockets"},
		{"protocol websockets\n", "outside a listener block"},
		{"listener 1\nprotocol mqtt5\n", `line 2: protocol: "mqtt5"`},
		{"listener 1\nsocket_domain ipx\n", `line 2: socket_domain`},
		{"tls_version tlsv9\n", "line 1: tls_version"},
		{"address 10.0.0.1:1883\n", "line 1: address: outside a bridge: put it after a \"connection NAME\" line"},
		{"connection b\naddress 10.0.0.1:99999\n", `line 2: address: "10.0.0.1:99999": port`},
		{"connection b\naddress ::1\n", "line 2: address: \"::1\": an IPv6 address needs brackets"},
		{"connection b\ntopic x sideways\n", `line 2: topic: direction "sideways": out, in or both`},
		{"connection b\ntopic x out 3\n", `line 2: topic: QoS "3"`},
		{"connection b\ntopic x out 1 l/\n", "line 2: topic: wants"},
		{"connection b\nbridge_protocol_version mqttv50\n", `line 2: bridge_protocol_version: "mqttv50" is not supported by Petrel`},
		{"connection b\nstart_type lazy\n", `line 2: start_type: "lazy" is not supported`},
		{"connection b\nkeepalive_interval 2\n", "line 2: keepalive_interval"},
		{"connection b\nrestart_timeout 10 5\n", "line 2: restart_timeout: cap"},
		{"connection b\nbridge_psk 00\n", "line 2: bridge_psk: not supported by Petrel: TLS-PSK"},
		{"connection b\nbridge_certfile c.pem\naddress h\ntopic x\n", "line 1: connection b: bridge_certfile and bridge_keyfile go together"},
		{"bridge_flux 1\n", "line 1: bridge_flux: unknown bridge directive"},
		{"crlfile crl.pem\n", "line 1: crlfile: not supported"},
		{"ciphers HIGH\n", "line 1: ciphers: not supported"},
		{"use_subject_as_username true\n", "line 1: use_subject_as_username: true is not supported"},
		{"max_inflight_bytes 1000\n", "line 1: max_inflight_bytes"},
		{"max_packet_size 19\n", "line 1: max_packet_size: 19 bytes: too small for a CONNECT; 0 (the default) or 20 and more"},
		{"queue_qos0_messages true\n", "line 1: queue_qos0_messages: true is not supported"},
		{"persistent_client_expiration 14d\n", "line 1: persistent_client_expiration: not supported"},
		{"retain_available false\n", "line 1: retain_available: false is not supported"},
		{"check_retain_source true\n", "line 1: check_retain_source: true"},
		{"upgrade_outgoing_qos true\n", "line 1: upgrade_outgoing_qos: true"},
		{"mount_point tenant/\n", "line 1: mount_point: not supported"},
		{"log_dest topic\n", "line 1: log_dest: topic is not supported"},
		{"log_type chatty\n", "line 1: log_type"},
		{"plugin /usr/lib/x.so\n", "line 1: plugin: not supported"},
		{"plugin_opt_db /var/lib/x\n", "line 1: plugin_opt_db: not supported by Petrel: plugins"},
		{"bridge_alpn x\n", "line 1: bridge_alpn: not supported by Petrel: ALPN"},
		{"local_username u\n", "line 1: local_username: not supported by Petrel: a bridge's connection"},
		{"notification_topic t\n", "line 1: notification_topic: outside a bridge"},
		{"tls_engine pkcs11\n", "line 1: tls_engine: not supported by Petrel: TLS engines"},
		{"per_listener_settings true\nlistener 1\npassword_file a\nlistener 2\npassword_file b\n", `line 5: password_file: "b" after "a"`},
		{"listener 1\ncertfile a\nlistener 2\ncertfile b\n", `line 4: certfile: "b" after "a"`},
		{"c other.conf\n", "line 1: c: a configuration file cannot name another"},
	}
	for _, c := range bad {
		_, err := parseConf(t, c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "mosquitto.conf") {
			t.Errorf("%q: error %v, want one naming the file and %q", c.text, err, c.want)
		}
	}
}

// TestMosquittoConfCommandLineWins checks that a flag on the command line
// wins over the file's directive.
func TestMosquittoConfCommandLineWins(t *testing.T) {
	f, err := parseConf(t, "listener 1\nmax_inflight_messages 7\nallow_anonymous true\n", "-max-inflight", "3")
	if err != nil || f.maxInflight != 3 {
		t.Errorf("max inflight %d, err %v; want 3", f.maxInflight, err)
	}
}

// TestMosquittoConfIncludeDir checks include_dir: the *.conf files of the
// directory read in alphabetical order, an error in one naming that file.
func TestMosquittoConfIncludeDir(t *testing.T) {
	inc := t.TempDir()
	os.WriteFile(filepath.Join(inc, "b.conf"), []byte("max_queued_messages 20\n"), 0o600)
	os.WriteFile(filepath.Join(inc, "a.conf"), []byte("max_queued_messages 10\nmax_inflight_messages 5\n"), 0o600)
	os.WriteFile(filepath.Join(inc, "ignored.txt"), []byte("frobnicate\n"), 0o600)
	f, err := parseConf(t, "listener 1883\nallow_anonymous true\ninclude_dir "+inc+"\n")
	if err != nil || f.maxQueued != 20 || f.maxInflight != 5 {
		t.Fatalf("queued %d, inflight %d, err %v; want 20 (b.conf after a.conf), 5", f.maxQueued, f.maxInflight, err)
	}
	os.WriteFile(filepath.Join(inc, "c.conf"), []byte("\nbridge_cafile x\n"), 0o600)
	if _, err := parseConf(t, "include_dir "+inc+"\n"); err == nil || !strings.Contains(err.Error(), "c.conf: line 2: bridge_cafile") {
		t.Errorf("error %v, want one naming c.conf line 2", err)
	}
	if _, err := parseConf(t, "include_dir "+filepath.Join(inc, "missing")+"\n"); err == nil {
		t.Error("a missing include_dir: no error")
	}
}

// TestMosquittoConfLogging checks log_dest file, log_type and
// connection_messages on the handler.
func TestMosquittoConfLogging(t *testing.T) {
	name := filepath.Join(t.TempDir(), "broker.log")
	f, err := parseConf(t, "log_dest file "+name+"\nlog_type warning\nconnection_messages false\n")
	if err != nil {
		t.Fatal(err)
	}
	h, logs, err := f.mosq.logHandler(io.Discard, io.Discard, slog.LevelInfo, false, false)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(h)
	log.Info("not at warning level")
	log.Warn("client connected")
	log.Warn("kept")
	logs.close()
	b, _ := os.ReadFile(name)
	if s := string(b); strings.Count(s, "\n") != 1 || !strings.Contains(s, "msg=kept") {
		t.Errorf("log file %q, want the one warning kept", s)
	}
}
