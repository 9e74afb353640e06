package rabbitmqtest

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/petrel-mqtt/petrel/packet"
)

// client is the least MQTT client that can tell whether a node accepts
// connections and routes messages: one request at a time, over the packet
// codec alone, so that any package's tests may use this one.
type client struct {
	conn net.Conn
	r    *packet.Reader
}

// probeTimeout bounds each exchange with a node.
const probeTimeout = 5 * time.Second

// dial connects to addr with a clean session and returns once the
// CONNACK has accepted the client.
func dial(addr, clientID string) (*client, error) {
	conn, err := net.DialTimeout("tcp", addr, probeTimeout)
	if err != nil {
		return nil, err
	}
	c := &client{conn: conn, r: packet.NewReader(conn, 0)}
	p, err := c.request(&packet.Connect{ClientID: []byte(clientID), CleanSession: true, KeepAlive: 60})
	if err != nil {
		conn.Close()
		return nil, err
	}
	ack, ok := p.(*packet.Connack)
	switch {
	case !ok:
		err = fmt.Errorf("got %v, want CONNACK", p.Type())
	case ack.ReturnCode != packet.Accepted:
		err = fmt.Errorf("CONNACK refused: %v", ack.ReturnCode)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// request writes p and, unless p is a QoS 0 PUBLISH, reads the answer.
func (c *client) request(p packet.Packet) (packet.Packet, error) {
	b, err := p.AppendBinary(nil)
	if err != nil {
		return nil, err
	}
	c.conn.SetDeadline(time.Now().Add(probeTimeout))
	if _, err := c.conn.Write(b); err != nil {
		return nil, err
	}
	if pub, ok := p.(*packet.Publish); ok && pub.QoS == packet.QoS0 {
		return nil, nil
	}
	return c.r.ReadPacket()
}

// close sends DISCONNECT and closes the connection.
func (c *client) close() {
	c.request(&packet.Disconnect{})
	c.conn.Close()
}

// checkRouting checks that the nodes form one cluster: messages published
// on node 2 and on node 3 reach a subscriber on node 1.
func (c *Cluster) checkRouting() error { return routes(c.nodes[0], c.nodes[1:]...) }

// routeChecks numbers the calls of routes, for client ids of their own.
var routeChecks atomic.Int64

// routes checks that a message published at QoS 1 on each node of from
// reaches a subscriber on node to.
//
// Each call uses client ids never used before: the queue of a subscriber
// is named after its client id, and one left on a node that was just
// killed is deleted when the others notice, even if a subscriber of the
// same id on another node has just declared it again (its SUBSCRIBE then
// fails with NOT_FOUND).
func routes(to *Node, from ...*Node) error {
	seq := strconv.FormatInt(routeChecks.Add(1), 10)
	topic := "rabbitmqtest/routes/" + to.Name()
	sub, err := dial(to.Addr(), "rabbitmqtest-routes-sub-"+seq)
	if err != nil {
		return to.failure("refused a subscriber", err)
	}
	defer sub.close()
	p, err := sub.request(&packet.Subscribe{PacketID: 1, Filters: []packet.Subscription{{Filter: []byte(topic)}}})
	if err != nil {
		return to.failure("did not answer SUBSCRIBE", err)
	}
	if _, ok := p.(*packet.Suback); !ok {
		return to.failure(fmt.Sprintf("answered SUBSCRIBE with %v", p.Type()), nil)
	}
	want := map[string]*Node{}
	for _, n := range from {
		payload := n.Name()
		want[payload] = n
		pub, err := dial(n.Addr(), "rabbitmqtest-routes-pub-"+seq+"-"+payload)
		if err == nil {
			_, err = pub.request(&packet.Publish{QoS: packet.QoS1, PacketID: 1, Topic: []byte(topic), Payload: []byte(payload)})
			pub.close()
		}
		if err != nil {
			return n.failure("did not take a message to publish", err)
		}
	}
	sub.conn.SetDeadline(time.Now().Add(30 * time.Second))
	for len(want) > 0 {
		p, err := sub.r.ReadPacket()
		if err != nil {
			var missing []error
			for _, n := range want {
				missing = append(missing, n.failure(fmt.Sprintf("routed no message to %v: not in its cluster?", to), nil))
			}
			return fmt.Errorf("rabbitmqtest: waiting for messages on %v: %v\n%w", to, err, errors.Join(missing...))
		}
		if pub, ok := p.(*packet.Publish); ok {
			delete(want, string(pub.Payload))
		}
	}
	return nil
}
