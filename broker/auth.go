package broker

import (
	"context"
	"crypto/tls"
	"net"
)

// ConnInfo describes a connecting client to an Authenticator.
type ConnInfo struct {
	// ClientID is the client identifier, or the one the broker assigned
	// to a client that sent none [MQTT-3.1.3-6].
	ClientID string
	// Username and Password are those of CONNECT; empty if absent.
	Username string
	Password []byte
	// TLS is the state of the TLS connection, nil without TLS. Its
	// VerifiedChains are non-empty if the client presented a certificate
	// that the listener's tls.Config verified.
	TLS *tls.ConnectionState
	// RemoteAddr is the client's network address.
	RemoteAddr net.Addr
}

// Authenticator decides whether a client may connect.
//
// Authenticate returns the user name the client is known by to the
// Authorizer (usually info.Username), or an error that refuses the
// connection: ErrBadUsernameOrPassword or ErrNotAuthorized (CONNACK
// return code 5), ErrMalformedCredentials (4), or any other error (3,
// server unavailable). ctx
// ends with Config.ConnectTimeout or Shutdown. It is called from many
// goroutines at once.
type Authenticator interface {
	Authenticate(ctx context.Context, info ConnInfo) (username string, err error)
}

// AuthenticatorFunc adapts a function to an Authenticator.
type AuthenticatorFunc func(ctx context.Context, info ConnInfo) (string, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, info ConnInfo) (string, error) {
	return f(ctx, info)
}

// Identity is a connected client as the Authorizer sees it.
type Identity struct {
	ClientID string
	Username string // as the Authenticator returned it; empty if anonymous
}

// Authorizer decides what a connected client may do. Its methods are called
// from many goroutines at once, for every PUBLISH, every filter of a
// SUBSCRIBE and every delivery, and should be fast.
type Authorizer interface {
	// CanPublish reports whether the client may publish to topic (a topic
	// name). A refused PUBLISH is acknowledged as usual and dropped
	// [MQTT-3.3.5-2]; a will refused at CONNECT refuses the connection
	// with return code 5.
	CanPublish(id Identity, topic string) bool
	// CanSubscribe reports whether the client may subscribe to filter (a
	// topic filter). A refused filter gets return code 0x80 in SUBACK.
	//
	// It is also asked before each delivery of a message to a session,
	// with the message's topic name as filter: a refusal drops the message
	// for that session (counted in Stats.DeniedDeliveries), so that a
	// subscription never outlives the right that granted it, and a rule
	// that denies part of a granted filter holds. For a topic name it must
	// answer whether the client may read that topic.
	CanSubscribe(id Identity, filter string) bool
}

// allowAll is the Authorizer of a Config without one.
type allowAll struct{}

func (allowAll) CanPublish(Identity, string) bool   { return true }
func (allowAll) CanSubscribe(Identity, string) bool { return true }

func isAllowAll(a Authorizer) bool {
	_, ok := a.(allowAll)
	return ok
}

// CertAuthenticator authenticates clients by the TLS client certificate
// that the listener's tls.Config verified (set its ClientCAs, and
// ClientAuth to tls.VerifyClientCertIfGiven or
// tls.RequireAndVerifyClientCert).
type CertAuthenticator struct {
	// UseCommonName makes the subject common name of the client's
	// certificate its user name, whatever CONNECT says, and accepts it
	// without a password (Mosquitto's use_identity_as_username).
	UseCommonName bool
	// Fallback authenticates clients without a verified certificate, and,
	// unless UseCommonName is set, those with one as well. Nil refuses
	// clients without a certificate with ErrNotAuthorized and accepts
	// those with one under the user name of CONNECT.
	Fallback Authenticator
}

// Authenticate implements Authenticator.
func (a *CertAuthenticator) Authenticate(ctx context.Context, info ConnInfo) (string, error) {
	verified := info.TLS != nil && len(info.TLS.VerifiedChains) > 0 && len(info.TLS.VerifiedChains[0]) > 0
	switch {
	case verified && a.UseCommonName:
		cn := info.TLS.VerifiedChains[0][0].Subject.CommonName
		if cn == "" {
			return "", ErrNotAuthorized
		}
		return cn, nil
	case a.Fallback != nil:
		return a.Fallback.Authenticate(ctx, info)
	case verified:
		return info.Username, nil
	}
	return "", ErrNotAuthorized
}
