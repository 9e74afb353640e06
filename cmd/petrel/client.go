package main

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"time"

	"github.com/petrel-mqtt/petrel/session"
	"github.com/petrel-mqtt/petrel/transport"
)

// disconnectTimeout bounds the clean Disconnect at the end of a command,
// after a signal or -W included: waiting for the acknowledgements still
// outstanding, then DISCONNECT.
const disconnectTimeout = 2 * time.Second

// errTimedOut is the cause of the context that -W ends.
var errTimedOut = errors.New("-W timed out")

// runContext returns the context of a command's run: ctx (which a signal
// ends) with the -W timeout, if any, whose cause is errTimedOut.
func runContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, timeout, errTimedOut)
}

// timedOut reports whether ctx ended because -W ran out.
func timedOut(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errTimedOut) }

// interrupted reports whether ctx ended for a signal.
func interrupted(ctx context.Context) bool { return ctx.Err() != nil && !timedOut(ctx) }

// failure gives err, the failure of a step of the run, its exit code: 27
// if -W ran out, 130 if a signal came, else code.
func failure(ctx context.Context, f *connFlags, code int, err error) error {
	switch {
	case timedOut(ctx):
		return &exitError{code: exitTimeout, err: fmt.Errorf("timed out after %v (-W)", f.runTimeout)}
	case interrupted(ctx):
		return &exitError{code: exitInterrupted, err: errors.New("interrupted")}
	}
	return withCode(code, err)
}

// newClient makes the client of cfg; New fails only for a Config that the
// flags should have refused, so its errors are usage errors too.
func newClient(cfg session.Config) (*session.Client, error) {
	c, err := session.New(cfg)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return c, nil
}

// connect connects c; a failure has exit code 2 and says why, naming the
// CONNACK return code when the broker refused.
func connect(ctx context.Context, f *connFlags, log *slog.Logger, c *session.Client) error {
	if f.unixPath != "" {
		log.Debug("petrel: connecting", "unix", f.unixPath)
	} else if f.broker != nil {
		log.Debug("petrel: connecting", "broker", f.broker.redacted)
	} else if addr, err := transport.Address(f.host, f.port, f.tlsOn()); err == nil {
		log.Debug("petrel: connecting", "broker", addr)
	}
	present, err := c.Connect(ctx)
	for attempt := 1; err != nil && f.retryFirst(err) && attempt < firstAttempts; attempt++ {
		// The link was cut during the handshake: a flapping link, which
		// the client rides out once connected. mosquitto_pub connects
		// again too.
		log.Debug("petrel: connecting again", "error", err)
		t := time.NewTimer(cmp.Or(f.reconnectMin, session.DefaultReconnectMinDelay) << (attempt - 1))
		select {
		case <-t.C:
			present, err = c.Connect(ctx)
		case <-ctx.Done():
			t.Stop()
		}
	}
	if err != nil {
		return failure(ctx, f, exitConnect, f.explain(err))
	}
	log.Debug("petrel: connected", "session_present", present)
	return nil
}

// firstAttempts is how many times connect tries a connection cut during
// the handshake (see retryFirst).
const firstAttempts = 5

// retryFirst reports whether err, the failure of the first Connect, is
// worth another attempt: reconnection is on, and the server was reached
// but the connection ended before CONNACK (an EOF or a reset, as a
// flapping link gives). A refusal, an address that does not answer, a
// timeout and a TLS failure are reported at once.
func (f *connFlags) retryFirst(err error) bool {
	if f.noReconnect || errors.Is(err, session.ErrConnectionRefused) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if _, ok := errors.AsType[*transport.DialError](err); ok {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// tlsOn reports whether the flags ask for TLS.
func (f *connFlags) tlsOn() bool {
	return f.useTLS || f.caFile != "" || f.caPath != "" || f.cert != "" || f.insecure || f.broker != nil && f.broker.tls
}

// explain adds to a failure to connect what to do about it, in terms of
// the flags, where the error alone leaves the user guessing.
func (f *connFlags) explain(err error) error {
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok && f.caFile == "" && f.caPath == "" {
		return fmt.Errorf("%w; give the CA certificate that signed the broker's with --cafile", err)
	}
	if !f.tlsOn() || f.cert != "" || errors.Is(err, session.ErrConnectionRefused) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if _, ok := errors.AsType[*transport.DialError](err); ok {
		return err
	}
	// With TLS 1.3 the client's handshake is over before the server has
	// checked the client's certificate: a server that requires one closes
	// the connection during CONNECT, which reads as a reset or an EOF.
	return fmt.Errorf("%w (if the broker requires a client certificate, give --cert and --key)", err)
}

// disconnect ends the connection cleanly within disconnectTimeout, even
// after ctx has ended. By then the command's outcome is known (each
// publish was acknowledged as its QoS requires, each message printed), so
// a failure here only goes to the debug log. It also happens when nothing
// is wrong: the broker closes the connection on DISCONNECT, and the client
// may see that close before the write of DISCONNECT completes, reporting
// ErrConnectionLost.
func disconnect(ctx context.Context, log *slog.Logger, c *session.Client) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), disconnectTimeout)
	defer cancel()
	if err := c.Disconnect(ctx); err != nil {
		log.Debug("petrel: disconnecting", "error", err)
	}
}

// logger returns cfg's logger, or one that discards.
func logger(cfg *session.Config) *slog.Logger {
	if cfg.Logger != nil {
		return cfg.Logger
	}
	return slog.New(slog.DiscardHandler)
}
