package interop

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/testenv"
)

// A Go client calls a Python oslo.messaging server.
func TestGoCallsPython(t *testing.T) {
	testenv.RequirePythonOslo(t)
	topic := testenv.UniqueName("go2py_call_")
	ps := startPyServer(t, testExchange, topic, "pyhost1")
	tr := openTransport(t, optsForTests())
	cl := newClient(t, tr, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("add", func(t *testing.T) {
		var sum int
		if err := cl.Prepare(rpcsvc.CallOptions{Server: "pyhost1"}).Call(ctx, "add", addArgs{A: 40, B: 2}, &sum); err != nil {
			t.Fatal(err)
		}
		if sum != 42 {
			t.Fatalf("add(40, 2) on Python = %d", sum)
		}
	})

	t.Run("echo nested args without server", func(t *testing.T) {
		args := map[string]any{"s": "héllo", "n": 1.5, "l": []any{1.0, "two", nil}, "m": map[string]any{"k": true}}
		var got map[string]any
		if err := cl.Call(ctx, "echo", args, &got); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(args)
		have, _ := json.Marshal(got)
		if string(want) != string(have) {
			t.Fatalf("Python echo returned %s, want %s", have, want)
		}
	})

	t.Run("request context", func(t *testing.T) {
		rctx := rpcsvc.NewContext(ctx, rpcsvc.Context{
			RequestID: "req-go-1", GlobalRequestID: "req-global-2", UserID: "u2", ProjectID: "p2",
			Roles: []string{"reader"}, IsAdmin: true,
			Extra: map[string]json.RawMessage{"user_name": json.RawMessage(`"bob"`)},
		})
		var got map[string]any
		if err := cl.Call(rctx, "whoami", nil, &got); err != nil {
			t.Fatal(err)
		}
		ev := ps.nextEvent(t, "context", 10*time.Second)
		for _, c := range []map[string]any{got, ev.Context} {
			if c["request_id"] != "req-go-1" || c["global_request_id"] != "req-global-2" || c["user_id"] != "u2" ||
				c["project_id"] != "p2" || c["is_admin"] != true || c["user_name"] != "bob" {
				t.Fatalf("Python server saw context %v", c)
			}
			roles, _ := c["roles"].([]any)
			if len(roles) != 1 || roles[0] != "reader" {
				t.Fatalf("Python server saw roles %v", c["roles"])
			}
		}
	})

	t.Run("baseapi namespace", func(t *testing.T) {
		var got map[string]string
		err := cl.Prepare(rpcsvc.CallOptions{Server: "pyhost1", Namespace: "baseapi", Version: "1.1"}).
			Call(ctx, "ping", pingArgs{Arg: "y"}, &got)
		if err != nil {
			t.Fatal(err)
		}
		if got["service"] != "pypeer" || got["arg"] != "y" || got["server"] != "pyhost1" {
			t.Fatalf("Python baseapi ping = %v", got)
		}
	})

	t.Run("Python exception is a typed RemoteError", func(t *testing.T) {
		err := cl.Call(ctx, "fail", messageArgs{Message: "no valid host"}, nil)
		var rerr *rpcsvc.RemoteError
		if !errors.As(err, &rerr) {
			t.Fatalf("err = %v (%T), want *rpcsvc.RemoteError", err, err)
		}
		if rerr.Class != "ValueError" || rerr.Module != "builtins" || rerr.Message != "no valid host" {
			t.Fatalf("RemoteError class %q module %q message %q", rerr.Class, rerr.Module, rerr.Message)
		}
		tb := strings.Join(rerr.Traceback, "")
		if !strings.Contains(tb, "Traceback (most recent call last)") || !strings.Contains(tb, "raise ValueError(message)") {
			t.Fatalf("traceback does not show the Python raise:\n%s", tb)
		}
		if string(rerr.Args) != `["no valid host"]` {
			t.Fatalf("args = %s", rerr.Args)
		}
	})

	t.Run("custom Python exception keeps module and kwargs", func(t *testing.T) {
		err := cl.Call(ctx, "fail_custom", map[string]any{"message": "quota", "code": 413}, nil)
		var rerr *rpcsvc.RemoteError
		if !errors.As(err, &rerr) {
			t.Fatalf("err = %v, want *rpcsvc.RemoteError", err)
		}
		if rerr.Class != "PeerError" || rerr.Module != "__main__" || rerr.Message != "quota" {
			t.Fatalf("RemoteError class %q module %q message %q", rerr.Class, rerr.Module, rerr.Message)
		}
		var kw map[string]int
		if err := json.Unmarshal(rerr.Kwargs, &kw); err != nil || kw["code"] != 413 {
			t.Fatalf("kwargs = %s (%v)", rerr.Kwargs, err)
		}
	})

	t.Run("NoSuchMethod and UnsupportedVersion from Python", func(t *testing.T) {
		err := cl.Call(ctx, "no_such_thing", nil, nil)
		if !errors.Is(err, rpcsvc.ErrNoSuchMethod) {
			t.Fatalf("unknown method on Python: err = %v, want ErrNoSuchMethod", err)
		}
		err = cl.Prepare(rpcsvc.CallOptions{Version: "2.0"}).Call(ctx, "add", addArgs{A: 1, B: 1}, nil)
		if !errors.Is(err, rpcsvc.ErrUnsupportedVersion) {
			t.Fatalf("version 2.0 on Python: err = %v, want ErrUnsupportedVersion", err)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		err := cl.Prepare(rpcsvc.CallOptions{Timeout: time.Second}).Call(ctx, "sleep", map[string]float64{"seconds": 3}, nil)
		var terr *rpcsvc.TimeoutError
		if !errors.As(err, &terr) || !errors.Is(err, rpcsvc.ErrTimeout) {
			t.Fatalf("err = %v, want *rpcsvc.TimeoutError", err)
		}
		if el := time.Since(start); el < time.Second || el > 2500*time.Millisecond {
			t.Fatalf("timed out after %v, want about 1s", el)
		}
		// The late reply is dropped, and the client keeps working.
		var sum int
		if err := cl.Call(ctx, "add", addArgs{A: 2, B: 2}, &sum); err != nil || sum != 4 {
			t.Fatalf("call after a timeout: %d, %v", sum, err)
		}
	})
}

// A Go client casts to Python servers: to one, and fanout to two.
func TestGoCastsToPython(t *testing.T) {
	testenv.RequirePythonOslo(t)
	topic := testenv.UniqueName("go2py_cast_")
	ps1 := startPyServer(t, testExchange, topic, "pyhost1")
	ps2 := startPyServer(t, testExchange, topic, "pyhost2")
	tr := openTransport(t, optsForTests())
	cl := newClient(t, tr, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 50

	recv := func(t *testing.T, ps *pyServer, n int) []pyEvent {
		t.Helper()
		out := make([]pyEvent, 0, n)
		for len(out) < n {
			out = append(out, ps.nextEvent(t, "record", 30*time.Second))
		}
		return out
	}
	exactlyOnce := func(t *testing.T, evs []pyEvent, n int) {
		t.Helper()
		ns := make([]int, 0, len(evs))
		for _, ev := range evs {
			ns = append(ns, ev.N)
		}
		slices.Sort(ns)
		for i, v := range ns {
			if v != i {
				t.Fatalf("Python received records %v, want each of 0..%d once", ns, n-1)
			}
		}
	}
	noMore := func(t *testing.T, ps *pyServer, d time.Duration) {
		t.Helper()
		select {
		case ev, ok := <-ps.Events:
			if ok {
				t.Fatalf("unexpected extra event on %s: %+v", ps.Server, ev)
			}
		case <-time.After(d):
		}
	}

	t.Run("to one server, exactly once, with context", func(t *testing.T) {
		rctx := rpcsvc.NewContext(ctx, rpcsvc.Context{RequestID: "req-go-cast", UserID: "u3"})
		one := cl.Prepare(rpcsvc.CallOptions{Server: "pyhost2"})
		for i := range n {
			if err := one.Cast(rctx, "record", recordArgs{N: i}); err != nil {
				t.Fatal(err)
			}
		}
		evs := recv(t, ps2, n)
		exactlyOnce(t, evs, n)
		for _, ev := range evs {
			if ev.Context["request_id"] != "req-go-cast" || ev.Context["user_id"] != "u3" {
				t.Fatalf("cast arrived with context %v", ev.Context)
			}
		}
		noMore(t, ps2, 500*time.Millisecond)
		noMore(t, ps1, 0)
	})

	t.Run("fanout reaches every Python server once", func(t *testing.T) {
		fan := cl.Prepare(rpcsvc.CallOptions{Fanout: true})
		for i := range 20 {
			if err := fan.Cast(ctx, "record", recordArgs{N: i}); err != nil {
				t.Fatal(err)
			}
		}
		exactlyOnce(t, recv(t, ps1, 20), 20)
		exactlyOnce(t, recv(t, ps2, 20), 20)
		noMore(t, ps1, 500*time.Millisecond)
		noMore(t, ps2, 0)
	})

	t.Run("a call cannot be fanout", func(t *testing.T) {
		if err := cl.Prepare(rpcsvc.CallOptions{Fanout: true}).Call(ctx, "add", addArgs{}, nil); err == nil {
			t.Fatal("fanout call accepted")
		}
	})
}
