package transport

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// socksStep is one step of a scripted SOCKS5 proxy: read exactly the bytes
// of want (hex, spaces ignored), or send the bytes of send, or close.
type socksStep struct {
	want, send string
	close      bool
}

// unhex decodes hex with spaces; each quoted "..." part is taken as text.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var out []byte
	for i, part := range strings.Split(s, `"`) {
		if i%2 == 1 {
			out = append(out, part...)
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(part, " ", ""))
		if err != nil {
			t.Fatalf("bad hex %q: %v", part, err)
		}
		out = append(out, b...)
	}
	return out
}

// scriptedSOCKS runs a proxy that plays script on each connection, then
// sends "hello" and echoes what it reads. A byte that differs from the
// script is reported on errs, and the connection closed.
func scriptedSOCKS(t *testing.T, script []socksStep, errs chan<- error) string {
	t.Helper()
	steps := make([][]byte, len(script))
	for i, s := range script {
		steps[i] = unhex(t, s.want+s.send)
	}
	return serve(t, nil, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		for i, s := range script {
			switch {
			case s.close:
				return
			case s.want != "":
				got := make([]byte, len(steps[i]))
				if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, steps[i]) {
					errs <- fmt.Errorf("step %d: read % x (%v), want % x", i, got, err, steps[i])
					return
				}
			default:
				c.Write(steps[i])
			}
		}
		io.WriteString(c, "hello")
		io.Copy(c, c)
	})
}

// The golden bytes of the exchanges, annotated.
const (
	greetNoAuth   = "05 01 00"    // version 5, one method: no authentication
	greetUserPass = "05 02 00 02" // two methods: none, username/password
	chooseNoAuth  = "05 00"
	chooseUser    = "05 02"
	// version 1, user "user", password "pass" (RFC 1929)
	authUserPass = `01 04 "user" 04 "pass"`
	authOK       = "01 00"
	// CONNECT broker.example:1883, by name (socks5h)
	connectName = `05 01 00 03 0e "broker.example" 07 5b`
	// succeeded, bound to 0.0.0.0:0
	replyOK = "05 00 00 01 00000000 0000"
)

func TestSOCKS5(t *testing.T) {
	refusal := func(rep byte) socksStep { return socksStep{send: fmt.Sprintf("05 %02x 00 01 00000000 0000", rep)} }
	cases := []struct {
		name    string
		user    *url.Userinfo
		address string
		script  []socksStep
		want    string // substring of the error; "" for success
	}{
		{name: "no auth, by name", address: "mqtt://broker.example",
			script: []socksStep{{want: greetNoAuth}, {send: chooseNoAuth}, {want: connectName}, {send: replyOK}}},
		{name: "user and password", user: url.UserPassword("user", "pass"), address: "mqtt://broker.example",
			script: []socksStep{{want: greetUserPass}, {send: chooseUser}, {want: authUserPass}, {send: authOK}, {want: connectName}, {send: replyOK}}},
		{name: "credentials offered, none needed", user: url.UserPassword("user", "pass"), address: "mqtt://broker.example",
			script: []socksStep{{want: greetUserPass}, {send: chooseNoAuth}, {want: connectName}, {send: replyOK}}},
		{name: "IPv4 target", address: "mqtt://10.1.2.3:1884",
			script: []socksStep{{want: greetNoAuth}, {send: chooseNoAuth}, {want: "05 01 00 01 0a010203 075c"}, {send: replyOK}}},
		{name: "IPv6 target, IPv6 bound address", address: "mqtts://[2001:db8::1]",
			script: []socksStep{{want: greetNoAuth}, {send: chooseNoAuth}, {want: "05 01 00 04 20010db8000000000000000000000001 22b3"},
				{send: "05 00 00 04 00000000000000000000000000000001 1f90"}}},
		{name: "domain bound address of 255 bytes", address: "mqtt://broker.example",
			script: []socksStep{{want: greetNoAuth}, {send: chooseNoAuth}, {want: connectName},
				{send: `05 00 00 03 ff "` + strings.Repeat("x", 255) + `" 0000`}}},

		{name: "wrong password", user: url.UserPassword("user", "pass"), address: "mqtt://broker.example",
			script: []socksStep{{want: greetUserPass}, {send: chooseUser}, {want: authUserPass}, {send: "01 01"}},
			want:   "refused the user name and password"},
		{name: "authentication required", address: "mqtt://broker.example",
			script: []socksStep{{want: greetNoAuth}, {send: "05 ff"}},
			want:   "requires authentication: give user:password@ in the proxy URL"},
		{name: "no acceptable method", user: url.UserPassword("user", "pass"), address: "mqtt://broker.example",
			script: []socksStep{{want: greetUserPass}, {send: "05 ff"}},
			want:   "accepts neither no authentication nor a user name and password"},
		{name: "method not offered", address: "mqtt://broker.example",
			script: []socksStep{{want: greetNoAuth}, {send: "05 02"}},
			want:   "chose authentication method 2, which was not offered"},
		{name: "not SOCKS5", address: "mqtt://broker.example",
			script: []socksStep{{want: greetNoAuth}, {send: "04 5a"}},
			want:   "does not speak SOCKS5: it answered version 4"},
		{name: "unknown bound address type", address: "mqtt://broker.example",
			script: []socksStep{{want: greetNoAuth}, {send: chooseNoAuth}, {want: connectName}, {send: "05 00 00 07 00"}},
			want:   "reply with unknown address type 7"},
		{name: "closed in the reply", address: "mqtt://broker.example",
			script: []socksStep{{want: greetNoAuth}, {send: chooseNoAuth}, {want: connectName}, {send: "05 00 00 01 0000"}, {close: true}},
			want:   io.ErrUnexpectedEOF.Error()},
	}
	for rep := byte(1); rep <= 9; rep++ {
		name := socksReply(rep)
		cases = append(cases, struct {
			name    string
			user    *url.Userinfo
			address string
			script  []socksStep
			want    string
		}{name: "reply " + name, address: "mqtt://broker.example",
			script: []socksStep{{want: greetNoAuth}, {send: chooseNoAuth}, {want: connectName}, refusal(rep)},
			want:   fmt.Sprintf("refused CONNECT broker.example:1883: %s (reply %d)", name, rep)})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := make(chan error, 1)
			proxy := &url.URL{Scheme: "socks5h", User: c.user, Host: scriptedSOCKS(t, c.script, errs)}
			d := Dialer{Timeout: 5 * time.Second, Proxy: func(*url.URL) (*url.URL, error) { return proxy, nil }}
			if strings.HasPrefix(c.address, "mqtts") {
				// Only the tunnel is tested: dial the TLS port as plain TCP.
				c.address = "mqtt" + strings.TrimPrefix(c.address, "mqtts")
				if !strings.Contains(c.address, "]:") {
					c.address = strings.Replace(c.address, "]", "]:8883", 1)
				}
			}
			conn, err := d.Dial(context.Background(), c.address)
			select {
			case e := <-errs:
				t.Fatal(e)
			default:
			}
			if c.want != "" {
				if err == nil {
					conn.Close()
					t.Fatalf("dialed; want an error holding %q", c.want)
				}
				if de, ok := errors.AsType[*DialError](err); !ok || de.Op != "proxy" || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want a DialError at proxy holding %q", err, c.want)
				}
				if strings.Contains(err.Error(), "pass") && !strings.Contains(err.Error(), "password") {
					t.Errorf("the error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			got := make([]byte, 5)
			if _, err := io.ReadFull(conn, got); err != nil || string(got) != "hello" {
				t.Fatalf("read %q, %v through the tunnel, want hello", got, err)
			}
			checkEcho(t, conn)
		})
	}
}

func TestSOCKS5Refusal(t *testing.T) {
	errs := make(chan error, 1)
	proxy := scriptedSOCKS(t, []socksStep{{want: greetUserPass}, {send: chooseNoAuth}, {want: connectName}, {send: "05 05 00 01 00000000 0000"}}, errs)
	_, err := (&Dialer{Proxy: func(*url.URL) (*url.URL, error) {
		return &url.URL{Scheme: "socks5h", User: url.UserPassword("u", "secret"), Host: proxy}, nil
	}}).Dial(context.Background(), "mqtt://broker.example")
	se, ok := errors.AsType[*SOCKSError](err)
	if !ok || se.Reply != 5 || se.Target != "broker.example:1883" || se.Auth {
		t.Fatalf("%v: want a *SOCKSError with reply 5", err)
	}
	want := "mqtt: dial mqtt://broker.example: proxy: mqtt: socks5 proxy socks5h://u:xxxxx@" + proxy +
		" refused CONNECT broker.example:1883: connection refused (reply 5)"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
}

// TestSOCKS5Local checks socks5:// (not socks5h://): the client resolves
// the name and sends the address.
func TestSOCKS5Local(t *testing.T) {
	sent := make(chan []byte, 1)
	proxy := serve(t, nil, func(c net.Conn) {
		b := make([]byte, 3+4)
		io.ReadFull(c, b[:3])
		c.Write(unhex(t, chooseNoAuth))
		io.ReadFull(c, b[:4])
		sent <- bytes.Clone(b[:4])
	})
	d := Dialer{Timeout: 5 * time.Second, Proxy: func(*url.URL) (*url.URL, error) { return &url.URL{Scheme: "socks5", Host: proxy}, nil }}
	d.Dial(context.Background(), "mqtt://localhost")
	if b := <-sent; b[3] != socksIPv4 && b[3] != socksIPv6 {
		t.Errorf("request % x: want an IPv4 or IPv6 address, not a name", b)
	}
}

// TestSOCKS5Deadline checks that a proxy that stops answering holds the
// dial only until its deadline, and that RFC 1929's limits are checked
// before anything is sent. (A host name too long for SOCKS5 never gets
// this far: ParseAddress refuses more than 253 bytes.)
func TestSOCKS5Deadline(t *testing.T) {
	proxy := serve(t, nil, func(c net.Conn) { io.Copy(io.Discard, c) })
	d := Dialer{Timeout: 200 * time.Millisecond, Proxy: func(*url.URL) (*url.URL, error) { return &url.URL{Scheme: "socks5h", Host: proxy}, nil }}
	start := time.Now()
	_, err := d.Dial(context.Background(), "mqtt://broker.example")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("silent proxy: %v after %v, want the deadline", err, time.Since(start))
	}

	d.Proxy = func(*url.URL) (*url.URL, error) {
		return &url.URL{Scheme: "socks5h", User: url.UserPassword(strings.Repeat("u", 256), ""), Host: proxy}, nil
	}
	if _, err := d.Dial(context.Background(), "mqtt://broker.example"); err == nil || !strings.Contains(err.Error(), "1 to 255 bytes") {
		t.Errorf("user name of 256 bytes: %v", err)
	}
}
