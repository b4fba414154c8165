package amqpdriver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// brokerTimeout is the heartbeat timeout RabbitMQ runs the connection
// named name with (rabbitmqctl list_connections), in seconds.
func brokerTimeout(t *testing.T, name string) string {
	t.Helper()
	return testenv.RabbitConnectionValue(t, "client_properties", "timeout", func(props string) bool {
		return strings.Contains(props, name)
	})
}

// heartbeat_timeout_threshold is the heartbeat the connection runs with,
// on both sides, as with oslo (kombu proposes the threshold itself); 0
// disables heartbeats though the broker proposes 60s.
func TestHeartbeatNegotiated(t *testing.T) {
	testenv.RequireRabbit(t)
	for _, tc := range []struct {
		timeout time.Duration
		want    string
	}{{7 * time.Second, "7"}, {0, "0"}} {
		name := testenv.UniqueName("gonova-hb-")
		u, err := ParseURL(testenv.OsloURL(testenv.RabbitURL()))
		if err != nil {
			t.Fatal(err)
		}
		d, err := Open(context.Background(), Config{URL: u, ConnectionName: name, TransientTTL: time.Minute, Heartbeat: Heartbeat{Timeout: tc.timeout}})
		if err != nil {
			t.Fatal(err)
		}
		conn, _, _ := d.current()
		if conn.Config.Heartbeat != tc.timeout {
			t.Errorf("threshold %s: client heartbeat %s", tc.timeout, conn.Config.Heartbeat)
		}
		if got := brokerTimeout(t, name); got != tc.want {
			t.Errorf("threshold %s: the broker's timeout for the connection is %s, want %s", tc.timeout, got, tc.want)
		}
		_ = d.Close()
	}
}

// A broker that goes silent with the connection open (frozen, not closed)
// is given up within 1.5 heartbeat_timeout_threshold. (Kombu's first
// reconnect goes to the same host, whose handshake then hangs until the
// dial timeout: the test kills it once detected, and the driver moves to
// the next host.)
func TestHeartbeatDetectsASilentBroker(t *testing.T) {
	testenv.RequireRabbit(t)
	a, b := newProxy(t, testenv.RabbitURL()), newProxy(t, testenv.RabbitURL())
	hb := 2 * time.Second
	d := openVia(t, Config{Heartbeat: Heartbeat{Timeout: hb, Rate: 2}, Reconnect: Reconnect{Delay: 10 * time.Millisecond, Interval: time.Second, IntervalMax: time.Second}}, a, b)
	gen := d.generation()
	frozen := time.Now()
	a.freeze()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if conn, _, _ := d.current(); conn == nil || conn.IsClosed() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the silent broker was not given up within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(frozen)
	t.Logf("silent broker given up after %s", took.Round(time.Millisecond))
	if took < hb || took > hb*3/2+time.Second {
		t.Errorf("a silent broker was given up after %s, want within 1.5 x %s", took, hb)
	}
	a.kill()
	if host, _ := waitReconnected(t, d, gen, 5*time.Second); host != 1 {
		t.Errorf("reconnected to host %d, want 1", host)
	}
}
