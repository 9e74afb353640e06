package session

import (
	"net/url"
	"strconv"
	"strings"
)

// ParseURL makes a Config from a URL such as
//
//	mqtt://user:pass@host:1883?client_id=sensor-7&clean_session=false&keepalive=30s
//
// The scheme chooses the transport: mqtt:// or tcp:// (port 1883 by
// default), mqtts://, ssl:// or tls:// (TLS, port 8883), ws:// and wss://
// (WebSocket, with the URL's path; see transport.ParseAddress). The user
// information gives User and UserPassword. Query parameters set
// client_id, clean_session (true, the default, or false for a persistent
// session: PersistentSession), keepalive and connect_timeout
// (seconds or text, see ParseTimeout); any other is refused, so that a typo
// does not pass silently. The Config is not validated: New does that.
func ParseURL(rawURL string) (Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Config{}, &ConfigError{Field: "Address", Reason: "is not a URL", Err: err}
	}
	var cfg Config
	switch strings.ToLower(u.Scheme) {
	case "mqtt", "tcp":
	case "mqtts", "ssl", "tls":
		cfg.Option = TLS
	case "ws", "wss":
		a := *u
		a.User, a.RawQuery, a.Fragment = nil, "", ""
		cfg.Address = a.String()
	default:
		return Config{}, &ConfigError{Field: "Address", Reason: "URL scheme " + strconv.Quote(u.Scheme) + " is not mqtt, mqtts, tcp, ssl, tls, ws or wss"}
	}
	if cfg.Address == "" {
		if u.Path != "" && u.Path != "/" {
			return Config{}, &ConfigError{Field: "Address", Reason: "an " + u.Scheme + ":// URL has no path"}
		}
		cfg.Address = u.Hostname()
		if p := u.Port(); p != "" {
			if cfg.Port, err = strconv.Atoi(p); err != nil {
				return Config{}, &ConfigError{Field: "Port", Reason: strconv.Quote(p) + " is not a port number"}
			}
		}
	}
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.UserPassword, _ = u.User.Password()
	}
	for key, values := range u.Query() {
		v := values[len(values)-1]
		switch key {
		case "client_id":
			cfg.ClientID = v
		case "clean_session":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Config{}, &ConfigError{Field: "PersistentSession", Reason: "clean_session=" + strconv.Quote(v) + " is not true or false"}
			}
			cfg.PersistentSession = !b // the CleanSession parameter
		case "keepalive":
			if cfg.KeepAlive, err = ParseTimeout(v); err != nil {
				return Config{}, &ConfigError{Field: "KeepAlive", Reason: "cannot read keepalive", Err: err}
			}
		case "connect_timeout":
			if cfg.ConnectionTimeout, err = ParseTimeout(v); err != nil {
				return Config{}, &ConfigError{Field: "ConnectionTimeout", Reason: "cannot read connect_timeout", Err: err}
			}
		default:
			return Config{}, &ConfigError{Field: "Address", Reason: "unknown URL parameter " + strconv.Quote(key) +
				" (want client_id, clean_session, keepalive or connect_timeout)"}
		}
	}
	return cfg, nil
}
