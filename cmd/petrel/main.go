package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// env is what a command reads and writes besides its arguments. main fills
// it from the process; tests fill it with buffers and run the commands in
// the test process.
type env struct {
	command string // "pub" or "sub", for the hint after a usage error
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	getenv  func(string) string
	// password reads a password without echoing it, after printing prompt
	// to stderr. It is nil when standard input is not a terminal: then an
	// encrypted key's password must come from a flag or the environment.
	password func(ctx context.Context, prompt string) ([]byte, error)
	// stderrTerminal is set when standard error is a terminal: pub -l
	// then keeps a progress line there.
	stderrTerminal bool
}

func main() {
	clientProcs(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdin: stdin(), stdout: stdout(), stderr: os.Stderr, getenv: os.Getenv, stderrTerminal: isTerminal(os.Stderr)}
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		e.password = func(ctx context.Context, prompt string) ([]byte, error) {
			return readPassword(ctx, os.Stdin, os.Stderr, prompt)
		}
	}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// run runs the command named by args[0] and returns the exit code.
func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "pub":
		e.command = "pub"
		return runPub(ctx, e, args[1:])
	case "sub":
		e.command = "sub"
		return runSub(ctx, e, args[1:])
	case "broker":
		e.command = "broker"
		return runBroker(ctx, e, args[1:])
	case "passwd":
		e.command = "passwd"
		return runPasswd(ctx, e, args[1:])
	case "bench":
		e.command = "bench"
		return runBench(ctx, e, args[1:])
	case "version", "-version", "--version":
		e.command = "version"
		return runVersion(e, args[1:])
	case "help", "-help", "--help", "-h":
		if len(args) > 1 {
			switch args[1] {
			case "pub":
				fmt.Fprint(e.stdout, pubUsage)
				return exitOK
			case "sub":
				io.WriteString(e.stdout, subUsage)
				return exitOK
			case "broker":
				io.WriteString(e.stdout, brokerUsage)
				return exitOK
			case "passwd":
				fmt.Fprint(e.stdout, passwdUsage)
				return exitOK
			case "bench":
				io.WriteString(e.stdout, benchUsage)
				return exitOK
			case "version":
				io.WriteString(e.stdout, versionUsage)
				return exitOK
			}
		}
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "petrel: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}
