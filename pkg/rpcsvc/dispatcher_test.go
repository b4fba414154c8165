package rpcsvc

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/rpcsvc/wire"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"Ping": "ping", "GetBackdoorPort": "get_backdoor_port", "GetInstanceID": "get_instance_id",
		"HTTPServer": "http_server", "V2Thing": "v2_thing", "A": "a",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

type onlyBad struct{}

func (onlyBad) Foo(x int) error { return nil }

type clash struct{}

func (clash) GetID(context.Context) error { return nil }
func (clash) GetId(context.Context) error { return nil }

type named struct{}

func (named) DoIt(context.Context) (int, error) { return 1, nil }

func TestBuildEndpointErrors(t *testing.T) {
	cases := []struct {
		ep   Endpoint
		want string
	}{
		{Endpoint{}, "has no Impl"},
		{Endpoint{Impl: onlyBad{}}, "serves no method"},
		{Endpoint{Impl: clash{}}, `both serve "get_id"`},
		{Endpoint{Impl: named{}, Version: "x"}, "not major.minor"},
		{Endpoint{Impl: named{}, Names: map[string]string{"go": "Missing"}}, "does not exist"},
		{Endpoint{Impl: &testEndpoint{}, Names: map[string]string{"x": "NotServed"}}, "no servable signature"},
	}
	for _, c := range cases {
		_, err := buildEndpoint(c.ep)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.ep, err, c.want)
		}
	}
	e, err := buildEndpoint(Endpoint{Impl: named{}, Names: map[string]string{"do_it_now": "DoIt"}})
	if err != nil || e.methods["do_it_now"] == nil || e.methods["do_it"] != nil {
		t.Fatalf("Names override: %v %v", e, err)
	}
}

func TestDispatchRules(t *testing.T) {
	d, err := newDispatcher([]Endpoint{
		{Version: "1.3", Impl: &testEndpoint{rec: newRecorder()}},
		{Namespace: "baseapi", Version: "1.1", Impl: &baseAPI{}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		req  wire.Request
		want error
	}{
		{wire.Request{Method: "echo"}, nil},
		{wire.Request{Method: "echo", Version: "1.3"}, nil},
		{wire.Request{Method: "echo", Version: "1.4"}, ErrUnsupportedVersion},
		{wire.Request{Method: "echo", Version: "0.9"}, ErrUnsupportedVersion},
		{wire.Request{Method: "ping", Namespace: "baseapi", Version: "1.0"}, nil},
		{wire.Request{Method: "ping"}, ErrNoSuchMethod},
		{wire.Request{Method: "echo", Namespace: "baseapi"}, ErrNoSuchMethod},
		{wire.Request{Method: "_echo"}, ErrNoSuchMethod},
		{wire.Request{Method: "x", Namespace: "nope"}, ErrUnsupportedVersion},
	}
	for _, c := range cases {
		_, err := d.lookup(&c.req)
		if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Errorf("lookup(%+v) = %v, want %v", c.req, err, c.want)
		}
	}
	// The failure a Python caller gets for NoSuchMethod is oslo's.
	_, err = d.lookup(&wire.Request{Method: "nope"})
	f := failureOf(err, nil)
	if f.Class != "NoSuchMethod" || f.Module != "oslo_messaging.rpc.dispatcher" || string(f.Args) != `["nope"]` || f.Message != "Endpoint does not support RPC method nope" {
		t.Fatalf("NoSuchMethod failure %+v", f)
	}
}

func TestInvokeArgsResultsAndPanics(t *testing.T) {
	d, err := newDispatcher([]Endpoint{{Version: "1.3", Impl: &testEndpoint{rec: newRecorder()}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func(method, args string) (json.RawMessage, error) {
		req := &wire.Request{Method: method, Args: json.RawMessage(args)}
		m, err := d.lookup(req)
		if err != nil {
			t.Fatal(err)
		}
		return d.invoke(ctx, m, req)
	}
	res, err := run("echo", `{"value": 3, "text": "t", "extra": true}`)
	if err != nil || string(res) != `{"value":3,"text":"t"}` {
		t.Fatalf("echo: %s %v", res, err)
	}
	_, err = run("echo", `{"value": "three"}`)
	var ba *badArgs
	if !errors.As(err, &ba) || !strings.Contains(err.Error(), "echo()") {
		t.Fatalf("bad args: %v", err)
	}
	if m, c := failureOf(err, nil).Module, failureOf(err, nil).Class; m != "builtins" || c != "TypeError" {
		t.Fatalf("bad args class %s.%s", m, c)
	}
	_, err = run("poison", `{"n": 1}`)
	var pe *panicError
	if !errors.As(err, &pe) || len(pe.stack) == 0 || !strings.Contains(err.Error(), "poison 1") {
		t.Fatalf("panic: %v", err)
	}
	res, err = run("record", `{"n": 1}`)
	if err != nil || string(res) != "null" {
		t.Fatalf("no-result method: %s %v", res, err)
	}
}

func TestGoErrorClass(t *testing.T) {
	f := failureOf(errors.New("plain"), nil)
	if f.Module != "errors" || f.Class != "errorString" || f.Message != "plain" {
		t.Fatalf("plain error failure %+v", f)
	}
	// A RemoteError passed on keeps its identity.
	f = failureOf(&RemoteError{Class: "Boom", Module: "m", Message: "x", Traceback: []string{"a"}}, []string{"b"})
	if f.Class != "Boom" || f.Module != "m" || len(f.Traceback) != 2 {
		t.Fatalf("relayed remote error %+v", f)
	}
}

func TestContextWireRoundTrip(t *testing.T) {
	rc := Context{RequestID: "r", Roles: []string{"a"}, IsAdmin: true, Extra: map[string]json.RawMessage{"auth_token": json.RawMessage(`"tok"`)}}
	m := rc.toWire(context.Background())
	if string(m["user_id"]) != "null" || string(m["roles"]) != `["a"]` || string(m["is_admin"]) != "true" {
		t.Fatalf("wire context %v", m)
	}
	back := contextFromWire(m)
	if back.RequestID != "r" || !back.IsAdmin || string(back.Extra["auth_token"]) != `"tok"` || back.UserID != "" {
		t.Fatalf("round trip %+v", back)
	}
	// Wrong types are kept, not lost.
	back = contextFromWire(map[string]json.RawMessage{"is_admin": json.RawMessage(`"yes"`)})
	if back.IsAdmin || string(back.Extra["is_admin"]) != `"yes"` {
		t.Fatalf("wrong-typed is_admin %+v", back)
	}
}

func TestOptionsValidation(t *testing.T) {
	if _, err := (Options{}).withDefaults(); err == nil || !strings.Contains(err.Error(), "transport_url") {
		t.Fatalf("empty options: %v", err)
	}
	if _, err := (Options{TransportURL: "memory://", ExecutorThreadPoolSize: -1}).withDefaults(); err == nil || !strings.Contains(err.Error(), "executor_thread_pool_size") {
		t.Fatalf("negative pool: %v", err)
	}
	o, err := (Options{TransportURL: "memory://"}).withDefaults()
	if err != nil || o.ControlExchange != "nova" || o.ExecutorThreadPoolSize != 64 || o.prefetch() != 64 {
		t.Fatalf("defaults %+v %v", o, err)
	}
}

func TestDedupBounded(t *testing.T) {
	d := newDedup(3)
	for _, k := range []string{"a", "b", "c", "d"} {
		if dup, wait := d.begin(k); dup || wait != nil {
			t.Fatalf("fresh %s: dup=%v wait=%v", k, dup, wait)
		}
		d.finish(k, true)
	}
	if d.len() != 3 {
		t.Fatalf("len %d, want 3", d.len())
	}
	if dup, _ := d.begin("d"); !dup {
		t.Fatal("d not remembered")
	}
	if dup, _ := d.begin("a"); dup {
		t.Fatal("a should have been evicted")
	}
	// A running entry makes later deliveries wait, and a failure counts.
	_, wait := d.begin("a")
	if wait == nil {
		t.Fatal("second delivery of a running message did not wait")
	}
	if n := d.finish("a", false); n != 1 {
		t.Fatalf("attempts %d", n)
	}
	<-wait
	if dup, wait := d.begin("a"); dup || wait != nil {
		t.Fatal("a failed message must run again")
	}
}
