package transport

import (
	"context"
	"testing"
	"time"

	"github.com/petrel-mqtt/petrel/internal/mosquittotest"
	"github.com/petrel-mqtt/petrel/packet"
)

// TestMosquitto connects to a real broker over every transport it offers,
// sends a CONNECT and a PINGREQ in one write, and expects CONNACK (return
// code 0) and PINGRESP.
func TestMosquitto(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	b := mosquittotest.Start(t, mosquittotest.Options{
		WebSockets:    true,
		TLS:           ca.ServerTLS(t),
		WebSocketsTLS: true,
	})
	d := Dialer{TLSConfig: NewTLSConfig(ca.Pool()), Timeout: 5 * time.Second}
	for name, address := range map[string]string{
		"tcp":   b.URL(),
		"ws":    b.WebSocketURL(),
		"mqtts": b.TLSURL(),
		"wss":   b.WebSocketTLSURL(),
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := d.Dial(context.Background(), address)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			msg := encode(t, &packet.Connect{ClientID: []byte("x-" + name), CleanSession: true, KeepAlive: 30}, &packet.Pingreq{})
			if _, err := conn.Write(msg); err != nil {
				t.Fatal(err)
			}
			r := packet.NewReader(conn, 0)
			p, err := r.ReadPacket()
			if err != nil {
				t.Fatal(err)
			}
			if ack, ok := p.(*packet.Connack); !ok || ack.ReturnCode != packet.Accepted {
				t.Fatalf("got %v, want CONNACK with return code 0", p)
			}
			if p, err := r.ReadPacket(); err != nil || p.Type() != packet.TypePingresp {
				t.Fatalf("got %v, %v; want PINGRESP", p, err)
			}
			if _, err := conn.Write(encode(t, &packet.Disconnect{})); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMosquittoVerify checks that the broker's certificate is refused
// without its CA, over TLS and WebSocket over TLS.
func TestMosquittoVerify(t *testing.T) {
	ca := mosquittotest.NewCA(t, "test CA")
	b := mosquittotest.Start(t, mosquittotest.Options{TLS: ca.ServerTLS(t), WebSocketsTLS: true})
	for _, address := range []string{b.TLSURL(), b.WebSocketTLSURL()} {
		conn, err := Dial(context.Background(), address, nil)
		if err == nil {
			conn.Close()
			t.Errorf("%s: connected without the CA", address)
		}
	}
}
