package amqpdriver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
	"github.com/gonova/gonova/pkg/testenv"
)

// openVia opens a driver on the given proxies as the hosts of one
// transport_url.
func openVia(t *testing.T, cfg Config, proxies ...*proxy) *Driver {
	t.Helper()
	var hosts []string
	for _, p := range proxies {
		hosts = append(hosts, "guest:guest@"+p.addr())
	}
	u, err := ParseURL("rabbit://" + strings.Join(hosts, ",") + "/")
	if err != nil {
		t.Fatal(err)
	}
	cfg.URL = u
	cfg.TransientTTL = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// waitReconnected waits until d has a live connection of a generation
// after gen and returns the index of its host and when it was seen.
func waitReconnected(t *testing.T, d *Driver, gen uint64, within time.Duration) (int, time.Time) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		conn, g, host := d.conn, d.gen, d.host
		d.mu.Unlock()
		if conn != nil && g > gen && !conn.IsClosed() {
			return host, time.Now()
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("not reconnected within %s", within)
	return 0, time.Time{}
}

func (d *Driver) generation() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.gen
}

// Round-robin: when the first broker of three goes away, the driver first
// tries it again (refused), then moves to the second one, in about two
// kombu_reconnect_delay waits (one after the loss, one after the refused
// dial), with no retry interval: the third broker is not needed.
func TestFailoverRoundRobinMovesToTheNextHost(t *testing.T) {
	testenv.RequireRabbit(t)
	ps := []*proxy{newProxy(t, testenv.RabbitURL()), newProxy(t, testenv.RabbitURL()), newProxy(t, testenv.RabbitURL())}
	delay := 300 * time.Millisecond
	d := openVia(t, Config{Reconnect: Reconnect{Delay: delay, Interval: time.Second, Backoff: 2 * time.Second, IntervalMax: 30 * time.Second}}, ps...)
	if ps[0].connections() != 1 || ps[1].connections() != 0 {
		t.Fatalf("first connection not to the first host: %d %d", ps[0].connections(), ps[1].connections())
	}
	gen := d.generation()
	lost := time.Now()
	ps[0].kill()
	host, at := waitReconnected(t, d, gen, 10*time.Second)
	took := at.Sub(lost)
	t.Logf("reconnected to host %d after %s", host, took.Round(time.Millisecond))
	if host != 1 || ps[2].connections() != 0 {
		t.Errorf("reconnected to host %d (third host dialled %d times), want host 1 only", host, ps[2].connections())
	}
	if took < 2*delay || took > 2*delay+time.Second {
		t.Errorf("reconnect took %s, want two kombu_reconnect_delay waits (%s) and no retry interval", took, 2*delay)
	}
	// The next loss moves on from host 1 to host 2 (not back to 0).
	gen = d.generation()
	lost = time.Now()
	ps[1].kill()
	host, at = waitReconnected(t, d, gen, 10*time.Second)
	if host != 2 {
		t.Errorf("second failover went to host %d, want 2", host)
	}
	t.Logf("second failover to host %d after %s", host, at.Sub(lost).Round(time.Millisecond))
}

// When every host is down, a whole round of failed dials is followed by
// rabbit_retry_interval, the next by interval+backoff: the driver comes
// back once a broker does.
func TestFailoverAllDownWaitsTheRetryInterval(t *testing.T) {
	testenv.RequireRabbit(t)
	a, b := newProxy(t, testenv.RabbitURL()), newProxy(t, testenv.RabbitURL())
	d := openVia(t, Config{Reconnect: Reconnect{Delay: 50 * time.Millisecond, Interval: time.Second, Backoff: time.Second, IntervalMax: 5 * time.Second}}, a, b)
	gen := d.generation()
	addrB := b.addr()
	lost := time.Now()
	a.kill()
	b.kill()
	// Dials: a (loss+50ms), b (+50ms), a (+50ms+1s), b (+50ms), a (+50ms+2s) ...
	time.Sleep(200 * time.Millisecond)
	c := relisten(t, addrB, testenv.RabbitURL())
	host, at := waitReconnected(t, d, gen, 5*time.Second)
	if host != 1 || c.connections() != 1 {
		t.Fatalf("reconnected to host %d (%d connections to it), want host 1 once", host, c.connections())
	}
	// Host 1 was back after 200ms, but its second dial comes only after
	// the round's retry interval (1s): at about 1.2s.
	if took := at.Sub(lost); took < 1100*time.Millisecond || took > 2500*time.Millisecond {
		t.Errorf("reconnected after %s, want after the 1s retry interval that follows a failed round (about 1.2s)", took)
	}
}

// relisten starts a proxy on a given address again (the broker is back).
func relisten(t *testing.T, addr, broker string) *proxy {
	t.Helper()
	var p *proxy
	var err error
	for range 50 {
		if p, err = newProxyAt(t, addr, broker); err == nil {
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("listening again on %s: %v", addr, err)
	return nil
}

// Options oslo refuses are refused at Open, before any dial.
func TestOpenRefusesBadConnectionOptions(t *testing.T) {
	u, err := ParseURL("rabbit://guest:guest@127.0.0.1:1/")
	if err != nil {
		t.Fatal(err)
	}
	for option, cfg := range map[string]Config{
		"kombu_failover_strategy":     {URL: u, Reconnect: Reconnect{Strategy: "random"}},
		"heartbeat_timeout_threshold": {URL: u, Heartbeat: Heartbeat{Timeout: -time.Second}},
		"heartbeat_rate":              {URL: u, Heartbeat: Heartbeat{Timeout: time.Second, Rate: -1}},
	} {
		_, err := Open(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), option) || !errors.Is(err, driver.ErrPermanent) {
			t.Errorf("%s: Open error %v, want a permanent one naming the option", option, err)
		}
	}
}
