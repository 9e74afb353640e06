package broker

import (
	"strconv"
	"time"

	"github.com/petrel-mqtt/petrel/internal/version"
	"github.com/petrel-mqtt/petrel/packet"
)

// sysPrefix starts the topics of the broker's own counters. Clients may
// subscribe to them but not publish to them.
const sysPrefix = "$SYS/broker/"

// sysLoop publishes the counters every Config.SysInterval until Shutdown.
func (s *Server) sysLoop() {
	t := time.NewTicker(s.cfg.SysInterval)
	defer t.Stop()
	last := make(map[string]string)
	s.publishSys(last)
	for {
		select {
		case <-t.C:
			s.publishSys(last)
		case <-s.ctx.Done():
			return
		}
	}
}

// publishSys publishes, as retained QoS 0 messages, the counters whose
// values changed since last; it updates last.
func (s *Server) publishSys(last map[string]string) {
	st := s.Stats()
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := func(v int) string { return strconv.Itoa(v) }
	for _, kv := range [...][2]string{
		{"version", "petrel " + version.Get().String()}, // "petrel v0.1.0", as Mosquitto's "mosquitto version 2.0.18"
		{"uptime", strconv.FormatInt(int64(st.Uptime/time.Second), 10) + " seconds"},
		{"clients/connected", i(st.Clients)},
		{"clients/total", i(st.Sessions)},
		{"subscriptions/count", i(st.Subscriptions)},
		{"retained messages/count", i(st.Retained)},
		{"messages/received", u(st.MessagesReceived)},
		{"messages/sent", u(st.MessagesSent)},
		{"bytes/received", u(st.BytesReceived)},
		{"bytes/sent", u(st.BytesSent)},
		{"publish/messages/dropped", u(st.Dropped)},
		{"publish/messages/stalled", u(st.Stalled)},
		{"publish/messages/denied", u(st.Denied)},
		{"connections/refused", u(st.Refused)},
	} {
		if last[kv[0]] == kv[1] {
			continue
		}
		last[kv[0]] = kv[1]
		s.publish(newMessage(sysPrefix+kv[0], []byte(kv[1]), packet.QoS0, true), nil)
	}
}
