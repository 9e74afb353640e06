package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/petrel-mqtt/petrel/internal/leaktest"
	"github.com/petrel-mqtt/petrel/packet"
)

// countingFile returns a PasswordFile with alice and bob at testIterations
// and a counter of its PBKDF2 checks.
func countingFile(t *testing.T) (*PasswordFile, *atomic.Int64) {
	t.Helper()
	f := new(PasswordFile) // the zero value, set up lazily
	for _, u := range []string{"alice", "bob"} {
		if err := f.SetIterations(u, u+"-pw", testIterations); err != nil {
			t.Fatal(err)
		}
	}
	var checks atomic.Int64
	f.guard.onCheck = func() { checks.Add(1) }
	return f, &checks
}

// login calls f.Authenticate for user and password from addr, with a
// connect timeout of timeout, and returns the error and the time it took.
func login(f *PasswordFile, addr, user, password string, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	info := ConnInfo{ClientID: "c", Username: user, Password: []byte(password), RemoteAddr: tcpAddr(addr)}
	_, err := f.Authenticate(ctx, info)
	return time.Since(start), err
}

func tcpAddr(s string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		panic(err)
	}
	return a
}

// TestPasswordFileRemembersLogins checks that a correct login is accepted
// again without PBKDF2, and that Set, SetIterations and Remove forget it.
// The clock is synctest's, so that backoff waits take no time.
func TestPasswordFileRemembersLogins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, checks := countingFile(t)
		step := func(what, user, password string, wantOK bool, wantChecks int64) {
			t.Helper()
			_, err := login(f, "10.0.0.1:1000", user, password, 10*time.Second)
			if (err == nil) != wantOK || err != nil && !errors.Is(err, ErrBadUsernameOrPassword) {
				t.Errorf("%s: Authenticate(%s, %s) = %v, want ok %v", what, user, password, err, wantOK)
			}
			if got := checks.Load(); got != wantChecks {
				t.Errorf("%s: %d PBKDF2 checks in all, want %d", what, got, wantChecks)
			}
		}
		step("first login", "alice", "alice-pw", true, 1)
		step("remembered", "alice", "alice-pw", true, 1)
		if !f.Check("alice", "alice-pw") || checks.Load() != 1 {
			t.Errorf("Check of a remembered login: %d checks, want 1", checks.Load())
		}
		step("wrong password", "alice", "bob-pw", false, 2)
		step("still remembered", "alice", "alice-pw", true, 2)
		step("unknown user", "mallory", "alice-pw", false, 3) // the same PBKDF2 as a known user
		step("empty password", "alice", "", false, 3)         // refused before any PBKDF2

		f.Set("alice", "new-pw")
		if _, ok := f.logins["alice"]; ok {
			t.Error("Set did not forget the login")
		}
		f.SetIterations("alice", "new-pw", testIterations) // cheaper to check than Set's
		step("old password after Set", "alice", "alice-pw", false, 4)
		step("new password", "alice", "new-pw", true, 5)
		step("new password remembered", "alice", "new-pw", true, 5)
		f.SetIterations("alice", "new-pw", testIterations) // same password, new salt
		step("after SetIterations", "alice", "new-pw", true, 6)
		f.Remove("alice")
		step("after Remove", "alice", "new-pw", false, 7)
		if len(f.logins) != 0 {
			t.Errorf("%d logins remembered after Remove, want 0", len(f.logins))
		}
		step("bob", "bob", "bob-pw", true, 8)
		if !f.Check("bob", "bob-pw") || checks.Load() != 8 {
			t.Error("Check does not use the remembered login")
		}
	})
}

// TestPasswordFileChangedDuringCheck checks that a login checked against a
// password that Set replaced meanwhile is not remembered.
func TestPasswordFileChangedDuringCheck(t *testing.T) {
	f, checks := countingFile(t)
	var once sync.Once
	f.guard.onCheck = func() {
		checks.Add(1)
		once.Do(func() { f.SetIterations("alice", "changed", testIterations) })
	}
	if !f.Check("alice", "alice-pw") {
		t.Fatal("Check failed for the password of when it started")
	}
	if f.Check("alice", "alice-pw") || checks.Load() != 2 {
		t.Errorf("the old password was remembered past the change (%d checks)", checks.Load())
	}
	if !f.Check("alice", "changed") {
		t.Error("the new password is refused")
	}
}

// TestPasswordChecksBounded runs many checks at once and checks that no
// more than the bound run together.
func TestPasswordChecksBounded(t *testing.T) {
	leaktest.Check(t)
	var zero PasswordFile
	zero.Check("x", "y")
	if got, want := cap(zero.guard.slots), runtime.GOMAXPROCS(0); got != want {
		t.Errorf("%d check slots, want GOMAXPROCS = %d", got, want)
	}

	f, _ := countingFile(t)
	const limit = 2
	f.guard.maxChecks = limit
	var running, most atomic.Int64
	f.guard.onCheck = func() {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond) // let the others pile up
		running.Add(-1)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 5 {
				// From distinct addresses and for distinct user names:
				// no backoff, only the bound.
				login(f, fmt.Sprintf("10.1.%d.%d:1", i, j), fmt.Sprintf("u%d-%d", i, j), "x", 30*time.Second)
				f.Check("alice", "wrong")
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m > limit || m < 1 {
		t.Errorf("%d checks ran at once, want 1..%d", m, limit)
	}
}

// TestPasswordCheckQueueTimeout checks that a check waiting for a slot
// past its ctx fails with ErrLoginDelayed, which is not a refusal of the
// password.
func TestPasswordCheckQueueTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, _ := countingFile(t)
		f.guard.maxChecks = 1
		hold := make(chan struct{})
		f.guard.onCheck = func() { <-hold }
		done := make(chan error)
		go func() {
			_, err := login(f, "10.0.0.1:1", "alice", "alice-pw", time.Hour)
			done <- err
		}()
		synctest.Wait() // the first check holds the only slot
		took, err := login(f, "10.0.0.2:1", "bob", "bob-pw", time.Second)
		if !errors.Is(err, ErrLoginDelayed) || errors.Is(err, ErrBadUsernameOrPassword) || took != time.Second {
			t.Errorf("waiting for a slot: %v after %v, want ErrLoginDelayed after 1s", err, took)
		}
		close(hold)
		if err := <-done; err != nil {
			t.Errorf("the first check: %v", err)
		}
	})
}

// TestPasswordBackoff checks that failures space the checks of an address
// and of a user name further and further apart, that a check whose turn
// comes after its deadline is refused at once without PBKDF2, and that a
// remembered login goes first.
func TestPasswordBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, checks := countingFile(t)
		const attacker = "10.0.0.66:4000"
		if took, err := login(f, attacker, "alice", "alice-pw", time.Second); err != nil || took != 0 {
			t.Fatalf("alice's first login: %v after %v", err, took)
		}
		time.Sleep(backoffBase) // the turn reserved by a check without failures

		// Waits before each failed guess: 100 ms doubling per failure, up
		// to 5 s, the first not waiting.
		want := []time.Duration{0, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
			1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second}
		for i, w := range want {
			user := "alice"
			if i%2 == 0 {
				user = fmt.Sprintf("nobody%d", i) // unknown users count as well
			}
			took, err := login(f, attacker, user, "guess", 10*time.Second)
			if !errors.Is(err, ErrBadUsernameOrPassword) || took != w {
				t.Errorf("guess %d (%s): %v after %v, want a bad password after %v", i, user, err, took, w)
			}
		}
		if got := checks.Load(); got != 1+int64(len(want)) {
			t.Errorf("%d PBKDF2 checks, want %d", got, 1+len(want))
		}

		// The next turn is 5 s away: with a 1 s connect timeout, refused
		// at once and not checked; alice's remembered login goes through
		// at once.
		n := checks.Load()
		for range 3 {
			if took, err := login(f, attacker, "bob", "bob-pw", time.Second); !errors.Is(err, ErrLoginDelayed) || took != 0 {
				t.Errorf("in backoff, turn past the deadline: %v after %v, want ErrLoginDelayed at once", err, took)
			}
		}
		if took, err := login(f, attacker, "alice", "alice-pw", time.Millisecond); err != nil || took != 0 {
			t.Errorf("remembered login in backoff: %v after %v, want accepted at once", err, took)
		}
		if checks.Load() != n {
			t.Errorf("%d PBKDF2 checks while refusing in backoff, want none", checks.Load()-n)
		}
		// alice's name is in backoff too, from any address; bob's is not.
		if _, err := login(f, "10.9.9.9:1", "alice", "guess", time.Second); !errors.Is(err, ErrLoginDelayed) {
			t.Errorf("alice from another address: %v, want ErrLoginDelayed", err)
		}
		if took, err := login(f, "10.9.9.9:1", "bob", "bob-pw", time.Second); err != nil || took != 0 {
			t.Errorf("bob from another address: %v after %v, want accepted at once", err, took)
		}

		// Concurrent attempts (bob's login is remembered now: guesses)
		// reserve turns 5 s apart; those past their deadline are refused
		// at once.
		type result struct {
			took time.Duration
			err  error
		}
		results := make(chan result, 3)
		for range 3 {
			go func() {
				took, err := login(f, attacker, "bob", "guess", 11*time.Second)
				results <- result{took, err}
			}()
			synctest.Wait() // one after the other
		}
		var took []time.Duration
		var refused int
		for range 3 {
			r := <-results
			switch {
			case errors.Is(r.err, ErrBadUsernameOrPassword):
				took = append(took, r.took)
			case errors.Is(r.err, ErrLoginDelayed) && r.took == 0:
				refused++
			default:
				t.Errorf("concurrent attempt: %v after %v", r.err, r.took)
			}
		}
		if refused != 1 || len(took) != 2 || took[0] != 5*time.Second || took[1] != 10*time.Second {
			t.Errorf("concurrent attempts: checked after %v, %d refused; want after 5s and 10s, 1 refused", took, refused)
		}

		// A quiet minute forgets the failures.
		time.Sleep(backoffQuiet + backoffMax)
		for i, w := range []time.Duration{0, 200 * time.Millisecond} {
			if took, err := login(f, attacker, "alice", "guess", time.Second); !errors.Is(err, ErrBadUsernameOrPassword) || took != w {
				t.Errorf("after a quiet minute, guess %d: %v after %v, want a bad password after %v", i, err, took, w)
			}
		}
	})
}

// TestPasswordBackoffKeys checks the keys of a client: its IPv4 address,
// or the /64 of its IPv6 address, and its user name.
func TestPasswordBackoffKeys(t *testing.T) {
	key := func(addr net.Addr, user string) []string {
		return backoffKeys(ConnInfo{Username: user, RemoteAddr: addr})
	}
	same := func(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
	if k := key(tcpAddr("192.0.2.1:1"), "u"); len(k) != 2 || k[0] != "addr 192.0.2.1/32" {
		t.Errorf("IPv4 keys %q", k)
	}
	for _, c := range []struct {
		a, b net.Addr
		same bool
	}{
		{tcpAddr("192.0.2.1:1"), tcpAddr("192.0.2.1:2"), true},
		{tcpAddr("192.0.2.1:1"), tcpAddr("192.0.2.2:1"), false},
		{tcpAddr("192.0.2.1:1"), tcpAddr("[::ffff:192.0.2.1]:7"), true},
		{tcpAddr("[2001:db8::1]:1"), tcpAddr("[2001:db8::ffff:2]:1"), true},
		{tcpAddr("[2001:db8::1]:1"), tcpAddr("[2001:db8:0:1::1]:1"), false},
		{tcpAddr("[fe80::1%lo]:1"), tcpAddr("[fe80::2]:1"), true},
		{tcpAddr("192.0.2.1:1"), &net.UnixAddr{Name: "192.0.2.1:1", Net: "unix"}, true}, // by its string
	} {
		if got := same(key(c.a, "u"), key(c.b, "u")); got != c.same {
			t.Errorf("keys of %v and %v: same %v, want %v", c.a, c.b, got, c.same)
		}
	}
	p1, _ := net.Pipe()
	defer p1.Close()
	if k := key(p1.RemoteAddr(), "u"); len(k) != 1 {
		t.Errorf("keys without an IP address: %q, want the user name's only", k)
	}
	if same(key(nil, "u"), key(nil, "v")) || len(key(nil, string(make([]byte, 60000)))[0]) > 100 {
		t.Error("user name keys: not distinct, or as long as the name")
	}
}

// TestPasswordBackoffBounded fills the backoff table with more keys than
// it keeps: it stays bounded, and the keys with the most failures stay.
func TestPasswordBackoffBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g authGuard
		heavy := []string{"addr 192.0.2.1/32"}
		for i := range 3 * maxBackoffKeys {
			g.failed([]string{fmt.Sprintf("addr 10.%d.%d.%d/32", i>>16, i>>8&255, i&255)})
			if i%100 == 0 {
				g.failed(heavy)
				g.failed(heavy)
			}
			if len(g.backoff) > maxBackoffKeys {
				t.Fatalf("%d keys after %d failures: more than %d", len(g.backoff), i+1, maxBackoffKeys)
			}
		}
		if p := g.backoff[heavy[0]]; p == nil || p.failures != maxFailures {
			t.Errorf("the key with the most failures was dropped: %+v", p)
		}
		// Keys a quiet minute old go first.
		time.Sleep(backoffQuiet + backoffMax)
		g.failed([]string{"addr 192.0.2.2/32"})
		g.mu.Lock()
		g.evictLocked(time.Now())
		n := len(g.backoff)
		g.mu.Unlock()
		if n != 1 {
			t.Errorf("%d keys after a quiet minute, want 1", n)
		}
	})
}

// TestPasswordBackoffConnack checks, through a broker, that a CONNECT
// refused in backoff gets return code 3 (server unavailable) without a
// check, while a remembered login is accepted.
func TestPasswordBackoffConnack(t *testing.T) {
	f, checks := countingFile(t)
	_, addr := startServer(t, Config{Authenticator: f})
	try := func(user, pw string, want packet.ConnectReturnCode) {
		t.Helper()
		c := dial(t, addr)
		c.connect(&packet.Connect{ClientID: []byte("c"), CleanSession: true, UsernameFlag: true, Username: []byte(user),
			PasswordFlag: true, Password: []byte(pw)}, packet.Connack{ReturnCode: want})
		if want != packet.Accepted {
			c.expectClosed()
		} else {
			c.send(&packet.Disconnect{})
			c.expectClosed()
		}
	}
	try("alice", "alice-pw", packet.Accepted)
	keys := backoffKeys(ConnInfo{RemoteAddr: tcpAddr(addr)}) // the client's address is 127.0.0.1 too
	for range maxFailures {
		f.guard.failed(keys[:1])
	}
	n := checks.Load()
	f.guard.mu.Lock()
	f.guard.backoff[keys[0]].next = time.Now().Add(time.Hour) // past any connect timeout
	f.guard.mu.Unlock()
	try("bob", "bob-pw", packet.RefusedServerUnavailable)
	try("alice", "wrong", packet.RefusedServerUnavailable)
	try("alice", "alice-pw", packet.Accepted)
	if checks.Load() != n {
		t.Errorf("%d PBKDF2 checks in backoff, want none", checks.Load()-n)
	}
}
