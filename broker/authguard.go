package broker

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// ErrLoginDelayed refuses a CONNECT whose password a PasswordFile could not
// begin to check before the connect timeout: failed logins from the same
// address or for the same user name put its turn past the timeout, or the
// password checks were all busy until then. The broker answers return code
// 3 (server unavailable): the password was not checked, and the client
// may try again later.
var ErrLoginDelayed = errors.New("mqtt: password check delayed past the connect timeout")

// The backoff of password checks after failed logins; see PasswordFile.
const (
	// backoffBase is the least time between the checks of one address or
	// user name; each failure doubles it, up to backoffMax.
	backoffBase = 100 * time.Millisecond
	backoffMax  = 5 * time.Second
	// maxFailures caps the failures counted for a key: more would not
	// lengthen the delay (100 ms << 6 > 5 s).
	maxFailures = 6
	// backoffQuiet is how long after its last failure a key is forgotten.
	backoffQuiet = time.Minute
	// maxBackoffKeys bounds the backoff table (about 100 bytes a key).
	maxBackoffKeys = 4096
	// ipv6Bits is the prefix by which IPv6 clients are keyed: one site
	// holds a whole /64, and can change addresses within it at will.
	ipv6Bits = 64
)

// authGuard holds what a PasswordFile needs to bound the cost of password
// checks. Its zero value is ready; it sets itself up on first use.
type authGuard struct {
	setup sync.Once
	key   [32]byte      // the HMAC-SHA-256 key of remembered logins
	slots chan struct{} // holds a token per password check running

	mu      sync.Mutex
	backoff map[string]*penalty // by backoffKeys' keys; guarded by mu

	// For tests, set before first use: maxChecks replaces GOMAXPROCS, and
	// onCheck runs in each check, while it holds its slot.
	maxChecks int
	onCheck   func()
}

func (g *authGuard) init() {
	g.setup.Do(func() {
		rand.Read(g.key[:])
		n := g.maxChecks
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		g.slots = make(chan struct{}, n)
	})
}

// mac returns what a remembered login keeps of a password.
func (g *authGuard) mac(password string) [sha256.Size]byte {
	g.init()
	m := hmac.New(sha256.New, g.key[:])
	io.WriteString(m, password)
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	return sum
}

// acquire waits for a slot to run a password check in, until ctx ends.
func (g *authGuard) acquire(ctx context.Context) error {
	g.init()
	if ctx.Err() == nil {
		select {
		case g.slots <- struct{}{}:
			return nil
		case <-ctx.Done():
		}
	}
	return fmt.Errorf("%w: all %d password checks busy", ErrLoginDelayed, cap(g.slots))
}

func (g *authGuard) release() { <-g.slots }

// penalty is the backoff state of a client address or a user name.
type penalty struct {
	failures int       // since the key was last forgotten, at most maxFailures
	last     time.Time // of the last failure
	next     time.Time // reserved: the next check starts no earlier
}

// delay is the least time between two checks of the key.
func (p *penalty) delay() time.Duration {
	return min(backoffBase<<p.failures, backoffMax)
}

// live reports whether p still matters at now.
func (p *penalty) live(now time.Time) bool {
	return now.Before(p.next) || p.failures > 0 && now.Sub(p.last) < backoffQuiet
}

// backoffKeys returns the keys whose backoff applies to a client: its
// address (without the port; IPv6 by its /64) if it has one, and its user
// name, hashed so that long names cost no more memory than short ones.
func backoffKeys(info ConnInfo) []string {
	keys := make([]string, 0, 2)
	if p, ok := clientPrefix(info.RemoteAddr); ok {
		keys = append(keys, "addr "+p.String())
	}
	sum := sha256.Sum256([]byte(info.Username))
	return append(keys, "user "+string(sum[:]))
}

// clientPrefix returns the IP address of a, or the /64 holding it for
// IPv6.
func clientPrefix(a net.Addr) (netip.Prefix, bool) {
	var ip netip.Addr
	switch a := a.(type) {
	case nil:
		return netip.Prefix{}, false
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Prefix{}, false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() {
		return netip.Prefix{}, false
	}
	bits := ip.BitLen()
	if ip.Is6() {
		bits = ipv6Bits
	}
	p, err := ip.Prefix(bits)
	return p, err == nil
}

// turn waits for the turn of a password check of a client with the backoff
// keys: the latest time reserved by its keys. It reserves the next turn of
// each key, its delay after this one, so that the checks of a key are at
// least that far apart. If the turn would come after ctx's deadline
// (without one, DefaultConnectTimeout from now), turn fails at once.
func (g *authGuard) turn(ctx context.Context, keys []string) error {
	now := time.Now()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = now.Add(DefaultConnectTimeout)
	}
	g.mu.Lock()
	start := now
	for _, k := range keys {
		if p := g.backoff[k]; p != nil && p.live(now) && p.next.After(start) {
			start = p.next
		}
	}
	if start.After(deadline) {
		g.mu.Unlock()
		return fmt.Errorf("%w: failed logins from the address or for the user name", ErrLoginDelayed)
	}
	for _, k := range keys {
		p := g.penaltyLocked(k, now)
		p.next = start.Add(p.delay())
	}
	g.mu.Unlock()
	if !start.After(now) {
		return nil
	}
	t := time.NewTimer(start.Sub(now))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for its turn after failed logins", ErrLoginDelayed)
	}
}

// failed counts a failed login against the keys: each doubles its delay,
// and its next turn comes no earlier than that delay from now.
func (g *authGuard) failed(keys []string) {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range keys {
		p := g.penaltyLocked(k, now)
		p.failures = min(p.failures+1, maxFailures)
		p.last = now
		if next := now.Add(p.delay()); next.After(p.next) {
			p.next = next
		}
	}
}

// penaltyLocked returns the penalty of key, new if it had none or if its
// one no longer mattered. The caller holds g.mu.
func (g *authGuard) penaltyLocked(key string, now time.Time) *penalty {
	if p := g.backoff[key]; p != nil {
		if !p.live(now) {
			*p = penalty{}
		}
		return p
	}
	if g.backoff == nil {
		g.backoff = make(map[string]*penalty)
	}
	if len(g.backoff) >= maxBackoffKeys {
		g.evictLocked(now)
	}
	p := new(penalty)
	g.backoff[key] = p
	return p
}

// evictLocked shrinks the full backoff table to 7/8 of its bound, so that
// it runs once per maxBackoffKeys/8 new keys at most: first the keys that
// no longer matter, then those with the fewest failures, in map order. The
// caller holds g.mu.
func (g *authGuard) evictLocked(now time.Time) {
	const target = maxBackoffKeys * 7 / 8
	for k, p := range g.backoff {
		if !p.live(now) {
			delete(g.backoff, k)
		}
	}
	for n := 0; len(g.backoff) > target; n++ {
		for k, p := range g.backoff {
			if len(g.backoff) <= target {
				break
			}
			if p.failures <= n {
				delete(g.backoff, k)
			}
		}
	}
}

// remembered reports whether user last logged in with password, checked
// by PBKDF2 since the user was last changed.
func (f *PasswordFile) remembered(user, password string) bool {
	m := f.guard.mac(password)
	f.mu.RLock()
	want, ok := f.logins[user]
	f.mu.RUnlock()
	return ok && hmac.Equal(m[:], want[:])
}

// verify checks password with PBKDF2 once a slot is free, and remembers a
// correct login. It spends the same time on an unknown user, so that
// timing does not tell which users exist. It fails if ctx ends before a
// slot is free.
func (f *PasswordFile) verify(ctx context.Context, user, password string) (bool, error) {
	f.mu.RLock()
	h, known := f.hashes[user]
	text := f.text[user]
	if !known {
		for _, other := range f.hashes {
			h = other
			break
		}
	}
	f.mu.RUnlock()
	if h.iterations == 0 {
		return false, nil // no user at all
	}
	if err := f.guard.acquire(ctx); err != nil {
		return false, err
	}
	if f.guard.onCheck != nil {
		f.guard.onCheck()
	}
	ok := h.check(password)
	f.guard.release()
	if !ok || !known {
		return false, nil
	}
	m := f.guard.mac(password)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.text[user] == text { // else the user changed meanwhile
		if f.logins == nil {
			f.logins = make(map[string][sha256.Size]byte)
		}
		f.logins[user] = m
	}
	return true, nil
}
