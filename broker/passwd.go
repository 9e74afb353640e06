package broker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Password hashing: PBKDF2 (RFC 8018) with HMAC-SHA-512, a random 16-byte
// salt and a 64-byte key, encoded as
//
//	$pbkdf2-sha512$<iterations>$<base64 salt>$<base64 hash>
//
// with standard base64 and padding.
const (
	// DefaultPasswordIterations is the PBKDF2 iteration count of
	// HashPassword when given zero: 210,000, OWASP's recommendation for
	// PBKDF2-HMAC-SHA512.
	DefaultPasswordIterations = 210_000
	// MaxPasswordIterations bounds the iteration count of a hash, so that
	// a bad password file cannot make each CONNECT cost minutes.
	MaxPasswordIterations = 10_000_000

	passwordScheme = "$pbkdf2-sha512$"
	saltSize       = 16
	keySize        = sha512.Size
)

// HashPassword hashes password with a fresh random salt and the given
// PBKDF2 iteration count (zero: DefaultPasswordIterations), and returns
// the encoded hash.
func HashPassword(password string, iterations int) (string, error) {
	if iterations == 0 {
		iterations = DefaultPasswordIterations
	}
	if iterations < 1 || iterations > MaxPasswordIterations {
		return "", fmt.Errorf("mqtt: password iterations %d out of range 1..%d", iterations, MaxPasswordIterations)
	}
	salt := make([]byte, saltSize)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha512.New, password, salt, iterations, keySize)
	if err != nil {
		return "", err
	}
	return passwordScheme + strconv.Itoa(iterations) + "$" +
		base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(key), nil
}

// Mosquitto's password file hashes, which a PasswordFile reads too:
//
//	$7$<iterations>$<base64 salt>$<base64 hash>   PBKDF2-HMAC-SHA512 (Mosquitto 2's mosquitto_passwd)
//	$6$<base64 salt>$<base64 hash>                SHA-512 of the password then the salt (Mosquitto 1.x)
const (
	mosquittoPBKDF2 = "$7$"
	mosquittoSHA512 = "$6$"
	// mosquittoSaltSize is the salt of mosquitto_passwd.
	mosquittoSaltSize = 12
)

// HashPasswordMosquitto hashes password as Mosquitto 2's mosquitto_passwd
// does ($7$, PBKDF2-HMAC-SHA512 with a 12-byte salt), with the given
// iteration count (zero: DefaultPasswordIterations, where
// mosquitto_passwd uses 101), so that Mosquitto can read the file too.
func HashPasswordMosquitto(password string, iterations int) (string, error) {
	h, err := HashPassword(password, iterations)
	if err != nil {
		return "", err
	}
	p, _ := parseHash(h)
	salt := make([]byte, mosquittoSaltSize)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha512.New, password, salt, p.iterations, keySize)
	if err != nil {
		return "", err
	}
	return mosquittoPBKDF2 + strconv.Itoa(p.iterations) + "$" +
		base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(key), nil
}

// parsedHash is an encoded hash taken apart.
type parsedHash struct {
	iterations int  // 1 for Mosquitto's $6$; 0 in the zero value only
	sha512     bool // Mosquitto's $6$: one SHA-512 of the password and salt
	salt, key  []byte
}

// parseHash decodes a hash made by HashPassword, or Mosquitto's $7$ or
// $6$.
func parseHash(h string) (parsedHash, error) {
	if rest, ok := strings.CutPrefix(h, mosquittoSHA512); ok {
		f := strings.Split(rest, "$")
		if len(f) != 2 {
			return parsedHash{}, errors.New("$6$ hash has not 2 fields after the scheme")
		}
		salt, err := base64.StdEncoding.DecodeString(f[0])
		if err != nil || len(salt) == 0 {
			return parsedHash{}, fmt.Errorf("bad salt %q", f[0])
		}
		key, err := base64.StdEncoding.DecodeString(f[1])
		if err != nil || len(key) != sha512.Size {
			return parsedHash{}, fmt.Errorf("bad hash %q", f[1])
		}
		return parsedHash{iterations: 1, sha512: true, salt: salt, key: key}, nil
	}
	rest, ok := strings.CutPrefix(h, passwordScheme)
	if !ok {
		rest, ok = strings.CutPrefix(h, mosquittoPBKDF2)
	}
	if !ok {
		return parsedHash{}, errors.New("hash does not start with " + passwordScheme + ", nor Mosquitto's $7$ or $6$")
	}
	f := strings.Split(rest, "$")
	if len(f) != 3 {
		return parsedHash{}, errors.New("hash has not 3 fields after the scheme")
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 || n > MaxPasswordIterations {
		return parsedHash{}, fmt.Errorf("bad iteration count %q", f[0])
	}
	salt, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(salt) == 0 {
		return parsedHash{}, fmt.Errorf("bad salt %q", f[1])
	}
	key, err := base64.StdEncoding.DecodeString(f[2])
	if err != nil || len(key) == 0 || len(key) > keySize {
		return parsedHash{}, fmt.Errorf("bad hash %q", f[2])
	}
	return parsedHash{iterations: n, salt: salt, key: key}, nil
}

// check reports whether password matches, comparing in constant time.
func (h parsedHash) check(password string) bool {
	if h.sha512 {
		d := sha512.New()
		d.Write([]byte(password))
		d.Write(h.salt)
		return subtle.ConstantTimeCompare(d.Sum(nil), h.key) == 1
	}
	key, err := pbkdf2.Key(sha512.New, password, h.salt, h.iterations, len(h.key))
	return err == nil && subtle.ConstantTimeCompare(key, h.key) == 1
}

// CheckPassword reports whether password matches hash, an encoded hash
// from HashPassword; it returns an error if hash is malformed.
func CheckPassword(hash, password string) (bool, error) {
	h, err := parseHash(hash)
	if err != nil {
		return false, fmt.Errorf("mqtt: %w", err)
	}
	return h.check(password), nil
}

// PasswordFile is a set of users and password hashes, one per line of a
// file:
//
//	# comment
//	alice:$pbkdf2-sha512$210000$<base64 salt>$<base64 hash>
//
// User names are non-empty and hold no ':' and no line break; blank lines
// and lines starting with '#' are ignored (and not written back).
//
// A *PasswordFile is an Authenticator: a client must send a user name in
// the file and its password, else it is refused with return code 5 (not
// authorized, as Mosquitto answers); so is a client without a user name,
// unless AllowAnonymous is set. A PasswordFile is safe for concurrent use; its
// zero value is an empty file.
//
// A password check costs by design: PBKDF2 at DefaultPasswordIterations
// takes about 0.1 s of CPU. So that clients guessing passwords can neither
// guess fast nor slow down the logins of others, Authenticate bounds the
// checks:
//
//   - A correct login is remembered in memory, one per user: an
//     HMAC-SHA-256 of the password, under a random key of this
//     PasswordFile. The same user name and password are then accepted
//     without PBKDF2, before the bounds below apply: devices that
//     reconnect stay fast while their address or user name is under
//     attack. Set, SetIterations and Remove forget the user's login.
//   - At most GOMAXPROCS checks run at once; the others wait for theirs.
//   - Each failed login, with an unknown user name too, delays the checks
//     from the same client address (IPv6: the same /64) and those for the
//     same user name: 100 ms between checks without a failure, doubling
//     with each failure up to 5 s, forgotten a minute after the last
//     failure. The checks of an address or user name take turns that far
//     apart; a CONNECT whose turn would come after its connect timeout is
//     refused at once, without a check.
//
// A CONNECT whose check cannot start before its connect timeout (the ctx
// of Authenticate) is refused with ErrLoginDelayed: return code 3, server
// unavailable. The backoff keeps at most 4,096 addresses and user names;
// when full, it drops those without failures in the last minute, then
// those with the fewest failures. Note that guessing the password of a
// user also delays that user's logins, except those remembered (which a
// restart of the broker forgets). Check uses the remembered logins and the
// bound on concurrent checks, but not the backoff.
type PasswordFile struct {
	// AllowAnonymous accepts clients that send no user name.
	AllowAnonymous bool

	mu     sync.RWMutex
	hashes map[string]parsedHash
	text   map[string]string            // the encoded hashes, to write back
	logins map[string][sha256.Size]byte // remembered logins, by user

	guard authGuard
}

// PasswordFileError reports a line of a password file that cannot be read.
type PasswordFileError struct {
	Line   int
	Reason string
}

func (e *PasswordFileError) Error() string {
	return "mqtt: password file line " + strconv.Itoa(e.Line) + ": " + e.Reason
}

// NewPasswordFile returns an empty PasswordFile.
func NewPasswordFile() *PasswordFile {
	return &PasswordFile{hashes: make(map[string]parsedHash), text: make(map[string]string)}
}

// ReadPasswordFile reads a password file. Errors are *PasswordFileError
// for bad lines, or the os error.
func ReadPasswordFile(name string) (*PasswordFile, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return ParsePasswordFile(bytes.NewReader(b))
}

// ParsePasswordFile reads a password file from r.
func ParsePasswordFile(r io.Reader) (*PasswordFile, error) {
	f := NewPasswordFile()
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, &PasswordFileError{Line: n, Reason: "want user:hash"}
		}
		if _, dup := f.text[user]; dup {
			return nil, &PasswordFileError{Line: n, Reason: "user " + strconv.Quote(user) + " listed twice"}
		}
		h, err := parseHash(hash)
		if err != nil {
			return nil, &PasswordFileError{Line: n, Reason: err.Error()}
		}
		f.hashes[user], f.text[user] = h, hash
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

// checkUser refuses user names that the file format cannot hold.
func checkUser(user string) error {
	if user == "" || strings.ContainsAny(user, ":\r\n") || strings.TrimSpace(user) != user || user[0] == '#' {
		return fmt.Errorf("mqtt: invalid user name %q for a password file", user)
	}
	return nil
}

// Set adds user with password, or changes the password of user, hashing it
// with DefaultPasswordIterations.
func (f *PasswordFile) Set(user, password string) error {
	return f.SetIterations(user, password, DefaultPasswordIterations)
}

// SetIterations is Set with a chosen PBKDF2 iteration count.
func (f *PasswordFile) SetIterations(user, password string, iterations int) error {
	if err := checkUser(user); err != nil {
		return err
	}
	hash, err := HashPassword(password, iterations)
	if err != nil {
		return err
	}
	return f.SetHash(user, hash)
}

// SetHash sets user's password hash as encoded by HashPassword or
// HashPasswordMosquitto, or Mosquitto's $6$.
func (f *PasswordFile) SetHash(user, hash string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	h, err := parseHash(hash)
	if err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hashes == nil {
		f.hashes, f.text = make(map[string]parsedHash), make(map[string]string)
	}
	f.hashes[user], f.text[user] = h, hash
	delete(f.logins, user)
	return nil
}

// Remove removes user and reports whether it was there.
func (f *PasswordFile) Remove(user string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.hashes[user]
	delete(f.hashes, user)
	delete(f.text, user)
	delete(f.logins, user)
	return ok
}

// Replace gives f the users and hashes of g, for every login that
// follows, as a reload of the file does (petrel broker on SIGHUP, as
// Mosquitto). The logins f remembered are forgotten; f's AllowAnonymous
// and its guard against guessing stay. g is not changed.
func (f *PasswordFile) Replace(g *PasswordFile) {
	if f == g {
		return
	}
	g.mu.RLock()
	hashes, text := maps.Clone(g.hashes), maps.Clone(g.text)
	g.mu.RUnlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hashes, f.text, f.logins = hashes, text, nil
}

// Users returns the user names, sorted.
func (f *PasswordFile) Users() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.usersLocked()
}

// Check reports whether user is in the file with password, which must not
// be empty. It waits for a free slot if GOMAXPROCS checks are running.
func (f *PasswordFile) Check(user, password string) bool {
	if password == "" {
		return false
	}
	if f.remembered(user, password) {
		return true
	}
	ok, _ := f.verify(context.Background(), user, password)
	return ok
}

// WriteTo writes the file, sorted by user name.
func (f *PasswordFile) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	f.mu.RLock()
	for _, u := range f.usersLocked() {
		b.WriteString(u + ":" + f.text[u] + "\n")
	}
	f.mu.RUnlock()
	return b.WriteTo(w)
}

func (f *PasswordFile) usersLocked() []string {
	users := make([]string, 0, len(f.text))
	for u := range f.text {
		users = append(users, u)
	}
	slices.Sort(users)
	return users
}

// WriteFile writes the file to name, replacing it atomically (a temporary
// file in the same directory, synced, then renamed), with mode 0600.
func (f *PasswordFile) WriteFile(name string) error {
	var b bytes.Buffer
	f.WriteTo(&b)
	return writeFileAtomic(name, b.Bytes(), 0o600)
}

// Authenticate implements Authenticator. A user name with no password, or
// an empty one, is refused with ErrBadUsernameOrPassword, as Mosquitto
// refuses it, whatever hash the file holds. A login remembered is
// accepted at once; else the check waits for its turn and a free slot
// until ctx ends, failing with ErrLoginDelayed, and a wrong password
// delays the next checks (see PasswordFile).
func (f *PasswordFile) Authenticate(ctx context.Context, info ConnInfo) (string, error) {
	user, password := info.Username, string(info.Password)
	if user == "" {
		if f.AllowAnonymous && len(password) == 0 {
			return "", nil
		}
		return "", ErrNotAuthorized
	}
	if len(password) == 0 {
		// No password is no credential, whatever the file holds for user
		// (a hash of "", say): refused as Mosquitto refuses it.
		return "", ErrBadUsernameOrPassword
	}
	if f.remembered(user, password) {
		return user, nil
	}
	keys := backoffKeys(info)
	if err := f.guard.turn(ctx, keys); err != nil {
		return "", err
	}
	ok, err := f.verify(ctx, user, password)
	if err != nil {
		return "", err
	}
	if !ok {
		f.guard.failed(keys)
		return "", ErrBadUsernameOrPassword
	}
	return user, nil
}

// writeFileAtomic writes data to name so that a crash leaves either the
// old file or the new one: a temporary file in the same directory,
// synced, renamed over name, then the directory synced.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
