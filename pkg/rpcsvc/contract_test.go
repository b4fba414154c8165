package rpcsvc

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gonova/gonova/pkg/rpcsvc/internal/driver"
	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestContractCallAndContext(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		e.server(t, tr, "host1", &testEndpoint{rec: newRecorder()})
		cl := e.client(t, tr, ClientConfig{Target: Target{Version: "1.2"}})
		ctx := bg(t)

		var out EchoArgs
		if err := cl.Call(ctx, "echo", EchoArgs{Value: 42, Text: "hé <&>"}, &out); err != nil {
			t.Fatal(err)
		}
		if out.Value != 42 || out.Text != "hé <&>" {
			t.Fatalf("echo returned %+v", out)
		}

		rc := Context{RequestID: "req-1", GlobalRequestID: "req-g", UserID: "u", ProjectID: "p", Roles: []string{"admin", "reader"}, IsAdmin: true,
			TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			Extra:       map[string]json.RawMessage{"user_name": json.RawMessage(`"alice"`)}}
		var got Context
		if err := cl.Prepare(CallOptions{Server: "host1"}).Call(NewContext(ctx, rc), "whoami", nil, &got); err != nil {
			t.Fatal(err)
		}
		if got.RequestID != rc.RequestID || got.GlobalRequestID != "req-g" || got.UserID != "u" || got.ProjectID != "p" || !got.IsAdmin ||
			len(got.Roles) != 2 || got.TraceParent != rc.TraceParent || string(got.Extra["user_name"]) != `"alice"` {
			t.Fatalf("handler saw context %+v", got)
		}

		var ping map[string]string
		if err := cl.Prepare(CallOptions{Namespace: "baseapi", Version: "1.1"}).Call(ctx, "ping", PingArgs{Arg: "x"}, &ping); err != nil || ping["arg"] != "x" {
			t.Fatalf("baseapi ping: %v %v", ping, err)
		}
		if v := testutil.ToFloat64(tr.metrics.handled.WithLabelValues("echo", "success")); v != 1 {
			t.Fatalf("handled{echo,success} = %v", v)
		}
	})
}

func TestContractCastTargetsAndFanout(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		rec1, rec2 := newRecorder(), newRecorder()
		e.server(t, tr, "host1", &testEndpoint{name: "host1", rec: rec1})
		e.server(t, tr, "host2", &testEndpoint{name: "host2", rec: rec2})
		cl := e.client(t, tr, ClientConfig{})
		ctx := NewContext(bg(t), Context{RequestID: "req-cast"})

		// Server-targeted: only host2.
		if err := cl.Prepare(CallOptions{Server: "host2"}).Cast(ctx, "record", RecordArgs{N: 1}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "targeted cast", func() bool { return rec2.count(1) == 1 })
		// Topic: exactly one of them, each of 20 casts.
		for i := 100; i < 120; i++ {
			if err := cl.Cast(ctx, "record", RecordArgs{N: i}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 5*time.Second, "topic casts", func() bool { return rec1.total()+rec2.total() == 21 })
		for i := 100; i < 120; i++ {
			if rec1.count(i)+rec2.count(i) != 1 {
				t.Fatalf("cast %d delivered %d+%d times", i, rec1.count(i), rec2.count(i))
			}
		}
		// Fanout: both.
		if err := cl.Prepare(CallOptions{Fanout: true}).Cast(ctx, "record", RecordArgs{N: 7}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "fanout cast on both servers", func() bool { return rec1.count(7) == 1 && rec2.count(7) == 1 })
		if rec1.count(1) != 0 {
			t.Fatal("a cast to host2 reached host1")
		}
		rec2.mu.Lock()
		defer rec2.mu.Unlock()
		if rec2.ctxs[0].RequestID != "req-cast" {
			t.Fatalf("cast context %+v", rec2.ctxs[0])
		}
		if err := cl.Prepare(CallOptions{Fanout: true}).Call(ctx, "echo", nil, nil); err == nil {
			t.Fatal("a fanout call was accepted")
		}
	})
}

func TestContractRemoteErrors(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		e.server(t, tr, "host1", &testEndpoint{rec: newRecorder()})
		cl := e.client(t, tr, ClientConfig{})
		ctx := bg(t)

		err := cl.Call(ctx, "fail", FailArgs{}, nil)
		var rerr *RemoteError
		if !errors.As(err, &rerr) {
			t.Fatalf("fail returned %T %v, want *RemoteError", err, err)
		}
		if rerr.Class != "InstanceNotFound" || rerr.Module != "nova.exception" || rerr.Message != "instance abc could not be found" || string(rerr.Args) != `["instance abc could not be found"]` {
			t.Fatalf("remote error %+v", rerr)
		}

		cases := []struct {
			cl     *Client
			method string
			args   any
			class  string
			is     error
		}{
			{cl, "no_such", nil, "NoSuchMethod", ErrNoSuchMethod},
			{cl, "_private", nil, "NoSuchMethod", ErrNoSuchMethod},
			{cl, "not_served", nil, "NoSuchMethod", ErrNoSuchMethod},
			{cl.Prepare(CallOptions{Version: "1.4"}), "echo", nil, "UnsupportedVersion", ErrUnsupportedVersion},
			{cl.Prepare(CallOptions{Version: "2.0"}), "echo", nil, "UnsupportedVersion", ErrUnsupportedVersion},
			{cl.Prepare(CallOptions{Namespace: "other"}), "echo", nil, "UnsupportedVersion", ErrUnsupportedVersion},
			{cl, "echo", map[string]any{"value": "not a number"}, "TypeError", nil},
		}
		for _, c := range cases {
			err := c.cl.Call(ctx, c.method, c.args, nil)
			if !errors.As(err, &rerr) || rerr.Class != c.class {
				t.Errorf("%s (%s): got %v, want remote %s", c.method, c.cl.Target(), err, c.class)
				continue
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("%s: errors.Is(%v, %v) is false", c.method, err, c.is)
			}
		}
		if v := testutil.ToFloat64(tr.metrics.handled.WithLabelValues(unknownMethod, "rejected")); v != 3 {
			t.Errorf("handled{unknown,rejected} = %v, want 3 (no_such, _private, not_served)", v)
		}
		if v := testutil.ToFloat64(tr.metrics.handled.WithLabelValues("echo", "rejected")); v != 4 {
			t.Errorf("handled{echo,rejected} = %v, want 4 (three versions, bad args)", v)
		}
	})
}

func TestContractTimeout(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		e.server(t, tr, "host1", &testEndpoint{rec: newRecorder()})
		cl := e.client(t, tr, ClientConfig{Timeout: 300 * time.Millisecond})
		start := time.Now()
		err := cl.Call(bg(t), "sleep", SleepArgs{Millis: 2000}, nil)
		var te *TimeoutError
		if !errors.As(err, &te) || !errors.Is(err, ErrTimeout) || te.Method != "sleep" {
			t.Fatalf("got %v, want a *TimeoutError", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Fatalf("timeout took %s", el)
		}
		// Nobody listens on this server: the call times out too.
		err = cl.Prepare(CallOptions{Server: "nobody"}).Call(bg(t), "echo", nil, nil)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("call to an absent server: %v", err)
		}
		// A cancelled context ends the wait with its own error.
		ctx, cancel := context.WithCancel(bg(t))
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		err = cl.Prepare(CallOptions{Timeout: 5 * time.Second}).Call(ctx, "sleep", SleepArgs{Millis: 2000}, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v", err)
		}
	})
}

func TestContractVersionCap(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		cl := e.client(t, tr, ClientConfig{Target: Target{Version: "1.4"}, VersionCap: "1.3"})
		if err := cl.Cast(bg(t), "record", nil); !errors.Is(err, ErrVersionCap) {
			t.Fatalf("cast above the cap: %v", err)
		}
		if !cl.CanSendVersion("1.3") || cl.CanSendVersion("1.4") || cl.CanSendVersion("2.0") || !cl.CanSendVersion("0.9") {
			t.Fatal("CanSendVersion disagrees with the cap 1.3")
		}
	})
}

// TestContractDedup publishes one request body twice (as a publish retried
// after a lost confirm would): the handler runs once.
func TestContractDedup(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		rec := newRecorder()
		e.server(t, tr, "host1", &testEndpoint{rec: rec})
		body, err := wire.EncodeRequest(&wire.Request{Method: "record", Args: json.RawMessage(`{"n":5}`), UniqueID: hexUUID()})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if err := tr.drv.Publish(bg(t), driver.Publishing{Exchange: e.exchange, RoutingKey: e.topic, Body: body}); err != nil {
				t.Fatal(err)
			}
		}
		// A different message after the copies proves they were all consumed.
		cl := e.client(t, tr, ClientConfig{})
		if err := cl.Cast(bg(t), "record", RecordArgs{N: 6}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the marker cast", func() bool { return rec.count(6) == 1 })
		waitFor(t, 2*time.Second, "two duplicates counted", func() bool {
			return testutil.ToFloat64(tr.metrics.handled.WithLabelValues("record", "duplicate")) == 2
		})
		if rec.count(5) != 1 {
			t.Fatalf("a message published 3 times ran %d times", rec.count(5))
		}
	})
}

// TestContractPoisonGoesToDLQ: a cast whose handler panics is tried
// MaxDeliveryAttempts times and dead-lettered; undecodable bodies are
// dead-lettered at once; the server keeps serving.
func TestContractPoisonGoesToDLQ(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		rec := newRecorder()
		e.server(t, tr, "host1", &testEndpoint{rec: rec})
		cl := e.client(t, tr, ClientConfig{})
		ctx := bg(t)
		if err := cl.Cast(ctx, "poison", RecordArgs{N: 9}); err != nil {
			t.Fatal(err)
		}
		if err := cl.Cast(ctx, "fail", FailArgs{Retryable: true}); err != nil {
			t.Fatal(err)
		}
		for _, junk := range []string{`not json`, `{"oslo.version":"2.0","oslo.message":"{\"args\":{}}"}`} {
			if err := tr.drv.Publish(ctx, driver.Publishing{Exchange: e.exchange, RoutingKey: e.topic, Body: []byte(junk)}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, 10*time.Second, "4 dead letters", func() bool { return e.dlqDepth(t, tr, e.topic) == 4 })
		if n := rec.count(9); n != 3 {
			t.Fatalf("poison ran %d times, want MaxDeliveryAttempts = 3", n)
		}
		if v := testutil.ToFloat64(tr.metrics.handled.WithLabelValues("poison", "retried")); v != 2 {
			t.Fatalf("handled{poison,retried} = %v, want 2", v)
		}
		if v := testutil.ToFloat64(tr.metrics.handled.WithLabelValues(unknownMethod, "dead_lettered")); v != 2 {
			t.Fatalf("handled{unknown,dead_lettered} = %v, want 2", v)
		}
		var out EchoArgs
		if err := cl.Call(ctx, "echo", EchoArgs{Value: 1}, &out); err != nil || out.Value != 1 {
			t.Fatalf("server stopped serving after poison: %v", err)
		}
		// Non-retryable cast errors are dropped (oslo), not dead-lettered.
		if err := cl.Cast(ctx, "fail", FailArgs{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "the failed cast", func() bool {
			return testutil.ToFloat64(tr.metrics.handled.WithLabelValues("fail", "failure")) == 1
		})
		if d := e.dlqDepth(t, tr, e.topic); d != 4 {
			t.Fatalf("dlq depth %d after a plain failure, want 4", d)
		}
	})
}

// TestContractKeepAlive: a call with an integer _timeout gets keep-alive
// replies every _timeout/2 while the handler runs, then the result.
func TestContractKeepAlive(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		e.server(t, tr, "host1", &testEndpoint{rec: newRecorder()})
		replyQ := "reply_" + hexUUID()
		replies := make(chan *wire.Reply, 8)
		c, err := tr.drv.Consume(bg(t), driver.ConsumeSpec{
			Queues: []driver.Queue{{Name: replyQ, Kind: driver.Reply}}, Prefetch: 8,
			Handle: func(d driver.Delivery) {
				r, err := wire.DecodeReply(d.Body)
				if err != nil {
					t.Errorf("reply: %v", err)
				}
				_ = d.Ack()
				replies <- r
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		n := json.Number("1")
		body, _ := wire.EncodeRequest(&wire.Request{Method: "sleep", Args: json.RawMessage(`{"millis":1300}`), UniqueID: hexUUID(), MsgID: "m1", ReplyQ: replyQ, Timeout: &n})
		if err := tr.drv.Publish(bg(t), driver.Publishing{Exchange: e.exchange, RoutingKey: e.topic, Body: body}); err != nil {
			t.Fatal(err)
		}
		var keepAlives int
		for {
			select {
			case r := <-replies:
				if r.IsKeepAlive() {
					keepAlives++
					continue
				}
				if string(r.Result) != `"slept"` || !r.Ending || r.MsgID != "m1" {
					t.Fatalf("final reply %+v", r)
				}
				if keepAlives < 2 {
					t.Fatalf("%d keep-alives for a 1.3 s call with _timeout 1, want >= 2", keepAlives)
				}
				return
			case <-time.After(5 * time.Second):
				t.Fatal("no final reply")
			}
		}
	})
}

// TestContractGracefulStop: Stop lets a running handler finish and its
// message is acknowledged, not redelivered.
func TestContractGracefulStop(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		s, err := NewServer(tr, ServerConfig{Target: Target{Topic: e.topic, Server: "host1"}, Endpoints: []Endpoint{{Version: "1.3", Impl: &testEndpoint{rec: newRecorder()}}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(bg(t)); err != nil {
			t.Fatal(err)
		}
		cl := e.client(t, tr, ClientConfig{})
		res := make(chan error, 1)
		go func() {
			var out string
			err := cl.Call(bg(t), "sleep", SleepArgs{Millis: 400}, &out)
			if err == nil && out != "slept" {
				err = errors.New("wrong result " + out)
			}
			res <- err
		}()
		waitFor(t, 5*time.Second, "the handler to start", func() bool { return testutil.ToFloat64(tr.metrics.inflight) == 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Fatalf("Stop: %v", err)
		}
		if err := <-res; err != nil {
			t.Fatalf("in-flight call during Stop: %v", err)
		}
		if err := s.Stop(ctx); err != nil {
			t.Fatalf("second Stop: %v", err)
		}
		// The stopped server no longer consumes.
		err = cl.Prepare(CallOptions{Timeout: 300 * time.Millisecond}).Call(bg(t), "echo", nil, nil)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("call to a stopped server: %v", err)
		}
	})
}

func TestContractConcurrentHandlers(t *testing.T) {
	forEachTransport(t, func(t *testing.T, e *env) {
		tr := e.open(t)
		e.server(t, tr, "host1", &testEndpoint{rec: newRecorder()})
		cl := e.client(t, tr, ClientConfig{})
		// 8 calls of 300 ms on a pool of 8 take ~300 ms, not 2.4 s.
		start := time.Now()
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			go func() { errs <- cl.Call(bg(t), "sleep", SleepArgs{Millis: 300}, nil) }()
		}
		for i := 0; i < 8; i++ {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if el := time.Since(start); el > 1500*time.Millisecond {
			t.Fatalf("8 concurrent 300 ms calls took %s: handlers did not run concurrently", el)
		}
	})
}
