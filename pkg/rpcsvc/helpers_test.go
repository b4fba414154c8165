package rpcsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/memdriver"
	"github.com/gonova/gonova/pkg/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if err := testenv.DeleteRabbitVhosts(); err != nil {
			fmt.Fprintln(os.Stderr, "deleting test vhosts:", err)
		}
		os.Exit(code)
	}))
}

func testLogger() *slog.Logger {
	if os.Getenv("GONOVA_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// env is one transport under test with its own exchange and topic.
type env struct {
	kind     string // "memory" or "rabbit"
	url      string
	exchange string
	topic    string
	reg      *prometheus.Registry
}

// forEachTransport runs fn once on memory:// and once on rabbit://.
func forEachTransport(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		e := &env{kind: "memory", url: "memory://" + testenv.UniqueName("mem_"), exchange: testenv.UniqueName("rpcsvc_x_"), topic: testenv.UniqueName("rpcsvc_t_"), reg: prometheus.NewPedanticRegistry()}
		fn(t, e)
	})
	t.Run("rabbit", func(t *testing.T) {
		t.Parallel()
		testenv.RequireRabbit(t)
		e := &env{kind: "rabbit", url: testenv.RabbitURL(), exchange: testenv.UniqueName("rpcsvc_x_"), topic: testenv.UniqueName("rpcsvc_t_"), reg: prometheus.NewPedanticRegistry()}
		t.Cleanup(func() { cleanupBroker(t, e) })
		fn(t, e)
	})
}

func (e *env) options() Options {
	return Options{
		TransportURL:           e.url,
		ControlExchange:        e.exchange,
		ResponseTimeout:        10 * time.Second,
		ExecutorThreadPoolSize: 8,
		MaxDeliveryAttempts:    3,
		TransientQueuesTTL:     60 * time.Second,
		ReconnectMaxInterval:   200 * time.Millisecond,
		Logger:                 testLogger(),
		Registerer:             e.reg,
	}
}

func (e *env) open(t *testing.T, mod ...func(*Options)) *Transport {
	t.Helper()
	o := e.options()
	for _, f := range mod {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := Open(ctx, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", e.kind, err)
	}
	t.Cleanup(func() {
		if err := tr.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tr
}

func (e *env) server(t *testing.T, tr *Transport, host string, impl any) *Server {
	t.Helper()
	s, err := NewServer(tr, ServerConfig{
		Target:    Target{Topic: e.topic, Server: host},
		Endpoints: []Endpoint{{Version: "1.3", Impl: impl}, {Namespace: "baseapi", Version: "1.1", Impl: &baseAPI{}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return s
}

func (e *env) client(t *testing.T, tr *Transport, cfg ClientConfig) *Client {
	t.Helper()
	if cfg.Target.Topic == "" {
		cfg.Target.Topic = e.topic
	}
	c, err := NewClient(tr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// dlqDepth is the number of messages in the dead-letter queue of queue.
func (e *env) dlqDepth(t *testing.T, tr *Transport, queue string) int {
	t.Helper()
	if md, ok := tr.drv.(*memdriver.Driver); ok {
		return md.Len(queue + ".dlq")
	}
	var n int
	withChannel(t, func(ch *amqp.Channel) error {
		q, err := ch.QueueDeclarePassive(queue+".dlq", true, false, false, false, nil)
		if err != nil {
			return err
		}
		n = q.Messages
		return nil
	})
	return n
}

func withChannel(t *testing.T, fn func(ch *amqp.Channel) error) {
	t.Helper()
	conn, err := amqp.Dial(testenv.RabbitURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := fn(ch); err != nil {
		t.Fatal(err)
	}
}

// cleanupBroker deletes what the test declared on the shared broker.
func cleanupBroker(_ testing.TB, e *env) {
	conn, err := amqp.Dial(testenv.RabbitURL())
	if err != nil {
		return
	}
	defer conn.Close()
	del := func(f func(ch *amqp.Channel) error) {
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		defer ch.Close()
		_ = f(ch)
	}
	for _, q := range []string{e.topic, e.topic + ".dlq"} {
		del(func(ch *amqp.Channel) error { _, err := ch.QueueDelete(q, false, false, false); return err })
	}
	for _, h := range []string{"host1", "host2", "h"} {
		for _, q := range []string{e.topic + "." + h, e.topic + "." + h + ".dlq"} {
			del(func(ch *amqp.Channel) error { _, err := ch.QueueDelete(q, false, false, false); return err })
		}
	}
	del(func(ch *amqp.Channel) error { return ch.ExchangeDelete(e.exchange, false, false) })
}

// recorder collects what handlers saw.
type recorder struct {
	mu    sync.Mutex
	seen  map[int]int
	ctxs  []Context
	notes chan string
}

func newRecorder() *recorder { return &recorder{seen: map[int]int{}, notes: make(chan string, 1024)} }

func (r *recorder) count(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[n]
}

func (r *recorder) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := 0
	for _, c := range r.seen {
		s += c
	}
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// --- endpoints ---

type EchoArgs struct {
	Value int    `json:"value"`
	Text  string `json:"text"`
}

type RecordArgs struct {
	N int `json:"n"`
}

type SleepArgs struct {
	Millis int `json:"millis"`
}

type FailArgs struct {
	Retryable bool `json:"retryable"`
}

type peerError struct{ msg string }

func (e *peerError) Error() string                     { return e.msg }
func (e *peerError) OsloClass() (module, class string) { return "nova.exception", "InstanceNotFound" }

type testEndpoint struct {
	name string
	rec  *recorder
}

func (e *testEndpoint) Echo(_ context.Context, a EchoArgs) (EchoArgs, error) { return a, nil }

func (e *testEndpoint) Record(ctx context.Context, a RecordArgs) error {
	e.rec.mu.Lock()
	e.rec.seen[a.N]++
	if rc, ok := ContextFrom(ctx); ok {
		e.rec.ctxs = append(e.rec.ctxs, rc)
	}
	e.rec.mu.Unlock()
	select {
	case e.rec.notes <- e.name:
	default:
	}
	return nil
}

func (e *testEndpoint) Whoami(ctx context.Context) (Context, error) {
	rc, _ := ContextFrom(ctx)
	return rc, nil
}

func (e *testEndpoint) Sleep(ctx context.Context, a SleepArgs) (string, error) {
	select {
	case <-time.After(time.Duration(a.Millis) * time.Millisecond):
		return "slept", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (e *testEndpoint) Fail(_ context.Context, a FailArgs) error {
	err := &peerError{msg: "instance abc could not be found"}
	if a.Retryable {
		return Retryable(err)
	}
	return err
}

func (e *testEndpoint) Poison(_ context.Context, a RecordArgs) error {
	e.rec.mu.Lock()
	e.rec.seen[a.N]++
	e.rec.mu.Unlock()
	panic(fmt.Sprintf("poison %d", a.N))
}

func (e *testEndpoint) NotServed(x int) error { return errors.New("never") }

type baseAPI struct{}

type PingArgs struct {
	Arg string `json:"arg"`
}

func (b *baseAPI) Ping(_ context.Context, a PingArgs) (map[string]string, error) {
	return map[string]string{"service": "gonova", "arg": a.Arg}, nil
}
