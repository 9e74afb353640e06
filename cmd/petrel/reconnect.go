package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/petrel-mqtt/petrel/session"
	"github.com/petrel-mqtt/petrel/store"
)

// reconnectDelayFlag parses --reconnect-delay min[,max]: each in seconds
// ("0.5") or a duration ("500ms"), min more than zero, max no less than
// min.
func (f *connFlags) reconnectDelayFlag(s string) error {
	lo, hi, two := strings.Cut(s, ",")
	var err error
	if f.reconnectMin, err = positiveDuration(lo); err != nil {
		return fmt.Errorf("min: %w", err)
	}
	f.reconnectMax = 0
	if !two {
		return nil
	}
	if f.reconnectMax, err = positiveDuration(hi); err != nil {
		return fmt.Errorf("max: %w", err)
	}
	if f.reconnectMax < f.reconnectMin {
		return fmt.Errorf("max %v is less than min %v", f.reconnectMax, f.reconnectMin)
	}
	return nil
}

// positiveDuration parses a duration as durationFlag does.
func positiveDuration(s string) (time.Duration, error) {
	var d time.Duration
	err := durationFlag(&d)(strings.TrimSpace(s))
	return d, err
}

// reconnect sets cfg.Reconnect from --no-reconnect and --reconnect-delay:
// by default the client reconnects by itself, after a delay that doubles
// from 100ms up to 30s, as session.Reconnect's zero value does.
func (f *connFlags) reconnect(cfg *session.Config) error {
	if f.noReconnect {
		if f.set["reconnect-delay"] {
			return usageErr("--reconnect-delay and --no-reconnect: give one or the other")
		}
		if len(f.moreHosts) > 0 {
			return usageErr("-h %s and --no-reconnect: the other hosts are tried only by a client that reconnects", f.host)
		}
		return nil
	}
	r := &session.Reconnect{MinDelay: f.reconnectMin, MaxDelay: f.reconnectMax, Addresses: f.moreHosts}
	if r.MaxDelay == 0 && r.MinDelay > session.DefaultReconnectMaxDelay {
		r.MaxDelay = r.MinDelay
	}
	// pub sends each message and waits for it; during an outage it waits
	// for the connection, QoS 0 included (see pubUsage).
	r.QueueQoS0 = f.command == "pub"
	cfg.Reconnect = r
	return nil
}

// watcher reports what the reconnecting client does: a short line on
// standard error when the connection is lost and when it comes back (never
// on standard output, which carries the messages), and the details in the
// debug log. Its hooks run on the client's reconnecting goroutine.
type watcher struct {
	stderr     io.Writer
	log        *slog.Logger
	persistent bool
	// refused receives the CONNACK refusal that ended reconnection, once.
	// Nil without reconnection.
	refused chan error
	// losses counts the connections lost.
	losses atomic.Int64
}

// watch installs w's hooks in cfg.Reconnect, if reconnection is on.
func watch(e *env, f *connFlags, log *slog.Logger, cfg *session.Config) *watcher {
	w := &watcher{stderr: e.stderr, log: log, persistent: f.persistent}
	if cfg.Reconnect == nil {
		return w
	}
	w.refused = make(chan error, 1)
	cfg.Reconnect.OnConnectionLost = w.lost
	cfg.Reconnect.OnConnect = w.connected
	return w
}

func (w *watcher) lost(err error) {
	if _, ok := errors.AsType[*session.ConnectError](err); ok {
		// Reconnection is over: the command reports the refusal as it
		// exits.
		select {
		case w.refused <- err:
		default:
		}
		return
	}
	w.losses.Add(1)
	w.log.Debug("petrel: connection lost, reconnecting", "error", err)
	if errors.Is(err, session.ErrProtocolViolation) {
		// The operation it failed reports the details as the command exits.
		fmt.Fprintf(w.stderr, "petrel: closed the connection: the broker violated the protocol; reconnecting\n")
		return
	}
	fmt.Fprintf(w.stderr, "petrel: connection lost (%s); reconnecting\n", trimMQTT(err))
}

func (w *watcher) connected(present bool) {
	w.log.Debug("petrel: reconnected", "session_present", present)
	if w.persistent && !present {
		fmt.Fprintf(w.stderr, "petrel: reconnected, but the broker kept no session (-c): what it held for this client is lost\n")
		return
	}
	fmt.Fprintf(w.stderr, "petrel: reconnected\n")
}

// refusal returns the channel that receives the refusal which ended
// reconnection; nil (never ready) without reconnection.
func (w *watcher) refusal() <-chan error { return w.refused }

// openStore opens --store into cfg.Store, if given, and returns the
// function that closes it. Damage the store found and skipped is reported
// on standard error; the run goes on.
func openStore(e *env, f *connFlags, log *slog.Logger, cfg *session.Config) (func(), error) {
	if f.storeDir == "" {
		return func() {}, nil
	}
	st, err := store.Open(f.storeDir, store.Options{Logger: log})
	if err != nil {
		return nil, usageErr("--store %s: %s", f.storeDir, trimMQTT(err))
	}
	for _, ce := range st.Recovered() {
		fmt.Fprintf(e.stderr, "petrel: warning: --store %s: %s\n", f.storeDir, trimMQTT(ce))
	}
	cfg.Store = st
	return func() {
		if err := st.Close(); err != nil {
			fmt.Fprintf(e.stderr, "petrel: warning: --store %s: closing: %s\n", f.storeDir, trimMQTT(err))
		}
	}, nil
}

// pending returns how many outgoing messages cfg.Store still holds, for
// the warning of a run that ends before the broker has acknowledged them
// all; 0 without a store.
func pending(cfg *session.Config) int {
	if cfg.Store == nil {
		return 0
	}
	out, _, _, err := cfg.Store.Load()
	if err != nil {
		return 0
	}
	return len(out)
}
