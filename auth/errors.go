package auth

import (
	"errors"
	"io/fs"
	"strings"
)

// Sentinel errors. Resolve reports a refused combination of credentials as a
// *CredentialsError, and Key.Load, KeyPair and ParsePrivateKey report every
// fault as a *KeyError; both wrap one of these, so callers test the class of
// fault with errors.Is and recover the field or file with errors.As.
var (
	// ErrPasswordWithoutUser means a password was given without a user
	// name. MQTT forbids the password flag without the user name flag
	// [MQTT-3.1.2-22].
	ErrPasswordWithoutUser = errors.New("mqtt: password set without a user name")

	// ErrInvalidUsername means the user name is not an MQTT UTF-8 string:
	// ill-formed UTF-8 [MQTT-1.5.3-1] or U+0000 [MQTT-1.5.3-2].
	ErrInvalidUsername = errors.New("mqtt: user name is not a valid MQTT string")

	// ErrTooLong means a user name or password exceeds the 65,535 bytes its
	// two-byte length prefix can describe (section 1.5.3, 3.1.3.5).
	ErrTooLong = errors.New("mqtt: longer than 65,535 bytes")

	// ErrKeySource means a Key has no source, more than one, or a CertFile
	// without a KeyFile (or the reverse).
	ErrKeySource = errors.New("mqtt: a key needs exactly one source: Certificate, File, or CertFile with KeyFile")

	// ErrNoCertificate means the certificate input holds no CERTIFICATE
	// block, or a tls.Certificate holds no certificate.
	ErrNoCertificate = errors.New("mqtt: no certificate")

	// ErrNoPrivateKey means the key input holds no private key block, or a
	// tls.Certificate has no PrivateKey.
	ErrNoPrivateKey = errors.New("mqtt: no private key")

	// ErrKeyMismatch means no certificate of the chain carries the public
	// half of the private key.
	ErrKeyMismatch = errors.New("mqtt: private key does not match the certificate")

	// ErrMalformedKey means the key or certificate input is not what it
	// claims to be: bad PEM, bad DER, bad encryption headers or parameters.
	// A key that decrypts to garbage is ErrIncorrectPassword instead.
	ErrMalformedKey = errors.New("mqtt: malformed key")

	// ErrPasswordRequired means the key is encrypted and no password was
	// given.
	ErrPasswordRequired = errors.New("mqtt: key is encrypted and no password was given")

	// ErrIncorrectPassword means the key did not decrypt with the password
	// given: the padding was wrong, or the plaintext is not a key.
	ErrIncorrectPassword = errors.New("mqtt: incorrect key password")

	// ErrUnsupported matches every *UnsupportedError.
	ErrUnsupported = errors.New("mqtt: unsupported")
)

// CredentialsError describes user name and password parameters that cannot
// be sent in a CONNECT packet.
type CredentialsError struct {
	Field string // the connection parameter at fault: "User" or "UserPassword"
	Rule  string // normative id such as "MQTT-3.1.2-22", or a spec section
	Err   error  // one of the sentinel errors of this package
}

// Error reads, for example, "mqtt: UserPassword: password set without a
// user name (User is empty) [MQTT-3.1.2-22]".
func (e *CredentialsError) Error() string {
	var b strings.Builder
	b.WriteString("mqtt: ")
	b.WriteString(e.Field)
	b.WriteString(": ")
	b.WriteString(trimPrefix(e.Err))
	if e.Err == ErrPasswordWithoutUser {
		b.WriteString(" (User is empty)")
	}
	if strings.HasPrefix(e.Rule, "MQTT-") {
		b.WriteString(" [" + e.Rule + "]")
	} else if e.Rule != "" {
		b.WriteString(" (section " + e.Rule + ")")
	}
	return b.String()
}

// Unwrap returns the sentinel error.
func (e *CredentialsError) Unwrap() error { return e.Err }

// KeyError describes a private key or certificate that could not be loaded.
// Err wraps a sentinel of this package, an *UnsupportedError, or the error
// of reading the file (a *fs.PathError, which matches fs.ErrNotExist when
// the file is missing).
type KeyError struct {
	File string // the file at fault; empty for input given in memory
	Err  error
}

// Error reads, for example, "mqtt: key file client.key: incorrect key
// password".
func (e *KeyError) Error() string {
	var pe *fs.PathError
	if e.File == "" || errors.As(e.Err, &pe) && pe.Path == e.File {
		return "mqtt: key: " + trimPrefix(e.Err)
	}
	return "mqtt: key file " + e.File + ": " + trimPrefix(e.Err)
}

// Unwrap returns the underlying error.
func (e *KeyError) Unwrap() error { return e.Err }

// UnsupportedError names a key format, key type, cipher or key derivation
// function that this package does not implement.
type UnsupportedError struct {
	What string // "cipher", "key derivation function", "PRF", "encryption scheme", "key format", "key type" or "salt source"
	Name string // the algorithm's name, e.g. "aria-128-cbc", or its dotted OID when it has no name here
}

// Error reads, for example, "mqtt: unsupported cipher aria-128-cbc".
func (e *UnsupportedError) Error() string {
	return "mqtt: unsupported " + e.What + " " + e.Name
}

// Is reports whether target is ErrUnsupported.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// trimPrefix returns err's message without the "mqtt: " prefix, so that
// wrapping errors print it once.
func trimPrefix(err error) string {
	if err == nil {
		return "<nil>"
	}
	return strings.TrimPrefix(err.Error(), "mqtt: ")
}

// malformed returns ErrMalformedKey with a detail, e.g. "mqtt: malformed
// key: DEK-Info IV is not hexadecimal".
func malformed(detail string) error {
	return &messageError{Msg: ErrMalformedKey.Error() + ": " + detail, Err: ErrMalformedKey}
}

// messageError is a sentinel error with a more specific message.
type messageError struct {
	Msg string
	Err error
}

func (e *messageError) Error() string { return e.Msg }
func (e *messageError) Unwrap() error { return e.Err }
