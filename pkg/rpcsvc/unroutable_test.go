package rpcsvc

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// A cast or call to a topic (or a server) with no queue is returned by the
// broker: after UnroutableTimeout of retries the caller gets an
// *UnroutableError (a 503 for pkg/wsgi/fault), on both transports. A fanout
// cast to no queue is no error.
func TestContractUnroutableCastAndCall(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t, func(o *Options) { o.UnroutableTimeout = 300 * time.Millisecond })
		cl := e.client(t, tr, ClientConfig{})
		ctx := bg(t)

		start := time.Now()
		err := cl.Cast(ctx, "record", RecordArgs{N: 1})
		took := time.Since(start)
		var ue *UnroutableError
		if !errors.As(err, &ue) || !errors.Is(err, ErrUnroutable) {
			t.Fatalf("cast to a topic with no queue: %v, want *UnroutableError", err)
		}
		if ue.Target.Topic != e.topic || !fault.IsUnavailable(err) {
			t.Fatalf("unroutable error %+v: wrong target or not a 503", ue)
		}
		if took < 250*time.Millisecond || took > 5*time.Second {
			t.Fatalf("cast gave up after %s, want about UnroutableTimeout (300ms)", took)
		}
		if err := cl.Prepare(CallOptions{Server: "nohost"}).Call(ctx, "echo", EchoArgs{Value: 1}, nil); !errors.Is(err, ErrUnroutable) {
			t.Fatalf("call to a server with no queue: %v, want ErrUnroutable", err)
		}
		if err := cl.Prepare(CallOptions{Fanout: true}).Cast(ctx, "record", RecordArgs{N: 2}); err != nil {
			t.Fatalf("fanout cast to no queue: %v, want nil", err)
		}
		if v := testutil.ToFloat64(tr.metrics.sendFails.WithLabelValues(sendUnroutable)); v != 2 {
			t.Fatalf("send_failures{unroutable} = %v, want 2", v)
		}

		// A queue that appears while the cast is retried takes it.
		rec := newRecorder()
		cl2 := e.client(t, e.open(t, func(o *Options) { o.UnroutableTimeout = 20 * time.Second; o.Registerer = nil }), ClientConfig{})
		var wg sync.WaitGroup
		var castErr error
		wg.Add(1)
		go func() {
			defer wg.Done()
			castErr = cl2.Cast(ctx, "record", RecordArgs{N: 3})
		}()
		time.Sleep(300 * time.Millisecond)
		e.server(t, tr, "host1", &testEndpoint{rec: rec})
		wg.Wait()
		if castErr != nil {
			t.Fatalf("cast retried until a queue appeared: %v", castErr)
		}
		waitFor(t, 10*time.Second, "the retried cast", func() bool { return rec.count(3) == 1 })
		// Routable now: no return.
		if err := cl.Cast(ctx, "record", RecordArgs{N: 4}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "a routable cast", func() bool { return rec.count(4) == 1 })
	})
}

// Many Mandatory publishes at once on the pooled channels, routable and not:
// each return reaches its own publisher, none another's.
func TestContractUnroutableCorrelation(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t, func(o *Options) { o.UnroutableTimeout = -1; o.PublishChannels = 2 })
		rec := newRecorder()
		e.server(t, tr, "host1", &testEndpoint{rec: rec})
		good := e.client(t, tr, ClientConfig{})
		bad := e.client(t, tr, ClientConfig{Target: Target{Topic: e.topic + "_none"}})
		ctx := bg(t)
		const n = 200
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if i%2 == 0 {
					errs[i] = good.Cast(ctx, "record", RecordArgs{N: i})
				} else {
					errs[i] = bad.Cast(ctx, "record", RecordArgs{N: i})
				}
			}(i)
		}
		wg.Wait()
		for i, err := range errs {
			if i%2 == 0 && err != nil {
				t.Errorf("routable cast %d: %v", i, err)
			}
			if i%2 == 1 && !errors.Is(err, ErrUnroutable) {
				t.Errorf("unroutable cast %d: %v, want ErrUnroutable", i, err)
			}
		}
		waitFor(t, 10*time.Second, "every routable cast", func() bool { return rec.total() == n/2 })
	})
}

// With UnavailableTimeout set, a cast or call while the broker cannot be
// reached fails within about that bound with an *UnavailableError (a 503),
// instead of waiting for the caller's whole deadline; once the broker is
// back, casts go through again. The outage is a TCP proxy in front of the
// shared broker that cuts every connection and refuses new ones.
func TestUnavailableTimeoutBoundsCastAndCall(t *testing.T) {
	testenv.RequireRabbit(t)
	px := newProxy(t, hostPort(t, testenv.RabbitURL()))
	u, err := url.Parse(testenv.RabbitURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Host = px.addr
	e := &env{kind: "rabbit", url: u.String(), exchange: testenv.UniqueName("rpcsvc_x_"), topic: testenv.UniqueName("rpcsvc_t_")}
	t.Cleanup(func() { cleanupBroker(t, e) })
	const bound = 700 * time.Millisecond
	tr := e.open(t, func(o *Options) { o.UnavailableTimeout = bound; o.Registerer = nil })
	rec := newRecorder()
	e.server(t, tr, "host1", &testEndpoint{rec: rec})
	cl := e.client(t, tr, ClientConfig{Timeout: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := cl.Cast(ctx, "record", RecordArgs{N: 1}); err != nil {
		t.Fatal(err)
	}

	px.cut()
	for _, op := range []struct {
		name string
		do   func() error
	}{
		{"cast", func() error { return cl.Cast(ctx, "record", RecordArgs{N: 2}) }},
		{"call", func() error { return cl.Call(ctx, "echo", EchoArgs{Value: 2}, nil) }},
	} {
		start := time.Now()
		err := op.do()
		took := time.Since(start)
		if !errors.Is(err, ErrUnavailable) || !fault.IsUnavailable(err) {
			t.Fatalf("%s while the broker is unreachable: %v, want ErrUnavailable", op.name, err)
		}
		if took > bound+2*time.Second {
			t.Fatalf("%s failed after %s, want within about %s", op.name, took, bound)
		}
	}
	if v := testutil.ToFloat64(tr.metrics.sendFails.WithLabelValues(sendUnavailable)); v < 2 {
		t.Fatalf("send_failures{unavailable} = %v, want 2", v)
	}

	px.restore()
	waitFor(t, 30*time.Second, "a cast after the broker returned", func() bool {
		return cl.Cast(ctx, "record", RecordArgs{N: 3}) == nil
	})
	waitFor(t, 10*time.Second, "the cast after the outage", func() bool { return rec.count(3) >= 1 })
}

// proxy forwards TCP connections to a target until cut.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	l      net.Listener
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, addr: l.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(l)
	t.Cleanup(func() { p.cut(); p.wg.Wait() })
	return p
}

func (p *proxy) serve(l net.Listener) {
	p.mu.Lock()
	p.l = l
	p.mu.Unlock()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			for _, pair := range [][2]net.Conn{{c, up}, {up, c}} {
				p.wg.Add(1)
				go func(dst, src net.Conn) {
					defer p.wg.Done()
					_, _ = io.Copy(dst, src)
					_ = dst.Close()
					_ = src.Close()
				}(pair[0], pair[1])
			}
		}
	}()
}

// cut closes the listener and every connection: the broker is gone.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.l != nil {
		_ = p.l.Close()
		p.l = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// restore listens on the same address again.
func (p *proxy) restore() {
	l, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listening again on %s: %v", p.addr, err)
	}
	p.serve(l)
}

func hostPort(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "5672")
	}
	return u.Host
}
