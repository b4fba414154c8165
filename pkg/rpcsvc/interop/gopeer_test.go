package interop

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

	"go.uber.org/goleak"

	"github.com/gonova/gonova/pkg/rpcsvc"
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

// testExchange is this package's control exchange for the whole run; topics
// are unique per test.
var testExchange = testenv.UniqueName("gonova_interop_")

// seen is one message a Go handler received.
type seen struct {
	Server  string
	N       int
	Context rpcsvc.Context
}

// goEndpoint mirrors pyserver.py's TestEndpoint, in Go.
type goEndpoint struct {
	server   string
	contexts chan seen // whoami calls
	records  chan seen // record casts

	mu    sync.Mutex
	count int
	first time.Time
	last  time.Time
	cond  chan struct{} // closed and replaced at every bench_cast
}

func newGoEndpoint(server string) *goEndpoint {
	return &goEndpoint{
		server:   server,
		contexts: make(chan seen, 1000),
		records:  make(chan seen, 100_000),
		cond:     make(chan struct{}),
	}
}

type addArgs struct {
	A int `json:"a"`
	B int `json:"b"`
}

// Add serves add(a, b).
func (e *goEndpoint) Add(_ context.Context, a addArgs) (int, error) { return a.A + a.B, nil }

// Echo serves echo(**kw) and returns its args.
func (e *goEndpoint) Echo(_ context.Context, kw map[string]any) (map[string]any, error) {
	return kw, nil
}

type messageArgs struct {
	Message string `json:"message"`
}

// interopError is a plain Go error type: its class on the wire is derived
// from the Go type.
type interopError struct{ msg string }

func (e *interopError) Error() string { return e.msg }

// Fail serves fail(message) with a plain Go error.
func (e *goEndpoint) Fail(_ context.Context, a messageArgs) error {
	return &interopError{msg: a.Message}
}

// valueError names the Python exception a Python caller should rebuild.
type valueError struct{ msg string }

func (e valueError) Error() string                     { return e.msg }
func (e valueError) OsloClass() (module, class string) { return "builtins", "ValueError" }

// FailValue serves fail_value(message) with an error classified as Python's
// ValueError.
func (e *goEndpoint) FailValue(_ context.Context, a messageArgs) error {
	return valueError{msg: a.Message}
}

// Whoami serves whoami() and returns the request context as received.
func (e *goEndpoint) Whoami(ctx context.Context) (map[string]any, error) {
	rc, ok := rpcsvc.ContextFrom(ctx)
	if !ok {
		return nil, errors.New("no request context in the handler's ctx")
	}
	e.contexts <- seen{Server: e.server, Context: rc}
	return map[string]any{
		"request_id": rc.RequestID, "global_request_id": rc.GlobalRequestID,
		"user_id": rc.UserID, "project_id": rc.ProjectID, "roles": rc.Roles, "is_admin": rc.IsAdmin,
	}, nil
}

type recordArgs struct {
	N int `json:"n"`
}

// Record serves the cast record(n).
func (e *goEndpoint) Record(ctx context.Context, a recordArgs) error {
	rc, _ := rpcsvc.ContextFrom(ctx)
	e.records <- seen{Server: e.server, N: a.N, Context: rc}
	return nil
}

// BenchReset, BenchCast and BenchWait are pyclient.py's bench protocol, so
// that a Python client can measure a Go server.
func (e *goEndpoint) BenchReset(context.Context) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.count, e.first, e.last = 0, time.Time{}, time.Time{}
	return true, nil
}

type benchCastArgs struct {
	I int `json:"i"`
}

// BenchCast counts one cast.
func (e *goEndpoint) BenchCast(context.Context, benchCastArgs) error {
	now := time.Now()
	e.mu.Lock()
	if e.count == 0 {
		e.first = now
	}
	e.count++
	e.last = now
	close(e.cond)
	e.cond = make(chan struct{})
	e.mu.Unlock()
	return nil
}

type benchWaitArgs struct {
	N       int     `json:"n"`
	Timeout float64 `json:"timeout"`
}

type benchWaitResult struct {
	Count       int     `json:"count"`
	SpanSeconds float64 `json:"span_seconds"`
}

// BenchWait returns once n casts were counted, or after timeout seconds.
func (e *goEndpoint) BenchWait(ctx context.Context, a benchWaitArgs) (benchWaitResult, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(a.Timeout*float64(time.Second)))
	defer cancel()
	for {
		e.mu.Lock()
		count, first, last, cond := e.count, e.first, e.last, e.cond
		e.mu.Unlock()
		if count >= a.N {
			return benchWaitResult{Count: count, SpanSeconds: last.Sub(first).Seconds()}, nil
		}
		select {
		case <-cond:
		case <-ctx.Done():
			return benchWaitResult{Count: count, SpanSeconds: last.Sub(first).Seconds()}, nil
		}
	}
}

// waitCount waits, bounded by ctx, until at least n casts were counted.
func (e *goEndpoint) waitCount(ctx context.Context, n int) (int, error) {
	for {
		e.mu.Lock()
		count, cond := e.count, e.cond
		e.mu.Unlock()
		if count >= n {
			return count, nil
		}
		select {
		case <-cond:
		case <-ctx.Done():
			return count, ctx.Err()
		}
	}
}

// goBaseAPI mirrors pyserver.py's BaseAPI (namespace baseapi, version 1.1).
type goBaseAPI struct{ server string }

type pingArgs struct {
	Arg string `json:"arg"`
}

// Ping serves baseapi's ping(arg).
func (b *goBaseAPI) Ping(_ context.Context, a pingArgs) (map[string]string, error) {
	return map[string]string{"service": "gonova", "arg": a.Arg, "server": b.server}, nil
}

// optsForTests are the transport options of the interop tests: oslo's
// defaults, as a Python peer has them.
func optsForTests() rpcsvc.Options { return rpcsvc.Options{} }

// quietLogger drops rpcsvc's logs unless the test is verbose about them.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// openTransport opens a rabbit transport on the test broker, closed at test
// end.
func openTransport(tb testing.TB, opts rpcsvc.Options) *rpcsvc.Transport {
	tb.Helper()
	testenv.RequireRabbit(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if opts.TransportURL == "" {
		opts.TransportURL = testenv.RabbitURL()
	}
	if opts.ControlExchange == "" {
		opts.ControlExchange = testExchange
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	tr, err := rpcsvc.Open(ctx, opts)
	if err != nil {
		tb.Fatalf("rpcsvc.Open: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := tr.Close(ctx); err != nil {
			tb.Errorf("closing transport: %v", err)
		}
	})
	return tr
}

// startGoServer serves goEndpoint and goBaseAPI on topic/server over tr, and
// stops the server at test end (before tr closes: cleanups run in reverse).
func startGoServer(tb testing.TB, tr *rpcsvc.Transport, topic, server string) *goEndpoint {
	tb.Helper()
	ep := newGoEndpoint(server)
	srv, err := rpcsvc.NewServer(tr, rpcsvc.ServerConfig{
		Target: rpcsvc.Target{Topic: topic, Server: server},
		Endpoints: []rpcsvc.Endpoint{
			{Version: "1.3", Impl: ep},
			{Namespace: "baseapi", Version: "1.1", Impl: &goBaseAPI{server: server}},
		},
	})
	if err != nil {
		tb.Fatalf("NewServer: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			tb.Errorf("stopping server %s: %v", server, err)
		}
	})
	return ep
}

// newClient is a Go client for topic over tr.
func newClient(tb testing.TB, tr *rpcsvc.Transport, topic string) *rpcsvc.Client {
	tb.Helper()
	cl, err := rpcsvc.NewClient(tr, rpcsvc.ClientConfig{Target: rpcsvc.Target{Topic: topic}, Timeout: 30 * time.Second})
	if err != nil {
		tb.Fatalf("NewClient: %v", err)
	}
	return cl
}

// collect reads n values from ch, failing after d.
func collect(tb testing.TB, ch <-chan seen, n int, d time.Duration) []seen {
	tb.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	out := make([]seen, 0, n)
	for len(out) < n {
		select {
		case s := <-ch:
			out = append(out, s)
		case <-timer.C:
			tb.Fatalf("received %d of %d messages within %v", len(out), n, d)
		}
	}
	return out
}

// quiet asserts that nothing more arrives on ch for d: no duplicates.
func quiet(tb testing.TB, ch <-chan seen, d time.Duration) {
	tb.Helper()
	select {
	case s := <-ch:
		tb.Fatalf("unexpected extra message %+v (a duplicate?)", s)
	case <-time.After(d):
	}
}
