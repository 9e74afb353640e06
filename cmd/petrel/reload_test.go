package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/broker"
)

// TestBrokerSIGHUP runs petrel broker as a process with a Mosquitto
// configuration, and does what Debian's mosquitto.service and logrotate
// do: move the log file away and send SIGHUP. The broker stays up, logs
// to a new file under the old name, and the password and ACL files read
// again are in force; a file that no longer reads keeps the rules read
// before. SIGTERM then stops it with exit code 0.
func TestBrokerSIGHUP(t *testing.T) {
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	writePasswords := func(pw string) {
		t.Helper()
		f := broker.NewPasswordFile()
		if err := f.SetIterations("alice", pw, 1000); err != nil {
			t.Fatal(err)
		}
		if err := f.WriteFile(path("passwd")); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(path(name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writePasswords("old")
	write("acl", "user alice\ntopic readwrite a/#\n")
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	write("mosquitto.conf", "listener "+port+" "+host+"\npassword_file "+path("passwd")+"\nacl_file "+path("acl")+
		"\nlog_dest file "+path("broker.log")+"\nlog_type all\n")

	cmd := exec.Command(petrelBin(t), "broker", "-c", path("mosquitto.conf"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed once cmd.Wait returns
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	waitLogged := func(name, s string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(path(name))
			if strings.Contains(string(b), s) {
				return
			}
			select {
			case <-exited:
				t.Fatalf("petrel broker exited: %v; %s holds %q", waitErr, name, b)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not hold %q within 10s: %q", name, s, b)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitLogged("broker.log", `msg="broker started"`)
	as := func(pw string, args ...string) (int, string, string) {
		return petrel(t, "", append([]string{args[0], "-h", host, "-p", port, "-u", "alice", "-P", pw}, args[1:]...)...)
	}
	if code, _, stderr := as("old", "pub", "-t", "a/1", "-m", "x", "-q", "1"); code != exitOK {
		t.Fatalf("pub before SIGHUP: exit code %d, stderr %q", code, stderr)
	}

	writePasswords("new")
	write("acl", "user alice\ntopic readwrite b/#\n")
	if err := os.Rename(path("broker.log"), path("broker.log.1")); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitLogged("broker.log", `msg="SIGHUP: reloaded; other settings need a restart" read="[password file ACL file]" log_files=1`)
	if b, _ := os.ReadFile(path("broker.log.1")); strings.Contains(string(b), "SIGHUP") {
		t.Errorf("the moved log file got the lines after SIGHUP: %q", b)
	}
	if code, _, stderr := as("old", "pub", "-t", "b/1", "-m", "x"); code != exitConnect || !strings.Contains(stderr, "not authorized") {
		t.Errorf("old password after SIGHUP: exit code %d, stderr %q; want %d, not authorized", code, stderr, exitConnect)
	}
	if code, _, stderr := as("new", "pub", "-t", "b/1", "-m", "kept", "-q", "1", "-r"); code != exitOK {
		t.Fatalf("new password after SIGHUP: exit code %d, stderr %q", code, stderr)
	}
	checkACL := func(when string) {
		t.Helper()
		if code, stdout, stderr := as("new", "sub", "-t", "b/#", "-C", "1", "-W", "10"); code != exitOK || stdout != "kept\n" {
			t.Errorf("%s: sub b/#: exit code %d, stdout %q, stderr %q", when, code, stdout, stderr)
		}
		if code, _, stderr := as("new", "sub", "-t", "a/#", "-C", "1", "-W", "10"); code != exitOperation {
			t.Errorf("%s: sub a/#, which the new ACL does not grant: exit code %d, stderr %q; want %d", when, code, stderr, exitOperation)
		}
	}
	checkACL("after SIGHUP")

	// An ACL file that does not read: the rules in force stay.
	write("acl", "user alice\ntopic readwrite a/#/b\n")
	cmd.Process.Signal(syscall.SIGHUP)
	waitLogged("broker.log", `msg="SIGHUP: reload failed" err="ACL file `+path("acl"))
	checkACL("after a SIGHUP with a bad ACL file")

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("exit after SIGTERM: %v", waitErr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("petrel broker did not stop within 15s of SIGTERM")
	}
	waitLogged("broker.log", `msg="broker stopped"`)
}
