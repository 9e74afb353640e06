package broker

import (
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestMaxSessions checks Config.MaxSessions: at the bound, a CONNECT that
// would make a new persistent session ends the session offline the
// longest, so that new clients always get a place; sessions with a client
// are never ended, and when all have one the CONNECT gets CONNACK 3. Clean
// sessions are not counted, and a resumed session leaves the line.
func TestMaxSessions(t *testing.T) {
	srv, addr := startServer(t, Config{MaxSessions: 2})
	connect := func(id string, clean bool, want packet.Connack) *client {
		t.Helper()
		c := dial(t, addr)
		c.connect(&packet.Connect{ClientID: []byte(id), CleanSession: clean}, want)
		return c
	}
	leave := func(id string, clean, present bool) {
		t.Helper()
		c := connect(id, clean, packet.Connack{SessionPresent: present})
		c.send(&packet.Disconnect{})
		c.expectClosed()
	}
	leave("p1", false, false)
	leave("p2", false, false)
	leave("c1", true, false)  // clean: not counted
	leave("p1", false, true)  // resumed: p1 is now the newest offline
	leave("p3", false, false) // ends p2, offline the longest
	leave("p2", false, false) // a new session: ends p1
	leave("p3", false, true)  // kept
	if st := srv.Stats(); st.SessionsEvicted != 2 || st.Sessions != 2 {
		t.Fatalf("SessionsEvicted %d, Sessions %d; want 2 and 2", st.SessionsEvicted, st.Sessions)
	}

	// Sessions with a client stay: two held, a third is refused.
	a := connect("p2", false, packet.Connack{SessionPresent: true})
	b := connect("p4", false, packet.Connack{}) // ends p3
	c := connect("p5", false, packet.Connack{ReturnCode: packet.RefusedServerUnavailable})
	c.expectClosed()
	for _, cl := range []*client{a, b} {
		cl.send(&packet.Disconnect{})
		cl.expectClosed()
	}
	st := srv.Stats()
	if st.SessionsEvicted != 3 || st.RefusedByCode[packet.RefusedServerUnavailable] != 1 {
		t.Errorf("SessionsEvicted %d, refused with 3: %d; want 3 and 1", st.SessionsEvicted, st.RefusedByCode[packet.RefusedServerUnavailable])
	}
	if _, err := New(Config{MaxSessions: -1}); err == nil {
		t.Error("MaxSessions -1 accepted")
	}
}
