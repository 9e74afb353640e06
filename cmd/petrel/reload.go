package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/petrel-mqtt/petrel/broker"
)

// SIGHUP makes petrel broker do what it makes Mosquitto do: read the
// password file and the ACL file again, and reopen the log files of
// log_dest, which logrotate has moved away (Debian's mosquitto.service
// reloads with kill -HUP, and its logrotate configuration reloads after
// each rotation). Other settings keep their values until a restart. A file
// that no longer reads keeps the rules in force, and says so.

// reloader re-reads the files of a running broker.
type reloader struct {
	passwordFile string
	pw           *broker.PasswordFile // nil without -password-file
	aclFile      string
	acl          *broker.ACL // nil without -acl-file
	logs         *logFiles   // nil without log_dest file
}

// newReloader returns the reloader of the broker that cfg, made by
// f.brokerConfig, configures.
func (f *brokerFlags) newReloader(cfg broker.Config, logs *logFiles) *reloader {
	r := &reloader{passwordFile: f.passwordFile, aclFile: f.aclFile, logs: logs}
	switch a := cfg.Authenticator.(type) {
	case *broker.PasswordFile:
		r.pw = a
	case *broker.CertAuthenticator:
		r.pw, _ = a.Fallback.(*broker.PasswordFile)
	}
	r.acl, _ = cfg.Authorizer.(*broker.ACL)
	return r
}

// reload re-reads the files, logging what it did; it returns the first
// error, the files that read well having been applied.
func (r *reloader) reload(log *slog.Logger) error {
	var errs []error
	if r.logs != nil {
		if err := r.logs.reopen(); err != nil {
			errs = append(errs, err)
		}
	}
	var done []string
	if r.pw != nil {
		if p, err := broker.ReadPasswordFile(r.passwordFile); err != nil {
			errs = append(errs, fmt.Errorf("password file %s: %s; the users read before stay", r.passwordFile, trimMQTT(err)))
		} else {
			r.pw.Replace(p)
			done = append(done, "password file")
		}
	}
	if r.acl != nil {
		if a, err := broker.ReadACLFile(r.aclFile); err != nil {
			errs = append(errs, fmt.Errorf("ACL file %s: %s; the rules read before stay", r.aclFile, trimMQTT(err)))
		} else {
			r.acl.Replace(a)
			done = append(done, "ACL file")
		}
	}
	for _, err := range errs {
		log.Error("SIGHUP: reload failed", "err", err)
	}
	log.Info("SIGHUP: reloaded; other settings need a restart", "read", done, "log_files", r.logs.len())
	return errors.Join(errs...)
}

// logFiles are the files of log_dest file, which SIGHUP reopens.
type logFiles struct {
	fs []*logFile
}

func (l *logFiles) len() int {
	if l == nil {
		return 0
	}
	return len(l.fs)
}

func (l *logFiles) reopen() error {
	var errs []error
	for _, f := range l.fs {
		errs = append(errs, f.reopen())
	}
	return errors.Join(errs...)
}

func (l *logFiles) close() {
	if l == nil {
		return
	}
	for _, f := range l.fs {
		f.close()
	}
}

// logFile is a log file that can be reopened under its name while the
// broker writes to it.
type logFile struct {
	name string
	mu   sync.Mutex
	f    *os.File
}

func openLogFile(name string) (*logFile, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	return &logFile{name: name, f: f}, nil
}

func (l *logFile) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(b)
}

// reopen opens the file's name again and writes there from now on; if it
// cannot, the old file stays.
func (l *logFile) reopen() error {
	f, err := os.OpenFile(l.name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("log_dest file: %v; still writing to the file opened before", err)
	}
	l.mu.Lock()
	old := l.f
	l.f = f
	l.mu.Unlock()
	return old.Close()
}

func (l *logFile) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.Close()
}
