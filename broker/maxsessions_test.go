package broker

import (
	"testing"

	"github.com/petrel-mqtt/petrel/packet"
)

// TestMaxSessions checks Config.MaxSessions: at the bound, a CONNECT that
// would make a new persistent session gets CONNACK 3 and is closed, while
// a clean session and the resumption of one that exists are served; a
// session ended makes room.
func TestMaxSessions(t *testing.T) {
	srv, addr := startServer(t, Config{MaxSessions: 2})
	leave := func(id string, clean bool, present bool) {
		t.Helper()
		c := dial(t, addr)
		c.connect(&packet.Connect{ClientID: []byte(id), CleanSession: clean}, packet.Connack{SessionPresent: present})
		c.send(&packet.Disconnect{})
		c.expectClosed()
	}
	leave("p1", false, false)
	leave("p2", false, false)
	refused := func(id string) {
		t.Helper()
		c := dial(t, addr)
		c.connect(&packet.Connect{ClientID: []byte(id), CleanSession: false}, packet.Connack{ReturnCode: packet.RefusedServerUnavailable})
		c.expectClosed()
	}
	refused("p3")
	leave("c1", true, false)  // clean: not counted
	leave("p1", false, true)  // resumed
	leave("p2", true, false)  // ends p2's session
	leave("p3", false, false) // room again
	refused("p4")
	st := srv.Stats()
	if st.Sessions != 2 || st.RefusedByCode[packet.RefusedServerUnavailable] != 2 {
		t.Errorf("Sessions %d, refused with 3: %d; want 2 and 2", st.Sessions, st.RefusedByCode[packet.RefusedServerUnavailable])
	}
	if _, err := New(Config{MaxSessions: -1}); err == nil {
		t.Error("MaxSessions -1 accepted")
	}
}
