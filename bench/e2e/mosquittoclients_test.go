package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// runMosquittoClients drives Debian's mosquitto_sub and mosquitto_pub.
//
// mosquitto_sub -C n exits after n messages; it prints one line for each,
// which the benchmark counts from its standard output. It has subscribed
// when the broker logs the subscription.
//
// mosquitto_pub -l sends each line of its standard input as a message,
// with -M window messages in flight at QoS 1 and 2 (--repeat waits for each
// message's acknowledgement before sending the next, so -l is the fast
// way). It exits once the last message is acknowledged. It connects before
// it reads its input, so the clock starts when the benchmark writes the
// first line, after the broker has logged the connection and a pause in
// which mosquitto_pub gets its CONNACK (it checks for it every 100 ms).
//
// The CPU time is each process's, user and system, from wait4: the whole
// life of both processes, starting and connecting included (about a
// millisecond each, against seconds of the run).
func runMosquittoClients(ctx context.Context, t testing.TB, b *broker, c benchCase) (res result, err error) {
	return runCLIClients(ctx, b, c, "mosquitto-clients",
		[]string{lookPath(t, "mosquitto_sub")}, []string{lookPath(t, "mosquitto_pub")})
}

// runPetrelClients drives petrel sub and petrel pub -l exactly as
// runMosquittoClients drives Mosquitto's: the same flags, the same input,
// the same clock.
func runPetrelClients(ctx context.Context, t testing.TB, b *broker, c benchCase) (result, error) {
	bin := petrelBinary(t)
	return runCLIClients(ctx, b, c, "petrel-clients", []string{bin, "sub"}, []string{bin, "pub"})
}

// runCLIClients runs a subscriber and a publisher taking mosquitto_sub's
// and mosquitto_pub's flags: subCmd and pubCmd are the commands before
// the flags.
func runCLIClients(ctx context.Context, b *broker, c benchCase, peer string, subCmd, pubCmd []string) (res result, err error) {
	res = result{peer: peer, qos: c.qos, n: c.n, rep: c.rep}
	port, qos := strconv.Itoa(b.port), strconv.Itoa(int(c.qos))
	subID, pubID := peer+"-sub-"+c.id, peer+"-pub-"+c.id

	from := b.log.Len()
	sub := exec.CommandContext(ctx, subCmd[0], append(subCmd[1:], "-h", "127.0.0.1", "-p", port, "-i", subID,
		"-t", c.topic, "-q", qos, "-C", strconv.Itoa(c.n))...)
	sub.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var subErr bytes.Buffer
	sub.Stderr = &subErr
	out, err := sub.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := sub.Start(); err != nil {
		return res, err
	}
	cnt := newCounter(c.n)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 64<<10)
		for {
			k, err := out.Read(buf)
			if n := bytes.Count(buf[:k], []byte{'\n'}); n > 0 {
				cnt.add(int64(n))
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		if sub.ProcessState == nil {
			sub.Process.Kill()
			<-readDone
			sub.Wait()
		}
	}()
	if err := b.waitLog(from, subID+" "+qos+" "+c.topic, 10*time.Second); err != nil {
		return res, fmt.Errorf("%s: %w; stderr: %s", subCmd, err, subErr.String())
	}

	from = b.log.Len()
	args := []string{"-h", "127.0.0.1", "-p", port, "-i", pubID,
		"-t", c.topic, "-q", qos, "-l", "-M", strconv.Itoa(c.window)}
	if *flagNodelay {
		args = append(args, "--nodelay")
	}
	pub := exec.CommandContext(ctx, pubCmd[0], append(pubCmd[1:], args...)...)
	pub.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var pubErr bytes.Buffer
	pub.Stderr = &pubErr
	in, err := pub.StdinPipe()
	if err != nil {
		return res, err
	}
	if err := pub.Start(); err != nil {
		return res, err
	}
	pubDone := make(chan struct{}) // closed once pub has exited and been waited for
	var writeErr, exitErr error
	started := false
	defer func() {
		if !started {
			in.Close()
			pub.Process.Kill()
			pub.Wait()
			return
		}
		select {
		case <-pubDone:
		default:
			pub.Process.Kill()
			<-pubDone
		}
	}()
	if err := b.waitLog(from, " as "+pubID+" ", 10*time.Second); err != nil {
		return res, fmt.Errorf("%s: %w; stderr: %s", pubCmd, err, pubErr.String())
	}
	time.Sleep(250 * time.Millisecond) // past mosquitto_pub's 100 ms wait for CONNACK

	// The lines are made before the clock starts.
	const chunkLines = 1024
	chunk := bytes.Repeat(append(append([]byte(nil), payload...), '\n'), chunkLines)
	broker0 := b.cpu()
	start := time.Now()
	started = true
	go func() {
		defer close(pubDone)
		w := bufio.NewWriterSize(in, len(chunk))
		var err error
		for left := c.n; left > 0 && err == nil; left -= chunkLines {
			_, err = w.Write(chunk[:min(left, chunkLines)*(payloadSize+1)])
		}
		if err == nil {
			err = w.Flush()
		}
		if cerr := in.Close(); err == nil {
			err = cerr
		}
		writeErr = err
		// mosquitto_pub exits after the last acknowledgement.
		if err := pub.Wait(); err != nil {
			exitErr = fmt.Errorf("%s: %w; stderr: %s", pubCmd, err, pubErr.String())
		}
	}()
	res.elapsed, res.received, err = cnt.await(start, pubDone)
	res.gaps = cnt.gaps(start, gapMin)
	if werr := waitDone(pubDone, runTimeout, pubCmd[0]); werr != nil {
		return res, errors.Join(err, werr)
	}
	res.broker = b.cpu() - broker0
	if writeErr != nil {
		err = errors.Join(err, fmt.Errorf("writing to %s: %w", pubCmd, writeErr))
	}
	err = errors.Join(err, exitErr)
	if res.received < c.n { // mosquitto_sub is still waiting for the lost ones
		sub.Process.Signal(syscall.SIGTERM)
	}
	<-readDone
	if werr := sub.Wait(); werr != nil && res.received == c.n {
		err = errors.Join(err, fmt.Errorf("%s: %w; stderr: %s", subCmd, werr, subErr.String()))
	}
	res.pubCPU = pub.ProcessState.UserTime() + pub.ProcessState.SystemTime()
	res.cpu = res.pubCPU + sub.ProcessState.UserTime() + sub.ProcessState.SystemTime()
	return res, err
}

// petrelBinary builds petrel, once, from the module this one replaces
// (the checkout), and returns its path.
func petrelBinary(t testing.TB) string {
	petrelBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "petrel-e2e-")
		if err != nil {
			petrelBin.err = err
			return
		}
		petrelBin.path = filepath.Join(dir, "petrel")
		out, err := exec.Command("go", "build", "-o", petrelBin.path, "github.com/petrel-mqtt/petrel/cmd/petrel").CombinedOutput()
		if err != nil {
			petrelBin.err = fmt.Errorf("building petrel: %v\n%s", err, out)
		}
	})
	if petrelBin.err != nil {
		t.Fatal(petrelBin.err)
	}
	return petrelBin.path
}

var petrelBin struct {
	once sync.Once
	path string
	err  error
}

// runPlain runs the case as a plain command line: bench/broker's plain.sh
// starts mosquitto_sub -C, then times mosquitto_pub -l -M reading the
// lines from a file, with the same flags as runMosquittoClients. Its rate
// is what runMosquittoClients's must come within 15% of: else the harness
// measures itself. It measures no CPU time.
func runPlain(ctx context.Context, t testing.TB, b *broker, c benchCase) (result, error) {
	res := result{peer: "plain", qos: c.qos, n: c.n, rep: c.rep}
	lookPath(t, "mosquitto_sub")
	lookPath(t, "mosquitto_pub")
	dir, err := os.MkdirTemp("", "e2e-plain-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	lines := filepath.Join(dir, "lines")
	line := append(bytes.Repeat([]byte{'x'}, payloadSize), '\n')
	if err := os.WriteFile(lines, bytes.Repeat(line, c.n), 0o600); err != nil {
		return res, err
	}
	script, err := filepath.Abs(filepath.Join("..", "broker", "plain.sh"))
	if err != nil {
		return res, err
	}
	out, err := exec.CommandContext(ctx, "bash", script, "127.0.0.1", strconv.Itoa(b.port), strconv.Itoa(int(c.qos)),
		c.topic, strconv.Itoa(c.n), "1", strconv.Itoa(c.window), lines, dir).Output()
	if err != nil {
		return res, fmt.Errorf("plain.sh: %w", err)
	}
	us, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		return res, fmt.Errorf("plain.sh printed %q: %w", out, err)
	}
	res.elapsed, res.received = time.Duration(us)*time.Microsecond, c.n
	return res, nil
}
