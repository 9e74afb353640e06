package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/petrel-mqtt/petrel/broker"
)

// passwdFlags are the flags of petrel passwd.
type passwdFlags struct {
	create     bool // -c: start a new file, replacing any
	batch      bool // -b: the password is an argument
	delete     bool // -D: remove the user
	iterations int  // -iterations: PBKDF2's count
	mosquitto  bool // -mosquitto: write Mosquitto 2's $7$ hash
}

func passwdFlagSet(p *passwdFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("petrel passwd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.BoolVar(&p.create, "c", false, "")
	fs.BoolVar(&p.batch, "b", false, "")
	fs.BoolVar(&p.delete, "D", false, "")
	fs.IntVar(&p.iterations, "iterations", broker.DefaultPasswordIterations, "")
	fs.BoolVar(&p.mosquitto, "mosquitto", false, "")
	return fs
}

// runPasswd runs petrel passwd: it adds, changes or deletes a user of a
// password file in the broker's format, as mosquitto_passwd does.
func runPasswd(ctx context.Context, e *env, args []string) int {
	var p passwdFlags
	fs := passwdFlagSet(&p)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(e.stdout, passwdUsage)
			return exitOK
		}
		return report(e, usageErr("%v", err))
	}
	if err := passwd(ctx, e, &p, fs.Args()); err != nil {
		return report(e, err)
	}
	return exitOK
}

func passwd(ctx context.Context, e *env, p *passwdFlags, args []string) error {
	want := 2
	switch {
	case p.delete && (p.create || p.batch):
		return usageErr("-D deletes a user: not with -c or -b")
	case p.batch:
		want = 3
	}
	if len(args) != want {
		switch {
		case p.batch:
			return usageErr("-b takes three arguments: file user password; got %d", len(args))
		case len(args) == 3:
			return usageErr("a password as the third argument needs -b (it is then visible to other users of the machine)")
		default:
			return usageErr("want two arguments: file user; got %d", len(args))
		}
	}
	if p.iterations < 1 || p.iterations > broker.MaxPasswordIterations {
		return usageErr("-iterations %d: out of range 1..%d", p.iterations, broker.MaxPasswordIterations)
	}
	name, user := args[0], args[1]

	pf := broker.NewPasswordFile()
	if !p.create {
		b, err := os.ReadFile(name)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if p.delete {
				return usageErr("%s: no such file", name)
			}
			return usageErr("%s: no such file: -c creates it", name)
		case err != nil:
			return usageErr("%v", err)
		}
		if pf, err = broker.ParsePasswordFile(bytes.NewReader(b)); err != nil {
			return usageErr("%s: %s", name, trimMQTT(err))
		}
	}
	if p.delete {
		if !pf.Remove(user) {
			return withCode(exitOperation, fmt.Errorf("%s: no user %q", name, user))
		}
		return writePasswords(pf, name)
	}

	var password string
	if p.batch {
		password = args[2]
	} else {
		if e.password == nil {
			return usageErr("standard input is not a terminal: give the password with -b file user password")
		}
		first, err := e.password(ctx, "Password: ")
		if err != nil {
			return usageErr("reading the password: %v", err)
		}
		again, err := e.password(ctx, "Reenter password: ")
		if err != nil {
			return usageErr("reading the password: %v", err)
		}
		same := bytes.Equal(first, again)
		password = string(first)
		clear(first)
		clear(again)
		if !same {
			return usageErr("the passwords do not match")
		}
	}
	if password == "" {
		return usageErr("empty password")
	}
	hash, err := broker.HashPassword(password, p.iterations)
	if p.mosquitto {
		hash, err = broker.HashPasswordMosquitto(password, p.iterations)
	}
	if err == nil {
		err = pf.SetHash(user, hash)
	}
	if err != nil {
		return usageErr("%s", trimMQTT(err))
	}
	return writePasswords(pf, name)
}

// writePasswords writes pf to name, atomically, with mode 0600.
func writePasswords(pf *broker.PasswordFile, name string) error {
	if err := pf.WriteFile(name); err != nil {
		return withCode(exitOperation, fmt.Errorf("writing %s: %v", name, err))
	}
	return nil
}
