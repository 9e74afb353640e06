package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/petrel-mqtt/petrel/auth"
	"github.com/petrel-mqtt/petrel/session"
	"github.com/petrel-mqtt/petrel/transport"
)

// keyPasswordEnv is the environment variable that holds the password of an
// encrypted --key when --key-password is not given.
const keyPasswordEnv = "PETREL_KEY_PASSWORD"

// insecureWarning is printed to stderr for --insecure.
const insecureWarning = `petrel: WARNING: --insecure: the server's certificate is NOT verified.
petrel: WARNING: anyone on the network path can pose as the broker and read or change
petrel: WARNING: everything sent, passwords included. Use it for testing only.
`

// tls sets up TLS from --tls, --cafile, --cert, --key, --key-password and
// --insecure, loading the client certificate now, so that a bad file or
// password is a usage error reported before any network I/O.
func (f *connFlags) tls(ctx context.Context, e *env, cfg *session.Config) error {
	if f.key != "" && f.cert == "" {
		return usageErr("--key needs --cert: the client certificate that goes with the key")
	}
	if f.set["key-password"] && f.cert == "" {
		return usageErr("--key-password needs --cert (and --key, unless the --cert file holds the key)")
	}
	var version uint16
	if f.tlsVer != "" {
		var err error
		if version, err = tlsVersion(f.tlsVer); err != nil {
			return err
		}
		if !f.tlsOn() {
			return usageErr("--tls-version needs TLS: give --tls, --cafile or --capath too, or an mqtts:// or wss:// URL")
		}
	}
	if !f.useTLS && f.caFile == "" && f.caPath == "" && f.cert == "" && !f.insecure && version == 0 {
		return nil // plain TCP, or a TLS URL with the system's roots
	}
	tc := transport.NewTLSConfig(nil) // the system's roots
	if f.caFile != "" {
		pool, err := transport.LoadCAFile(f.caFile)
		if err != nil {
			return usageErr("--cafile: %s", trimMQTT(err))
		}
		tc.RootCAs = pool
	}
	if f.caPath != "" {
		if tc.RootCAs == nil {
			tc.RootCAs = x509.NewCertPool()
		}
		if err := loadCAPath(tc.RootCAs, f.caPath); err != nil {
			return err
		}
	}
	if version != 0 {
		tc.MinVersion, tc.MaxVersion = version, version
	}
	if f.insecure {
		fmt.Fprint(e.stderr, insecureWarning)
		tc.InsecureSkipVerify = true
	}
	cfg.TLSConfig = tc
	if f.url == "" {
		cfg.Option = session.TLS
	}
	if f.cert == "" {
		return nil
	}
	cert, err := f.loadKey(ctx, e)
	if err != nil {
		return err
	}
	cfg.PrivateKey = auth.Key{Certificate: &cert}
	if cfg.UserPassword != "" {
		fmt.Fprintln(e.stderr, "petrel: warning: the password (-P) is not sent: with --cert the client authenticates by its certificate")
	}
	return nil
}

// loadKey loads --cert and --key. The password of an encrypted key comes
// from --key-password, else PETREL_KEY_PASSWORD, else a prompt when
// standard input is a terminal.
func (f *connFlags) loadKey(ctx context.Context, e *env) (tls.Certificate, error) {
	k, keyFlag, keyFile := auth.Key{File: f.cert}, "--cert", f.cert
	if f.key != "" {
		k, keyFlag, keyFile = auth.Key{CertFile: f.cert, KeyFile: f.key}, "--key", f.key
	}
	source := "--key-password"
	password := f.keyPassword
	if !f.set["key-password"] {
		if p := e.getenv(keyPasswordEnv); p != "" {
			password, source = p, keyPasswordEnv
		}
	}
	k.Password = []byte(password)
	cert, err := k.Load()
	if errors.Is(err, auth.ErrPasswordRequired) && password == "" {
		if e.password == nil {
			return cert, usageErr("%s %s: the key is encrypted: give --key-password, set %s, or run petrel from a terminal to type it",
				keyFlag, keyFile, keyPasswordEnv)
		}
		p, perr := e.password(ctx, "Password for the key in "+keyFile+": ")
		if perr != nil {
			return cert, usageErr("%s %s: the key is encrypted, and its password could not be read (%v): give --key-password or set %s",
				keyFlag, keyFile, perr, keyPasswordEnv)
		}
		k.Password, source = p, "the prompt"
		cert, err = k.Load()
		clear(p)
	}
	if err != nil {
		if ke, ok := errors.AsType[*auth.KeyError](err); ok && ke.File == f.cert {
			keyFlag = "--cert"
		}
		if errors.Is(err, auth.ErrIncorrectPassword) {
			return cert, usageErr("%s: %s (the password came from %s)", keyFlag, trimMQTT(err), source)
		}
		return cert, usageErr("%s: %s", keyFlag, trimMQTT(err))
	}
	return cert, nil
}
