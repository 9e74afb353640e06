package broker

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// testIterations keeps PBKDF2 cheap in tests.
const testIterations = 1000

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("s3cret", testIterations)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$pbkdf2-sha512$1000$") || len(strings.Split(h, "$")) != 5 {
		t.Errorf("hash %q", h)
	}
	for pw, want := range map[string]bool{"s3cret": true, "s3cret ": false, "": false, "S3cret": false} {
		if ok, err := CheckPassword(h, pw); err != nil || ok != want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	h2, _ := HashPassword("s3cret", testIterations)
	if h2 == h {
		t.Error("two hashes of a password are equal: salt not random")
	}
	// A hash made elsewhere: PBKDF2-HMAC-SHA512("password", "saltsaltsaltsalt", 1000 iterations), by Python's hashlib.pbkdf2_hmac.
	known := "$pbkdf2-sha512$1000$c2FsdHNhbHRzYWx0c2FsdA==$" +
		"715rqIr5dXOVPpBhqqsugl037zT5bWJTWYmZtIcK8hBnisKpwfY7kokvwjDrNHqHhF50Pb7MD6HvkJwiDQw4ww=="
	if ok, err := CheckPassword(known, "password"); err != nil || !ok {
		t.Errorf("known vector: %v, %v", ok, err)
	}
	for _, bad := range []string{"", "$pbkdf2-sha256$1$YQ==$YQ==", "$pbkdf2-sha512$0$YQ==$YQ==",
		"$pbkdf2-sha512$x$YQ==$YQ==", "$pbkdf2-sha512$1$!$YQ==", "$pbkdf2-sha512$1$YQ==", "$pbkdf2-sha512$99999999$YQ==$YQ=="} {
		if _, err := CheckPassword(bad, "x"); err == nil {
			t.Errorf("CheckPassword(%q) accepted the hash", bad)
		}
	}
	if _, err := HashPassword("x", -1); err == nil {
		t.Error("HashPassword with -1 iterations succeeded")
	}
}

func TestPasswordFile(t *testing.T) {
	f := NewPasswordFile()
	for _, u := range []string{"bob", "alice"} {
		if err := f.SetIterations(u, u+"-pw", testIterations); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"", "a:b", "a\nb", " a", "#a"} {
		if err := f.SetIterations(bad, "x", testIterations); err == nil {
			t.Errorf("Set(%q) succeeded", bad)
		}
	}
	name := filepath.Join(t.TempDir(), "passwd")
	if err := f.WriteFile(name); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	g, err := ReadPasswordFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(g.Users(), ","); got != "alice,bob" {
		t.Errorf("users %s", got)
	}
	if !g.Check("alice", "alice-pw") || g.Check("alice", "bob-pw") || g.Check("carol", "") {
		t.Error("Check gives wrong answers")
	}
	if !g.Remove("bob") || g.Remove("bob") || g.Check("bob", "bob-pw") {
		t.Error("Remove failed")
	}
	var b bytes.Buffer
	g.WriteTo(&b)
	if !strings.HasPrefix(b.String(), "alice:$pbkdf2-sha512$1000$") || strings.Count(b.String(), "\n") != 1 {
		t.Errorf("WriteTo wrote %q", b.String())
	}

	for _, bad := range []string{"nocolon\n", ":hash\n", "a:$pbkdf2-sha512$1$YQ==$YQ==\na:$pbkdf2-sha512$1$YQ==$YQ==\n", "a:plain\n"} {
		_, err := ParsePasswordFile(strings.NewReader("# comment\n\n" + bad))
		var pe *PasswordFileError
		if !errors.As(err, &pe) || pe.Line < 3 {
			t.Errorf("ParsePasswordFile(%q) = %v, want a *PasswordFileError at line 3+", bad, err)
		}
	}
}

// TestPasswordAuth checks that a password file refuses wrong passwords,
// unknown users and anonymous clients with CONNACK 5, as Mosquitto does.
func TestPasswordAuth(t *testing.T) {
	f := NewPasswordFile()
	f.SetIterations("alice", "good", testIterations)
	_, addr := startServer(t, Config{Authenticator: f})
	try := func(user, pw string, withUser bool, want packet.ConnectReturnCode) {
		t.Helper()
		c := dial(t, addr)
		c.connect(&packet.Connect{ClientID: []byte("c-" + user), CleanSession: true, UsernameFlag: withUser, Username: []byte(user),
			PasswordFlag: pw != "", Password: []byte(pw)}, packet.Connack{ReturnCode: want})
		if want != packet.Accepted {
			c.expectClosed()
		}
	}
	try("alice", "good", true, packet.Accepted)
	try("alice", "bad", true, packet.RefusedNotAuthorized)
	try("alice", "", true, packet.RefusedNotAuthorized)
	try("mallory", "good", true, packet.RefusedNotAuthorized)
	try("", "", false, packet.RefusedNotAuthorized)
	f.AllowAnonymous = true
	try("", "", false, packet.Accepted)
}

func TestACLFile(t *testing.T) {
	const file = `# test ACL
topic read $SYS/#
topic read public/#

user alice
topic readwrite alice/#
topic write alerts
topic sensors/+/temp

user bob
topic read alerts

pattern readwrite clients/%c/#
pattern read users/%u
`
	a, err := ParseACL(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	alice := Identity{ClientID: "a1", Username: "alice"}
	bob := Identity{ClientID: "b1", Username: "bob"}
	anon := Identity{ClientID: "x"}
	evil := Identity{ClientID: "+", Username: "#"}
	tests := []struct {
		id     Identity
		sub    bool
		topic  string
		allows bool
	}{
		{alice, false, "alice/x", true},
		{alice, true, "alice/#", true},
		{alice, true, "#", false},
		{alice, false, "alerts", true},
		{alice, true, "alerts", false},
		{alice, false, "sensors/k/temp", true},
		{alice, true, "sensors/+/temp", true},
		{alice, true, "sensors/#", false},
		{alice, false, "public/x", false}, // anonymous rules are not alice's
		{bob, true, "alerts", true},
		{bob, false, "alerts", false},
		{anon, true, "$SYS/broker/uptime", true},
		{anon, true, "public/+", true},
		{anon, false, "public/x", false},
		{anon, false, "clients/x/a", true},
		{anon, false, "clients/y/a", false},
		{anon, true, "users/", false}, // %u without a user name
		{bob, true, "users/bob", true},
		{bob, true, "users/alice", false},
		{evil, false, "clients/+/a", false},
		{evil, true, "users/#", false},
	}
	for _, tt := range tests {
		var got bool
		if tt.sub {
			got = a.CanSubscribe(tt.id, tt.topic)
		} else {
			got = a.CanPublish(tt.id, tt.topic)
		}
		if got != tt.allows {
			t.Errorf("%+v sub=%v %q: %v, want %v", tt.id, tt.sub, tt.topic, got, tt.allows)
		}
	}
	for _, bad := range []string{"topic\n", "user\n", "frobnicate x\n", "topic read a/#/b\n", "topic write \n"} {
		var ae *ACLError
		if _, err := ParseACL(strings.NewReader(bad)); !errors.As(err, &ae) {
			t.Errorf("ParseACL(%q) = %v, want an *ACLError", bad, err)
		}
	}
}

// TestACLEnforced checks that a denied SUBSCRIBE filter gets 0x80 and a
// denied PUBLISH is acknowledged, dropped and counted [MQTT-3.3.5-2], and
// that a will the ACL refuses refuses the connection with code 5.
func TestACLEnforced(t *testing.T) {
	a := NewACL()
	a.Allow("", ReadWrite, "open/#")
	a.Allow("", Read, "ro/#")
	s, addr := startServer(t, Config{Authorizer: a})
	c := connectID(t, addr, "c", true)
	c.send(&packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{
		{Filter: []byte("open/#"), QoS: 1}, {Filter: []byte("secret/#"), QoS: 1}, {Filter: []byte("ro/x"), QoS: 2}}})
	c.expect(&packet.Suback{PacketID: 1, ReturnCodes: []packet.SubackCode{1, packet.Failure, 2}})
	c.publish("ro/x", "denied", packet.QoS1, false, 2)
	c.publish("secret/x", "denied", packet.QoS2, false, 3)
	// The PUBACK to the publisher and the PUBLISH to the same client as a
	// subscriber may come in either order.
	c.send(&packet.Publish{Topic: []byte("open/x"), Payload: []byte("ok"), QoS: packet.QoS1, PacketID: 4})
	var acked, delivered bool
	for range 2 {
		switch p := c.next().(type) {
		case *packet.Puback:
			acked = p.PacketID == 4
		case *packet.Publish:
			delivered = string(p.Topic) == "open/x" && string(p.Payload) == "ok"
			c.send(&packet.Puback{PacketID: p.PacketID})
		}
	}
	if !acked || !delivered {
		t.Errorf("after publishing open/x: PUBACK 4 %v, delivery %v; want both", acked, delivered)
	}
	c.expectNothing()
	if got := s.Stats().Denied; got != 2 {
		t.Errorf("Denied = %d, want 2", got)
	}
	w := dial(t, addr)
	w.connect(&packet.Connect{ClientID: []byte("w"), CleanSession: true, WillFlag: true, WillTopic: []byte("secret/w"), WillMessage: []byte("x")},
		packet.Connack{ReturnCode: packet.RefusedNotAuthorized})
	w.expectClosed()
}

// TestTLSClientCertificates checks a TLS listener that maps the client
// certificate's common name to the user name, used by the ACL.
func TestTLSClientCertificates(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	server := ca.Issue(t, mosquittotest.CertOptions{CommonName: "broker"})
	alice := ca.Issue(t, mosquittotest.CertOptions{CommonName: "alice", Client: true})
	acl := NewACL()
	acl.Allow("alice", ReadWrite, "alice/#")
	s, err := New(Config{Authenticator: &CertAuthenticator{UseCommonName: true}, Authorizer: acl})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tls.NewListener(l, &tls.Config{
		Certificates: []tls.Certificate{server.TLS},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.VerifyClientCertIfGiven,
	})
	served := make(chan error, 1)
	go func() { served <- s.Serve(tl) }()
	defer func() {
		s.Shutdown(t.Context())
		<-served
	}()

	dialTLS := func(certs []tls.Certificate) *client {
		nc, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca.Pool(), Certificates: certs, ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return newClient(t, nc)
	}
	c := dialTLS([]tls.Certificate{alice.TLS})
	c.connect(&packet.Connect{ClientID: []byte("dev1"), CleanSession: true, UsernameFlag: true, Username: []byte("mallory")}, packet.Connack{})
	c.subscribe(1, "alice/#", packet.QoS1, packet.GrantedQoS1) // allowed: the user is alice, not mallory
	c.subscribe(2, "mallory/#", packet.QoS1, packet.Failure)
	c.send(&packet.Disconnect{})
	c.expectClosed()

	anon := dialTLS(nil)
	anon.connect(&packet.Connect{ClientID: []byte("dev2"), CleanSession: true}, packet.Connack{ReturnCode: packet.RefusedNotAuthorized})
	anon.expectClosed()
}

// TestPasswordFileNoPassword checks that a user name with no password is
// refused even where the file holds the hash of an empty password, as
// Mosquitto refuses it (its 09-pwfile-parse-invalid): no password is no
// credential.
func TestPasswordFileNoPassword(t *testing.T) {
	f := NewPasswordFile()
	h, err := HashPassword("", testIterations)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetHash("empty", h); err != nil {
		t.Fatal(err)
	}
	if err := f.SetIterations("alice", "pw", testIterations); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user     string
		password []byte
	}{
		{"empty", nil},
		{"empty", []byte{}},
		{"alice", nil},
	} {
		if _, err := f.Authenticate(t.Context(), ConnInfo{ClientID: "c", Username: c.user, Password: c.password}); !errors.Is(err, ErrBadUsernameOrPassword) {
			t.Errorf("%s with password %q: %v; want ErrBadUsernameOrPassword", c.user, c.password, err)
		}
	}
	if f.Check("empty", "") {
		t.Error(`Check("empty", "") = true`)
	}
	if u, err := f.Authenticate(t.Context(), ConnInfo{ClientID: "c", Username: "alice", Password: []byte("pw")}); err != nil || u != "alice" {
		t.Errorf("alice with her password: %q, %v", u, err)
	}
}
