package rpcsvc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gonova/gonova/pkg/tcpproxy"
	"github.com/gonova/gonova/pkg/testenv"
)

// rabbitEnv is an env on the real broker, reached through a fault proxy.
func rabbitEnv(t *testing.T) (*env, *tcpproxy.Proxy) {
	t.Helper()
	testenv.RequireRabbit(t)
	target := strings.TrimPrefix(strings.TrimPrefix(testenv.RabbitURL(), "amqp://"), "guest:guest@")
	target = strings.TrimSuffix(target, "/")
	p := tcpproxy.Start(t, target)
	e := &env{kind: "rabbit", url: "amqp://guest:guest@" + p.Addr() + "/", exchange: testenv.UniqueName("rpcsvc_x_"), topic: testenv.UniqueName("rpcsvc_t_"), reg: prometheus.NewPedanticRegistry()}
	t.Cleanup(func() { cleanupBroker(t, e) })
	return e, p
}

// TestFaultCastStreamSurvivesCuts cuts every connection twice during a stream
// of casts: every cast published arrives exactly once at the handler.
func TestFaultCastStreamSurvivesCuts(t *testing.T) {
	t.Parallel()
	e, p := rabbitEnv(t)
	srvTr := e.open(t)
	cliTr := e.open(t, func(o *Options) { o.Registerer = nil })
	rec := newRecorder()
	e.server(t, srvTr, "host1", &testEndpoint{rec: rec})
	cl := e.client(t, cliTr, ClientConfig{})

	const total = 300
	errs := make(chan error, 1)
	progress := make(chan int, total)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for i := 0; i < total; i++ {
			if err := cl.Cast(ctx, "record", RecordArgs{N: i}); err != nil {
				errs <- err
				return
			}
			progress <- i
		}
		errs <- nil
	}()
	cuts := map[int]bool{total / 3: true, 2 * total / 3: true}
	for sent := 0; sent < total; {
		select {
		case i := <-progress:
			sent = i + 1
			if cuts[i] {
				p.CutAll()
			}
		case err := <-errs:
			t.Fatalf("cast stream failed after %d: %v", sent, err)
		case <-time.After(60 * time.Second):
			t.Fatalf("cast stream stalled at %d", sent)
		}
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "every cast to arrive", func() bool {
		for i := 0; i < total; i++ {
			if rec.count(i) == 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // let any late duplicate show up
	for i := 0; i < total; i++ {
		if c := rec.count(i); c != 1 {
			t.Errorf("cast %d arrived %d times", i, c)
		}
	}
	if p.Cut() < 4 {
		t.Errorf("the proxy cut %d connections, want at least 4 (2 cuts x 2 transports)", p.Cut())
	}
	if v := testutil.ToFloat64(srvTr.metrics.reconnects); v < 2 {
		t.Errorf("gonova_rpc_reconnects_total = %v, want >= 2", v)
	}
}

// TestFaultCallInFlightFailsOnCut: a call waiting for its reply fails with
// ErrConnectionLost when the connection drops, instead of hanging.
func TestFaultCallInFlightFailsOnCut(t *testing.T) {
	t.Parallel()
	e, p := rabbitEnv(t)
	direct := *e
	direct.url = testenv.RabbitURL()
	srvTr := direct.open(t)
	cliTr := e.open(t, func(o *Options) { o.Registerer = nil })
	e.server(t, srvTr, "host1", &testEndpoint{rec: newRecorder()})
	cl := e.client(t, cliTr, ClientConfig{Timeout: 20 * time.Second})
	// Warm up the reply queue, so the cut hits a waiting call.
	if err := cl.Call(bg(t), "echo", nil, nil); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	start := time.Now()
	go func() { res <- cl.Call(bg(t), "sleep", SleepArgs{Millis: 3000}, nil) }()
	time.Sleep(300 * time.Millisecond)
	p.CutAll()
	select {
	case err := <-res:
		if !errors.Is(err, ErrConnectionLost) {
			t.Fatalf("call during a cut: %v, want ErrConnectionLost", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("the call failed only after %s", el)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("call hung after the connection was cut")
	}
	// The client recovers: the next call works once reconnected.
	waitFor(t, 10*time.Second, "a call after reconnecting", func() bool {
		return cl.Prepare(CallOptions{Timeout: 2 * time.Second}).Call(bg(t), "echo", nil, nil) == nil
	})
}

// TestFaultRefusedBrokerThenBack: while the broker refuses connections a cast
// keeps retrying; it succeeds once connections are accepted again.
func TestFaultRefusedBrokerThenBack(t *testing.T) {
	t.Parallel()
	e, p := rabbitEnv(t)
	tr := e.open(t)
	rec := newRecorder()
	e.server(t, tr, "host1", &testEndpoint{rec: rec})
	cl := e.client(t, tr, ClientConfig{})
	p.SetRefuse(true)
	p.CutAll()
	var wg sync.WaitGroup
	wg.Add(1)
	var castErr error
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		castErr = cl.Cast(ctx, "record", RecordArgs{N: 1})
	}()
	time.Sleep(700 * time.Millisecond)
	p.SetRefuse(false)
	wg.Wait()
	if castErr != nil {
		t.Fatalf("cast across a refused period: %v", castErr)
	}
	waitFor(t, 10*time.Second, "the cast", func() bool { return rec.count(1) == 1 })
}

// TestPreconditionFailedNamesTheOption: a queue already declared durable by
// another service makes Start fail with the option to align.
func TestPreconditionFailedNamesTheOption(t *testing.T) {
	t.Parallel()
	testenv.RequireRabbit(t)
	e := &env{kind: "rabbit", url: testenv.RabbitURL(), exchange: testenv.UniqueName("rpcsvc_x_"), topic: testenv.UniqueName("rpcsvc_t_"), reg: prometheus.NewPedanticRegistry()}
	t.Cleanup(func() { cleanupBroker(t, e) })
	withChannel(t, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclare(e.topic, true, false, false, false, nil)
		return err
	})
	tr := e.open(t)
	s, err := NewServer(tr, ServerConfig{Target: Target{Topic: e.topic, Server: "host1"}, Endpoints: []Endpoint{{Impl: &testEndpoint{rec: newRecorder()}}}})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(bg(t))
	if err == nil {
		_ = s.Stop(bg(t))
		t.Fatal("Start succeeded against a queue declared durable")
	}
	if !strings.Contains(err.Error(), "amqp_durable_queues") || !strings.Contains(err.Error(), e.topic) {
		t.Fatalf("error does not name the option and queue: %v", err)
	}
	// With the option aligned it starts.
	tr2 := e.open(t, func(o *Options) { o.DurableQueues = true; o.Registerer = nil })
	e.server(t, tr2, "host1", &testEndpoint{rec: newRecorder()})
}
