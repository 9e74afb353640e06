package main

import (
	"net/url"
	"strings"

	"github.com/petrel-mqtt/petrel/transport"
)

// brokerURL is what -L gives: the broker's address, and optionally the
// credentials and a topic.
type brokerURL struct {
	address  string // for session.Config.Address: "mqtt://host:1883", "ws://host:80/mqtt"
	redacted string // the URL as given, without its password, for messages
	tls      bool
	hasUser  bool
	user     string
	password string
	topic    string // "" if the URL has no path
}

// wantURL describes the form of -L in errors.
const wantURL = "want mqtt://[user[:password]@]host[:port][/topic] (or mqtts://, ws://, wss://)"

// parseURL reads -L, in mosquitto_pub's form extended to WebSocket:
//
//	scheme://[user[:password]@]host[:port][/topic]
//
// The scheme is mqtt or tcp (plain TCP, port 1883), mqtts, ssl or tls (TLS,
// port 8883), ws (WebSocket, port 80) or wss (WebSocket over TLS, port 443).
// Everything after the first '/' that follows the host is the topic,
// percent-decoded, so that "mqtt://h/a/#" is the filter "a/#" and
// "mqtt://h/a%20b" the topic "a b". Since the path is the topic, a WebSocket
// URL reaches the broker at wsPath ("" means transport.DefaultWebSocketPath).
// The user name and password are percent-decoded too.
func parseURL(raw, wsPath string) (brokerURL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return brokerURL{}, usageErr("-L %q: missing scheme: %s", raw, wantURL)
	}
	authority, path, _ := strings.Cut(rest, "/")
	u, err := url.Parse(scheme + "://" + authority)
	if err != nil {
		return brokerURL{}, usageErr("-L %q: %s", redactURL(raw), wantURL)
	}
	b := brokerURL{redacted: redactURL(raw)}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(authority, "#") {
		return brokerURL{}, usageErr("-L %s: a query or fragment after the host: %s", b.redacted, wantURL)
	}
	if u.User != nil {
		b.hasUser = true
		b.user = u.User.Username()
		b.password, _ = u.User.Password()
	}
	if path != "" {
		topic, err := url.PathUnescape(path)
		if err != nil {
			return brokerURL{}, usageErr("-L %s: the topic %q is not percent-encoded correctly", b.redacted, path)
		}
		b.topic = topic
	}

	scheme = strings.ToLower(scheme)
	addr := scheme + "://" + u.Host
	switch scheme {
	case "ws", "wss":
		if wsPath == "" {
			wsPath = transport.DefaultWebSocketPath
		}
		if !strings.HasPrefix(wsPath, "/") {
			return brokerURL{}, usageErr("--ws-path %q: the path must start with '/'", wsPath)
		}
		addr += wsPath
	default:
		if wsPath != "" {
			return brokerURL{}, usageErr("--ws-path needs a ws:// or wss:// URL, not -L %s", b.redacted)
		}
	}
	full, err := transport.ParseAddress(addr)
	if err != nil {
		if ae, ok := err.(*transport.AddressError); ok {
			return brokerURL{}, usageErr("-L %s: bad %s: %s", b.redacted, ae.Part, ae.Reason)
		}
		return brokerURL{}, usageErr("-L %s: %s", b.redacted, trimMQTT(err))
	}
	b.address = full.String()
	switch scheme {
	case "mqtts", "ssl", "tls", "wss":
		b.tls = true
	}
	return b, nil
}

// redactURL returns raw with the password of its user information, if
// any, replaced by "xxxxx", as url.URL.Redacted does.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority, path, hasPath := strings.Cut(rest, "/")
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		return raw
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	if !hasPassword {
		return raw
	}
	s := scheme + "://" + user + ":xxxxx" + authority[at:]
	if hasPath {
		s += "/" + path
	}
	return s
}
