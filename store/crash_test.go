package store_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/store"
)

// The environment variables that switch the test binary into a crash
// child, and pick its sync policy.
const (
	crashChildEnv = "PETREL_STORE_CRASH_DIR"
	crashSyncEnv  = "PETREL_STORE_CRASH_SYNC"
)

const crashWorkers = 4

// crashChild is the test binary run as a child by TestCrash: it opens the
// store in dir, deletes what it finds there, then runs flows from
// crashWorkers goroutines until it is killed. On stdout it tells each
// change it made — "P seq" after PutOutgoing returned, "R seq" after
// Release returned, "I id" after PutInbound returned — and each deletion
// it is about to make — "D seq" before DeleteOutgoing, "J id" before
// DeleteInbound. A small CompactAt has it compact often.
func crashChild(dir string) int {
	policy := store.SyncAlways
	if os.Getenv(crashSyncEnv) == store.SyncBatch.String() {
		policy = store.SyncBatch
	}
	s, err := store.Open(dir, store.Options{Sync: policy, CompactAt: 8 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...) // one write(2)
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	out, inbound, last, err := s.Load()
	if err != nil {
		fail(err)
	}
	for _, o := range out {
		say("D %d", o.Seq)
		if err := s.DeleteOutgoing(o.Seq); err != nil {
			fail(err)
		}
	}
	for _, id := range inbound {
		say("J %d", id)
		if err := s.DeleteInbound(id); err != nil {
			fail(err)
		}
	}
	var next atomic.Uint64
	next.Store(last)
	for w := range crashWorkers {
		go func() {
			var live []uint64
			var ids []uint16
			for {
				seq := next.Add(1)
				qos := byte(1 + seq%2)
				if err := s.PutOutgoing(put(seq, qos)); err != nil {
					fail(err)
				}
				say("P %d", seq)
				if qos == 2 && seq%3 != 0 {
					if err := s.Release(seq); err != nil {
						fail(err)
					}
					say("R %d", seq)
				}
				if live = append(live, seq); len(live) > 10 {
					say("D %d", live[0])
					if err := s.DeleteOutgoing(live[0]); err != nil {
						fail(err)
					}
					live = live[1:]
				}
				if w != 0 {
					continue
				}
				id := uint16(seq%1000 + 1)
				if err := s.PutInbound(id); err != nil {
					fail(err)
				}
				say("I %d", id)
				if ids = append(ids, id); len(ids) > 5 {
					say("J %d", ids[0])
					if err := s.DeleteInbound(ids[0]); err != nil {
						fail(err)
					}
					ids = ids[1:]
				}
			}
		}()
	}
	select {}
}

// crashModel is what the children told.
type crashModel struct {
	put, released, deleting map[uint64]bool
	inbound                 map[uint16]bool // true: put; false: being deleted
	maxPut                  uint64
	lines                   int
}

func (m *crashModel) apply(t *testing.T, line string) {
	var op string
	var n uint64
	if _, err := fmt.Sscanf(line, "%s %d", &op, &n); err != nil {
		t.Fatalf("child wrote %q: %v", line, err)
	}
	m.lines++
	switch op {
	case "P":
		m.put[n] = true
		m.maxPut = max(m.maxPut, n)
	case "R":
		m.released[n] = true
	case "D":
		m.deleting[n] = true
	case "I":
		m.inbound[uint16(n)] = true
	case "J":
		m.inbound[uint16(n)] = false
	default:
		t.Fatalf("child wrote %q", line)
	}
}

// TestCrash kills a child writing to a store at random moments with
// SIGKILL, and checks after each kill that the store opens with no damage
// but a torn last record, and holds every change the child reported.
func TestCrash(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs SIGKILL and child processes")
	}
	for _, policy := range []store.SyncPolicy{store.SyncAlways, store.SyncBatch} {
		t.Run(policy.String(), func(t *testing.T) {
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 1))
			dir := t.TempDir()
			m := &crashModel{put: map[uint64]bool{}, released: map[uint64]bool{}, deleting: map[uint64]bool{}, inbound: map[uint16]bool{}}
			for round := range 12 {
				crashRound(t, dir, policy, rng, round, m)
			}
			t.Logf("%d changes reported by the children, last seq %d", m.lines, m.maxPut)
			if m.maxPut < 50 {
				t.Errorf("the children put only %d messages in all", m.maxPut)
			}
		})
	}
}

func crashRound(t *testing.T, dir string, policy store.SyncPolicy, rng *rand.Rand, round int, m *crashModel) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, crashSyncEnv+"="+policy.String())
	cmd.SysProcAttr = childAttr()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// Kill it at once in some rounds (maybe while Open recovers), and
	// otherwise once it is under way, after a random number of changes.
	var got []string
	if round%4 != 3 {
		want := 20 + rng.IntN(1500)
		timeout := time.After(10 * time.Second)
	read:
		for len(got) < want {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				got = append(got, l)
			case <-timeout:
				break read
			}
		}
	}
	time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
	cmd.Process.Kill()
	for l := range lines {
		got = append(got, l)
	}
	err = cmd.Wait()
	if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.ExitCode() != -1 || stderr.Len() > 0 {
		t.Fatalf("round %d: the child ended with %v, not SIGKILL; stderr:\n%s", round, err, stderr.String())
	}
	for _, l := range got {
		m.apply(t, l)
	}

	s, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatalf("round %d: Open: %v", round, err)
	}
	defer s.Close()
	for _, e := range s.Recovered() {
		// A write(2) cut short by the kill is the only damage there may be.
		t.Logf("round %d: recovered: %v", round, e)
		if e.Dropped == 0 || !strings.HasPrefix(e.Reason, "torn record") {
			t.Errorf("round %d: damage other than a torn last record: %v", round, e)
		}
	}
	out, inbound, lastSeq, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if lastSeq < m.maxPut {
		t.Errorf("round %d: lastSeq %d, but seq %d was put", round, lastSeq, m.maxPut)
	}
	present := map[uint64]bool{}
	unreported := 0
	for _, o := range out {
		present[o.Seq] = true
		want := put(o.Seq, byte(1+o.Seq%2))
		if o.Released {
			want = released(want)
		}
		if !slices.Equal(o.Packet, want.Packet) || o.QoS != want.QoS || o.PacketID != want.PacketID {
			t.Errorf("round %d: seq %d holds %+v, want %+v", round, o.Seq, o, want)
		}
		if m.released[o.Seq] && !o.Released {
			t.Errorf("round %d: seq %d was released, and is not", round, o.Seq)
		}
		if !m.put[o.Seq] && !m.deleting[o.Seq] {
			// A PutOutgoing that returned just before the kill, unreported.
			unreported++
			m.put[o.Seq] = true
		}
	}
	if unreported > crashWorkers {
		t.Errorf("round %d: %d messages present that no child reported", round, unreported)
	}
	for seq := range m.put {
		if !m.deleting[seq] && !present[seq] {
			t.Errorf("round %d: seq %d was put, never deleted, and is missing", round, seq)
		}
	}
	for id, live := range m.inbound {
		if live && !slices.Contains(inbound, id) {
			t.Errorf("round %d: inbound %d was put, never deleted, and is missing", round, id)
		}
	}
	for _, id := range inbound {
		if _, ok := m.inbound[id]; !ok {
			m.inbound[id] = true // put just before the kill
		}
	}
}
