#!/usr/bin/python3
"""Drives an MQTT 3.1.1 broker with paho-mqtt 1.6 (Debian's
python3-paho-mqtt), as TestBrokerPaho does with petrel broker.

Usage: paho_broker.py host port

Checks, in order, printing "ok <step>" after each:
  qos         a message at QoS 0, 1 and 2 arrives at the QoS sent, not retained
  retained    a retained message reaches a later subscriber with RETAIN set;
              an empty retained message clears it
  will        a client that disconnects cleanly has no will published; one whose
              connection drops without DISCONNECT has it published
  persistent  a persistent session (clean_session=False) keeps its subscription
              and the QoS 1 and 2 messages published while it was away

Exits with 0 when every step passed, else prints "FAIL ..." and exits with 1.
"""
import queue
import sys

import paho.mqtt.client as mqtt

TIMEOUT = 10  # seconds for each wait

HOST, PORT = sys.argv[1], int(sys.argv[2])
clients = []


def fail(msg):
    print("FAIL " + msg, flush=True)
    for c in clients:
        c.loop_stop()
    sys.exit(1)


def get(q, what):
    try:
        return q.get(timeout=TIMEOUT)
    except queue.Empty:
        fail("no %s within %d s" % (what, TIMEOUT))


def client(cid, clean=True, will=None):
    """Connects a client and starts its network thread."""
    c = mqtt.Client(client_id=cid, clean_session=clean, protocol=mqtt.MQTTv311)
    if will:
        c.will_set(*will)
    c.msgs, c.connacks, c.subacks = queue.Queue(), queue.Queue(), queue.Queue()
    c.on_message = lambda cl, ud, m: cl.msgs.put((m.topic, m.qos, int(m.retain), m.payload.decode()))
    c.on_connect = lambda cl, ud, flags, rc: cl.connacks.put((flags.get("session present", 0), rc))
    c.on_subscribe = lambda cl, ud, mid, granted: cl.subacks.put(tuple(granted))
    c.connect(HOST, PORT, keepalive=30)
    c.loop_start()
    clients.append(c)
    present, rc = get(c.connacks, "CONNACK for " + cid)
    if rc != 0:
        fail("%s: CONNACK return code %d" % (cid, rc))
    c.present = present
    return c


def subscribe(c, topic, qos):
    c.subscribe(topic, qos)
    granted = get(c.subacks, "SUBACK")
    if granted != (qos,):
        fail("subscribe %s at QoS %d: granted %r" % (topic, qos, granted))


def publish(c, topic, payload, qos, retain=False):
    info = c.publish(topic, payload, qos, retain)
    info.wait_for_publish(TIMEOUT)
    if not info.is_published():
        fail("publish to %s at QoS %d not acknowledged" % (topic, qos))


def expect(c, want):
    got = get(c.msgs, "message %r" % (want,))
    if got != want:
        fail("got %r, want %r" % (got, want))


def stop(c):
    c.disconnect()
    c.loop_stop()
    clients.remove(c)


pub = client("paho-pub")

# qos
sub = client("paho-sub")
subscribe(sub, "paho/qos/#", 2)
for q in range(3):
    publish(pub, "paho/qos/%d" % q, "m%d" % q, q)
    expect(sub, ("paho/qos/%d" % q, q, 0, "m%d" % q))
stop(sub)
print("ok qos", flush=True)

# retained
publish(pub, "paho/retained", "kept", 1, retain=True)
r = client("paho-retained")
subscribe(r, "paho/retained", 2)
expect(r, ("paho/retained", 1, 1, "kept"))
stop(r)
publish(pub, "paho/retained", "", 1, retain=True)  # clears it
r = client("paho-retained")
subscribe(r, "paho/retained", 2)
publish(pub, "paho/retained", "fresh", 0)
expect(r, ("paho/retained", 0, 0, "fresh"))  # and nothing retained before it
stop(r)
print("ok retained", flush=True)

# will
watch = client("paho-watch")
subscribe(watch, "paho/will", 1)
clean = client("paho-clean", will=("paho/will", "clean", 1, False))
stop(clean)  # DISCONNECT: the will is discarded
victim = client("paho-victim", will=("paho/will", "dropped", 1, False))
victim.loop_stop()
clients.remove(victim)
victim.socket().close()  # no DISCONNECT: the broker publishes the will
expect(watch, ("paho/will", 1, 0, "dropped"))
stop(watch)
print("ok will", flush=True)

# persistent
p = client("paho-persist", clean=False)
if p.present:
    fail("a new persistent session reported session present")
subscribe(p, "paho/persist/#", 2)
stop(p)
publish(pub, "paho/persist/1", "away1", 1)
publish(pub, "paho/persist/2", "away2", 2)
p = client("paho-persist", clean=False)
if not p.present:
    fail("the persistent session was not present on reconnection")
expect(p, ("paho/persist/1", 1, 0, "away1"))
expect(p, ("paho/persist/2", 2, 0, "away2"))
stop(p)
print("ok persistent", flush=True)

stop(pub)
