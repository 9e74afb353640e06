package main

import (
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/petrel-mqtt/petrel/broker"
)

// socksServer is a tiny SOCKS5 proxy (RFC 1928, with RFC 1929's
// username/password when user is set) that relays CONNECT to the target,
// recording each target it was asked for.
type socksServer struct {
	addr       string
	user, pass string
	mu         sync.Mutex
	targets    []string
}

func (s *socksServer) asked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.targets...)
}

func startSOCKS(t *testing.T, user, pass string) *socksServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &socksServer{addr: l.Addr().String(), user: user, pass: pass}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			track(c)
			wg.Go(func() { s.serve(c, track, &wg) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

func (s *socksServer) serve(c net.Conn, track func(net.Conn), wg *sync.WaitGroup) {
	defer c.Close()
	b := make([]byte, 512)
	if _, err := io.ReadFull(c, b[:2]); err != nil || b[0] != 5 {
		return
	}
	methods := b[2 : 2+int(b[1])]
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	want := byte(0)
	if s.user != "" {
		want = 2
	}
	if !strings.Contains(string(methods), string([]byte{want})) {
		c.Write([]byte{5, 0xff})
		return
	}
	c.Write([]byte{5, want})
	if want == 2 {
		io.ReadFull(c, b[:2])
		user := make([]byte, b[1])
		io.ReadFull(c, user)
		io.ReadFull(c, b[:1])
		pass := make([]byte, b[0])
		io.ReadFull(c, pass)
		if string(user) != s.user || string(pass) != s.pass {
			c.Write([]byte{1, 1})
			return
		}
		c.Write([]byte{1, 0})
	}
	if _, err := io.ReadFull(c, b[:4]); err != nil || b[1] != 1 {
		return
	}
	var host string
	switch b[3] {
	case 1:
		io.ReadFull(c, b[:4])
		host = net.IP(b[:4]).String()
	case 4:
		io.ReadFull(c, b[:16])
		host = net.IP(b[:16]).String()
	case 3:
		io.ReadFull(c, b[:1])
		name := make([]byte, b[0])
		io.ReadFull(c, name)
		host = string(name)
	}
	io.ReadFull(c, b[:2])
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(b[:2]))))
	s.mu.Lock()
	s.targets = append(s.targets, target)
	s.mu.Unlock()
	up, err := net.Dial("tcp", target)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}) // connection refused
		return
	}
	track(up)
	defer up.Close()
	c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	wg.Go(func() {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
	})
	io.Copy(c, up)
}

// TestProxySOCKS5 runs petrel sub and pub through SOCKS5 proxies to
// Petrel's embedded broker: sub through one without authentication,
// with the broker named "localhost", which the proxy resolves
// (socks5h://); pub through one that requires a user name and password,
// given percent-encoded as mosquitto_pub takes them.
func TestProxySOCKS5(t *testing.T) {
	s, addr := startEmbedded(t, broker.Config{})
	_, port, _ := net.SplitHostPort(addr)
	open := startSOCKS(t, "", "")
	locked := startSOCKS(t, "us@r", "p:ss%")

	sub := start(t, nil, nil, "sub", "-h", "localhost", "-p", port, "--proxy", "socks5h://"+open.addr,
		"-t", "proxy/#", "-q", "1", "-v", "-C", "2")
	waitSubscriptions(t, s, 1)
	creds := "socks5h://us%40r:p%3Ass%25@" + locked.addr
	for _, m := range []string{"one", "two"} {
		if code, _, stderr := petrel(t, "", "pub", "-h", "127.0.0.1", "-p", port, "--proxy", creds, "-t", "proxy/"+m, "-q", "1", "-m", m); code != exitOK {
			t.Fatalf("pub through the proxy: exit code %d, %s", code, stderr)
		}
	}
	if code := sub.wait(t); code != exitOK {
		t.Fatalf("sub: exit code %d, %s", code, sub.stderr.String())
	}
	if got, want := sub.stdout.String(), "proxy/one one\nproxy/two two\n"; got != want {
		t.Errorf("sub printed %q, want %q", got, want)
	}
	if got := open.asked(); len(got) != 1 || got[0] != "localhost:"+port {
		t.Errorf("the proxy was asked for %q, want [localhost:%s]: the name, for the proxy to resolve", got, port)
	}
	if got := locked.asked(); len(got) != 2 || got[0] != addr {
		t.Errorf("the proxy with a password was asked for %q, want %s twice", got, addr)
	}

	// Refusals name the proxy, the reason and the reply code.
	for _, c := range []struct {
		proxy string
		want  string
	}{
		{"socks5h://us%40r:wrong@" + locked.addr, "socks5 proxy socks5h://us%40r:xxxxx@" + locked.addr + " refused the user name and password"},
		{"socks5h://" + locked.addr, "requires authentication: give user:password@ in the proxy URL"},
		{"socks5h://" + open.addr, "refused CONNECT 127.0.0.1:1: connection refused (reply 5)"},
		{"http://u:wrong@127.0.0.1:1", "connection refused (through --proxy http://u:xxxxx@127.0.0.1:1)"},
	} {
		p := "1"
		if !strings.Contains(c.want, "127.0.0.1:1") {
			p = port
		}
		code, _, stderr := petrel(t, "", "pub", "-h", "127.0.0.1", "-p", p, "--proxy", c.proxy, "-t", "x", "-m", "x")
		if code != exitConnect || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "wrong") {
			t.Errorf("--proxy %s: exit code %d, stderr %q; want %d and %q", c.proxy, code, stderr, exitConnect, c.want)
		}
	}
}

// TestProxyFlag checks the errors of --proxy: each names the flag and the
// form it takes.
func TestProxyFlag(t *testing.T) {
	for _, c := range []struct{ proxy, want string }{
		{"localhost:1080", `--proxy "localhost:1080": not a proxy URL: give socks5h://[user[:password]@]host[:port]`},
		{"socks4://h", `--proxy socks4://h: scheme "socks4" not supported: give socks5h://`},
		{"socks5h://:1080", `--proxy socks5h://:1080: no proxy host`},
		{"socks5h://h:0", `--proxy socks5h://h:0: the port "0" is not a number from 1 to 65535`},
		{"socks5h://h/x", `--proxy socks5h://h/x: a proxy URL has no path, query or fragment`},
		{"socks5h://" + strings.Repeat("u", 256) + ":p@h", `SOCKS5 takes a user name of 1 to 255 bytes`},
	} {
		code, _, stderr := petrel(t, "", "pub", "--proxy", c.proxy, "-t", "x", "-m", "x")
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("--proxy %s: exit code %d, stderr %q; want %d and %q", c.proxy, code, stderr, exitUsage, c.want)
		}
	}
}
