package auth

import (
	"crypto/tls"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxField is the longest user name or password a CONNECT packet carries:
// its two-byte length prefix describes at most 65,535 bytes.
const maxField = 65535

// Credentials is what a client presents to the server: the user name and
// password fields of CONNECT (section 3.1.3.4 and 3.1.3.5) and the TLS
// client certificates. The field names follow packet.Connect. Resolve
// builds it; the zero value is an anonymous client.
type Credentials struct {
	Username     string
	Password     []byte // a copy owned by Credentials; set only with PasswordFlag
	UsernameFlag bool   // send Username [MQTT-3.1.2-19]
	PasswordFlag bool   // send Password; only with UsernameFlag [MQTT-3.1.2-22]

	// Certificates, when not empty, holds one client certificate with its
	// key, for tls.Config.Certificates: the client authenticates by key.
	Certificates []tls.Certificate
}

// Resolve applies the authentication rule of the User, UserPassword,
// PrivateKey and PrivateKeyPassword connection parameters, before any
// network I/O:
//
//   - Key authentication has priority. When key is set, Resolve loads it
//     and the client authenticates by TLS client certificate: it sends the
//     user name, if not empty, and never a password, whatever password
//     holds (it is not even checked).
//   - Otherwise the client sends user and password. A password without a
//     user name is refused with a *CredentialsError for field
//     "UserPassword" wrapping ErrPasswordWithoutUser [MQTT-3.1.2-22].
//
// An empty user means no user name: UsernameFlag is false. MQTT allows an
// empty user name with the flag set, but a user configuration cannot tell it
// from no user name, so Resolve never sends one, and a password with an
// empty user is refused. Likewise an empty password (nil or not) means no
// password. The user name must be an MQTT UTF-8 string [MQTT-1.5.3-1]
// [MQTT-1.5.3-2] of at most 65,535 bytes, and so must the password's length
// be; other faults are *CredentialsError values for field "User" or
// "UserPassword". Key errors are those of Key.Load.
//
// Resolve copies password: the caller may clear its slice afterwards.
func Resolve(user string, password []byte, key Key) (Credentials, error) {
	if err := checkUser(user); err != nil {
		return Credentials{}, err
	}
	c := Credentials{Username: user, UsernameFlag: user != ""}
	if key.IsSet() {
		cert, err := key.Load()
		if err != nil {
			return Credentials{}, err
		}
		c.Certificates = []tls.Certificate{cert}
		return c, nil
	}
	if len(password) == 0 {
		return c, nil
	}
	if user == "" {
		return Credentials{}, &CredentialsError{Field: "UserPassword", Rule: "MQTT-3.1.2-22", Err: ErrPasswordWithoutUser}
	}
	if len(password) > maxField {
		return Credentials{}, &CredentialsError{Field: "UserPassword", Rule: "3.1.3.5", Err: ErrTooLong}
	}
	c.Password = append([]byte(nil), password...)
	c.PasswordFlag = true
	return c, nil
}

// checkUser checks that user is an MQTT UTF-8 string (section 1.5.3).
func checkUser(user string) error {
	switch {
	case len(user) > maxField:
		return &CredentialsError{Field: "User", Rule: "1.5.3", Err: ErrTooLong}
	case !utf8.ValidString(user):
		return &CredentialsError{Field: "User", Rule: "MQTT-1.5.3-1", Err: ErrInvalidUsername}
	case strings.IndexByte(user, 0) >= 0:
		return &CredentialsError{Field: "User", Rule: "MQTT-1.5.3-2", Err: ErrInvalidUsername}
	}
	return nil
}

// TLSConfig returns a copy of base (an empty config if base is nil) that
// presents c's client certificates. Everything else, such as ServerName and
// RootCAs, comes from base; with no certificates in c it is a plain clone.
func (c Credentials) TLSConfig(base *tls.Config) *tls.Config {
	var cfg *tls.Config
	if base == nil {
		cfg = &tls.Config{}
	} else {
		cfg = base.Clone()
	}
	if len(c.Certificates) > 0 {
		cfg.Certificates = append([]tls.Certificate(nil), c.Certificates...)
	}
	return cfg
}

// String describes c without its password, for logs: for example
// auth.Credentials{Username: "alice", Password: <redacted>}.
func (c Credentials) String() string {
	var b strings.Builder
	b.WriteString("auth.Credentials{")
	sep := ""
	if c.UsernameFlag {
		b.WriteString("Username: " + strconv.Quote(c.Username))
		sep = ", "
	}
	if c.PasswordFlag {
		b.WriteString(sep + "Password: <redacted>")
		sep = ", "
	}
	if len(c.Certificates) > 0 {
		b.WriteString(sep + "Certificates: " + strconv.Itoa(len(c.Certificates)))
	}
	b.WriteByte('}')
	return b.String()
}

// GoString is String, so that %#v does not print the password either.
func (c Credentials) GoString() string { return c.String() }
