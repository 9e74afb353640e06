package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
	"github.com/petrel-mqtt/petrel/session"
)

// writes records each Write as a string; it fails them all once err is set.
type writes struct {
	got []string
	err error
}

func (w *writes) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	w.got = append(w.got, string(p))
	return len(p), nil
}

func msg(payload string, qos packet.QoS) *session.Message {
	return &session.Message{Topic: "t", Payload: []byte(payload), QoS: qos}
}

// TestPrinterWrites checks when sub's printer writes: QoS 0 messages are
// held until the client has no message more waiting (flush) and flushMin
// bytes are held, or holdOut after that, or flushAt; a QoS 1 or 2 message
// is written, with what was held, before it is acknowledged; at -C the
// output is whole before sub is told to stop.
func TestPrinterWrites(t *testing.T) {
	w := &writes{}
	p := &printer{w: w, chance: 10000, stop: make(chan error, 1)}
	written := func() []string { // w.got, which the timer writes to under wmu
		p.wmu.Lock()
		defer p.wmu.Unlock()
		return slices.Clone(w.got)
	}
	p.HandleMessage(msg("a", packet.QoS0))
	p.HandleMessage(msg("b", packet.QoS0))
	if len(w.got) != 0 {
		t.Fatalf("QoS 0 written before flush: %q", w.got)
	}
	start := time.Now()
	p.flush() // less than flushMin held: written holdOut later
	p.flush()
	for len(written()) == 0 {
		if time.Since(start) > 5*time.Second {
			t.Fatal("what flush held was not written")
		}
		time.Sleep(100 * time.Microsecond)
	}
	if elapsed := time.Since(start); elapsed < holdOut {
		t.Errorf("held output written after %v, want holdOut (%v)", elapsed, holdOut)
	}
	p.flush() // nothing held: no write
	time.Sleep(2 * holdOut)
	p.HandleMessage(msg("c", packet.QoS0))
	p.HandleMessage(msg("d", packet.QoS1))
	p.HandleMessage(msg("e", packet.QoS2))
	want := []string{"a\nb\n", "c\nd\n", "e\n"}
	if got := written(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("writes %q; want %q", got, want)
	}
	// flushMin held: written at once.
	w.got = nil
	p.HandleMessage(msg(strings.Repeat("y", flushMin), packet.QoS0))
	p.flush()
	if len(w.got) != 1 {
		t.Errorf("%d writes of %d bytes held at flush; want 1 at once", len(w.got), flushMin+1)
	}

	w.got = nil
	big := strings.Repeat("x", flushAt/4)
	for range 4 {
		p.HandleMessage(msg(big, packet.QoS0))
	}
	if len(w.got) != 1 || len(w.got[0]) != 4*(len(big)+1) {
		t.Errorf("%d writes after %d bytes held; want 1 of them all", len(w.got), 4*(len(big)+1))
	}

	w.got = nil
	p = &printer{w: w, chance: 10000, stop: make(chan error, 1), count: 2}
	p.HandleMessage(msg("a", packet.QoS0))
	p.HandleMessage(msg("b", packet.QoS0))
	if err := <-p.stop; err != nil || strings.Join(w.got, "") != "a\nb\n" {
		t.Errorf("at -C 2: stop %v, output %q; want nil, \"a\\nb\\n\"", err, w.got)
	}

	w.got = nil
	p = &printer{w: w, chance: 10000, stop: make(chan error, 1)}
	p.HandleMessage(msg("lost", packet.QoS0))
	p.flushLast()
	if strings.Join(w.got, "") != "lost\n" {
		t.Errorf("flushLast wrote %q; want \"lost\\n\"", w.got)
	}
}

// TestPrinterWriteError checks that a failed write of held output ends
// the run with the error, once, and that nothing is printed after it.
func TestPrinterWriteError(t *testing.T) {
	broken := errors.New("broken pipe")
	w := &writes{err: broken}
	p := &printer{w: w, chance: 10000, stop: make(chan error, 1)}
	p.HandleMessage(msg("a", packet.QoS0))
	p.flush()
	if err := <-p.stop; !errors.Is(err, broken) {
		t.Fatalf("stop %v; want %v", err, broken)
	}
	p.out = append(p.out, "b\n"...)
	p.flush() // a second failure must not block on stop
	if !p.done {
		t.Error("printer not done after a failed write")
	}
}
