package main

import (
	"errors"
	"fmt"
)

// Exit codes, documented in the usage text (usage.go) and in doc.go.
const (
	exitOK          = 0   // success
	exitUsage       = 1   // bad flags, or a file named by a flag that cannot be used
	exitConnect     = 2   // could not connect, or the broker refused the connection
	exitOperation   = 3   // connected, but a publish or subscribe failed, or the connection was lost
	exitTimeout     = 27  // -W ran out, as mosquitto_sub does (MOSQ_ERR_TIMEOUT)
	exitInterrupted = 130 // pub stopped by SIGINT or SIGTERM (128+SIGINT, as shells report it)
)

// exitError is an error with the exit code it ends the command with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr returns a usage error (exit code 1). The message names the flag
// at fault, as the flag package's own errors do: "-q 3: ...".
func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// withCode gives err an exit code, unless it has one already.
func withCode(code int, err error) error {
	if _, ok := errors.AsType[*exitError](err); ok {
		return err
	}
	return &exitError{code: code, err: err}
}

// report prints err to stderr as "petrel: ..." and returns its exit code.
// The "mqtt: " prefix of Petrel's own errors is dropped: the message reads
// "petrel: dial mqtt://...: connection refused", not "petrel: mqtt: dial".
func report(e *env, err error) int {
	code := exitOperation
	if ee, ok := errors.AsType[*exitError](err); ok {
		code = ee.code
	}
	fmt.Fprintf(e.stderr, "petrel: %s\n", trimMQTT(err))
	if code == exitUsage {
		fmt.Fprintf(e.stderr, "Run 'petrel %s --help' for usage.\n", e.command)
	}
	return code
}

// report reports err as report does, but with --quiet only usage errors:
// a runtime error then shows in the exit code alone, as mosquitto_pub's
// and mosquitto_sub's --quiet.
func (f *connFlags) report(e *env, err error) int {
	if ee, ok := errors.AsType[*exitError](err); f.quiet && (!ok || ee.code != exitUsage) {
		if ok {
			return ee.code
		}
		return exitOperation
	}
	return report(e, err)
}
