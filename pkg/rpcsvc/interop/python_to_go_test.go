package interop

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// A Python oslo.messaging client calls a Go server.
func TestPythonCallsGo(t *testing.T) {
	testenv.RequirePythonOslo(t)
	tr := openTransport(t, optsForTests())
	topic := testenv.UniqueName("py2go_call_")
	ep := startGoServer(t, tr, topic, "gohost1")

	t.Run("add", func(t *testing.T) {
		r := pyCall(t, testExchange, topic, "add", map[string]int{"a": 40, "b": 2}, "--server", "gohost1")
		if !r.OK || string(r.Result) != "42" {
			t.Fatalf("add(40, 2) from Python = %s, want result 42", r)
		}
	})

	t.Run("echo nested args without server", func(t *testing.T) {
		args := map[string]any{"s": "héllo", "n": 1.5, "l": []any{1.0, "two", nil}, "m": map[string]any{"k": true}}
		r := pyCall(t, testExchange, topic, "echo", args)
		if !r.OK {
			t.Fatalf("echo from Python failed: %s", r)
		}
		var got map[string]any
		if err := json.Unmarshal(r.Result, &got); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(args)
		have, _ := json.Marshal(got)
		if string(want) != string(have) {
			t.Fatalf("echo returned %s, want %s", have, want)
		}
	})

	t.Run("request context", func(t *testing.T) {
		pctx := `{"request_id": "req-py-1", "global_request_id": "req-global-1", "user_id": "u1",
			"project_id": "p1", "roles": ["admin", "member"], "is_admin": true, "user_name": "alice"}`
		r := pyCall(t, testExchange, topic, "whoami", map[string]any{}, "--context", pctx, "--server", "gohost1")
		if !r.OK {
			t.Fatalf("whoami from Python failed: %s", r)
		}
		s := collect(t, ep.contexts, 1, 10*time.Second)[0]
		rc := s.Context
		if rc.RequestID != "req-py-1" || rc.GlobalRequestID != "req-global-1" || rc.UserID != "u1" ||
			rc.ProjectID != "p1" || !rc.IsAdmin || !slices.Equal(rc.Roles, []string{"admin", "member"}) {
			t.Fatalf("Go handler saw context %+v", rc)
		}
		if string(rc.Extra["user_name"]) != `"alice"` {
			t.Fatalf("unknown context key user_name not passed through: Extra = %v", rc.Extra)
		}
	})

	t.Run("baseapi namespace", func(t *testing.T) {
		r := pyCall(t, testExchange, topic, "ping", map[string]string{"arg": "x"},
			"--namespace", "baseapi", "--version", "1.1", "--server", "gohost1")
		var got map[string]string
		if r.OK {
			_ = json.Unmarshal(r.Result, &got)
		}
		if got["service"] != "gonova" || got["arg"] != "x" || got["server"] != "gohost1" {
			t.Fatalf("baseapi ping from Python = %s", r)
		}
	})

	t.Run("Go error becomes RemoteError", func(t *testing.T) {
		r := pyCall(t, testExchange, topic, "fail", map[string]string{"message": "disk on fire"})
		if r.OK || r.ErrorClass != "RemoteError" {
			t.Fatalf("fail from Python = %s, want a RemoteError", r)
		}
		if r.ExcType != "interopError" || r.Value != "disk on fire" {
			t.Fatalf("RemoteError exc_type %q value %q, want interopError / disk on fire (%s)", r.ExcType, r.Value, r)
		}
	})

	t.Run("classified Go error becomes the Python exception", func(t *testing.T) {
		r := pyCall(t, testExchange, topic, "fail_value", map[string]string{"message": "bad flavor"})
		if r.OK || r.ErrorClass != "ValueError" || r.ErrorModule != "builtins" || !strings.HasPrefix(r.Str, "bad flavor") {
			t.Fatalf("fail_value from Python = %s, want builtins.ValueError('bad flavor...')", r)
		}
	})

	t.Run("unknown method is NoSuchMethod", func(t *testing.T) {
		r := pyCall(t, testExchange, topic, "no_such_thing", map[string]string{})
		if r.OK || r.ExcType != "NoSuchMethod" || !strings.Contains(r.Value, "no_such_thing") {
			t.Fatalf("unknown method from Python = %s, want RemoteError NoSuchMethod", r)
		}
	})

	t.Run("unsupported version", func(t *testing.T) {
		r := pyCall(t, testExchange, topic, "add", map[string]int{"a": 1, "b": 1}, "--version", "2.0")
		if r.OK || r.ExcType != "UnsupportedVersion" {
			t.Fatalf("version 2.0 from Python = %s, want RemoteError UnsupportedVersion", r)
		}
	})
}

// A Python client casts to Go servers: to one server, to the topic, and
// fanout; every cast is handled exactly once per intended server.
func TestPythonCastsToGo(t *testing.T) {
	testenv.RequirePythonOslo(t)
	tr := openTransport(t, optsForTests())
	topic := testenv.UniqueName("py2go_cast_")
	ep1 := startGoServer(t, tr, topic, "gohost1")
	ep2 := startGoServer(t, tr, topic, "gohost2")
	const n = 50

	t.Run("to one server, exactly once", func(t *testing.T) {
		var out struct {
			OK   bool `json:"ok"`
			Sent int  `json:"sent"`
		}
		pyClient(t, testExchange, topic, "cast", &out, "--server", "gohost2", "--method", "record",
			"--count", "50", "--count-arg", "n", "--context", `{"request_id": "req-cast-1"}`)
		if !out.OK || out.Sent != n {
			t.Fatalf("pyclient cast: %+v", out)
		}
		got := collect(t, ep2.records, n, 30*time.Second)
		assertExactlyOnce(t, got, n)
		for _, s := range got {
			if s.Context.RequestID != "req-cast-1" {
				t.Fatalf("cast %d arrived with request_id %q", s.N, s.Context.RequestID)
			}
		}
		quiet(t, ep2.records, 500*time.Millisecond)
		quiet(t, ep1.records, 0)
	})

	t.Run("to the topic, one server each", func(t *testing.T) {
		var out struct {
			OK bool `json:"ok"`
		}
		pyClient(t, testExchange, topic, "cast", &out, "--method", "record", "--count", "50", "--count-arg", "n")
		deadline := time.After(30 * time.Second)
		var got []seen
		for len(got) < n {
			select {
			case s := <-ep1.records:
				got = append(got, s)
			case s := <-ep2.records:
				got = append(got, s)
			case <-deadline:
				t.Fatalf("received %d of %d topic casts", len(got), n)
			}
		}
		assertExactlyOnce(t, got, n)
		quiet(t, ep1.records, 500*time.Millisecond)
		quiet(t, ep2.records, 0)
	})

	t.Run("fanout reaches every server once", func(t *testing.T) {
		var out struct {
			OK bool `json:"ok"`
		}
		pyClient(t, testExchange, topic, "fanout", &out, "--method", "record", "--count", "20", "--count-arg", "n")
		assertExactlyOnce(t, collect(t, ep1.records, 20, 30*time.Second), 20)
		assertExactlyOnce(t, collect(t, ep2.records, 20, 30*time.Second), 20)
		quiet(t, ep1.records, 500*time.Millisecond)
		quiet(t, ep2.records, 0)
	})
}

// assertExactlyOnce checks that got holds each of 0..n-1 once.
func assertExactlyOnce(t *testing.T, got []seen, n int) {
	t.Helper()
	count := make([]int, n)
	for _, s := range got {
		if s.N < 0 || s.N >= n {
			t.Fatalf("unexpected record n=%d", s.N)
		}
		count[s.N]++
	}
	for i, c := range count {
		if c != 1 {
			t.Fatalf("record %d arrived %d times", i, c)
		}
	}
}
