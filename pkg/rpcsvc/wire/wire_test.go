package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// A call as Python oslo.messaging 14 publishes it (captured from
// amqpdriver._send: context packed, _unique_id added, then the envelope).
const pyCall = `{"oslo.version": "2.0", "oslo.message": "{\"_context_user\": null, \"_context_project_id\": \"p1\", \"_context_user_id\": \"u1\", \"_context_roles\": [\"admin\", \"member\"], \"_context_is_admin\": true, \"_context_request_id\": \"req-3f1c\", \"_context_global_request_id\": null, \"_context_read_only\": false, \"method\": \"echo\", \"args\": {\"value\": 42, \"text\": \"h\u00e9\"}, \"namespace\": \"baseapi\", \"version\": \"1.1\", \"_msg_id\": \"6f1f0e5a4b7c4d7e9a1b2c3d4e5f6a7b\", \"_reply_q\": \"reply_0123456789abcdef0123456789abcdef\", \"_timeout\": 60, \"_unique_id\": \"9d2c6a1e0b8f4c3a8e7d6c5b4a392817\"}"}`

// A cast: no _msg_id, _reply_q or _timeout.
const pyCast = `{"oslo.version": "2.0", "oslo.message": "{\"_context_request_id\": \"req-1\", \"method\": \"record\", \"args\": {\"n\": 3}, \"_unique_id\": \"aa\"}"}`

// A legacy 1.0 message is the dict itself.
const legacyCast = `{"_context_request_id": "req-l", "method": "record", "args": {"n": 1}, "_unique_id": "bb"}`

// Replies as _send_reply writes them: failure is JSON text or null.
const pyReplyOK = `{"oslo.version": "2.0", "oslo.message": "{\"result\": {\"value\": 42}, \"failure\": null, \"ending\": true, \"_msg_id\": \"6f1f\", \"_unique_id\": \"u2\"}"}`
const pyReplyFailure = `{"oslo.version": "2.0", "oslo.message": "{\"result\": null, \"failure\": \"{\\\"class\\\": \\\"PeerError\\\", \\\"module\\\": \\\"__main__\\\", \\\"message\\\": \\\"boom\\\", \\\"tb\\\": [\\\"Traceback (most recent call last):\\\\n\\\", \\\"PeerError: boom\\\\n\\\"], \\\"args\\\": [\\\"boom\\\"], \\\"kwargs\\\": {\\\"code\\\": 7}}\", \"ending\": true, \"_msg_id\": \"6f1f\", \"_unique_id\": \"u3\"}"}`
const pyKeepAlive = `{"oslo.version": "2.0", "oslo.message": "{\"result\": null, \"failure\": null, \"ending\": false, \"_msg_id\": \"6f1f\", \"_unique_id\": \"u4\"}"}`

func TestDecodePythonCall(t *testing.T) {
	r, err := DecodeRequest([]byte(pyCall))
	if err != nil {
		t.Fatal(err)
	}
	if r.Method != "echo" || r.Namespace != "baseapi" || r.Version != "1.1" || !r.IsCall() {
		t.Fatalf("decoded %+v", r)
	}
	if r.MsgID != "6f1f0e5a4b7c4d7e9a1b2c3d4e5f6a7b" || r.ReplyQ != "reply_0123456789abcdef0123456789abcdef" || r.UniqueID != "9d2c6a1e0b8f4c3a8e7d6c5b4a392817" {
		t.Fatalf("ids: %+v", r)
	}
	secs, integer, ok := r.TimeoutSeconds()
	if !ok || !integer || secs != 60 {
		t.Fatalf("timeout = %v %v %v", secs, integer, ok)
	}
	var args struct {
		Value int    `json:"value"`
		Text  string `json:"text"`
	}
	if err := json.Unmarshal(r.Args, &args); err != nil || args.Value != 42 || args.Text != "hé" {
		t.Fatalf("args %s: %+v %v", r.Args, args, err)
	}
	want := []string{"global_request_id", "is_admin", "project_id", "read_only", "request_id", "roles", "user", "user_id"}
	if got := r.ContextKeys(); !reflect.DeepEqual(got, want) {
		t.Fatalf("context keys %v, want %v", got, want)
	}
	if string(r.Context["roles"]) != `["admin","member"]` || string(r.Context["user"]) != "null" {
		t.Fatalf("context values: %s %s", r.Context["roles"], r.Context["user"])
	}
}

func TestDecodeCastAndLegacy(t *testing.T) {
	for name, body := range map[string]string{"2.0": pyCast, "legacy": legacyCast} {
		r, err := DecodeRequest([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Method != "record" || r.IsCall() || r.Timeout != nil || r.Context["request_id"] == nil {
			t.Fatalf("%s: decoded %+v", name, r)
		}
	}
	_, legacy, err := Unwrap([]byte(legacyCast))
	if err != nil || !legacy {
		t.Fatalf("legacy = %v, %v", legacy, err)
	}
}

func TestFloatAndNullTimeout(t *testing.T) {
	r, err := DecodeRequest([]byte(`{"method":"m","_msg_id":"a","_reply_q":"q","_timeout":2.5}`))
	if err != nil {
		t.Fatal(err)
	}
	if secs, integer, ok := r.TimeoutSeconds(); !ok || integer || secs != 2.5 {
		t.Fatalf("2.5 -> %v %v %v", secs, integer, ok)
	}
	r, err = DecodeRequest([]byte(`{"method":"m","_msg_id":"a","_reply_q":"q","_timeout":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.TimeoutSeconds(); ok {
		t.Fatal("null timeout reported as usable")
	}
}

func TestRequestRoundTripKeepsOsloLayout(t *testing.T) {
	n := json.Number("30")
	in := &Request{
		Method: "ping", Args: json.RawMessage(`{"arg":"x"}`), Namespace: "baseapi", Version: "1.1",
		UniqueID: "u", MsgID: "m", ReplyQ: "reply_q", Timeout: &n,
		Context: map[string]json.RawMessage{"request_id": json.RawMessage(`"req-9"`), "roles": json.RawMessage(`["a"]`)},
	}
	body, err := EncodeRequest(in)
	if err != nil {
		t.Fatal(err)
	}
	// The envelope is what Python's deserialize_msg expects.
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	if env["oslo.version"] != "2.0" {
		t.Fatalf("envelope %v", env)
	}
	text, ok := env["oslo.message"].(string)
	if !ok {
		t.Fatalf("oslo.message is %T, want a JSON string", env["oslo.message"])
	}
	var inner map[string]any
	if err := json.Unmarshal([]byte(text), &inner); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"method", "args", "namespace", "version", "_unique_id", "_msg_id", "_reply_q", "_timeout", "_context_request_id", "_context_roles"} {
		if _, ok := inner[k]; !ok {
			t.Errorf("inner message lacks %q: %s", k, text)
		}
	}
	if inner["_timeout"] != float64(30) || strings.Contains(text, `"_timeout":"30"`) {
		t.Errorf("_timeout must be a JSON number: %s", text)
	}
	out, err := DecodeRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
}

func TestCastHasNoCallKeys(t *testing.T) {
	body, err := EncodeRequest(&Request{Method: "m", UniqueID: "u"})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := Unwrap(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"_msg_id", "_reply_q", "_timeout", "namespace", "version"} {
		if _, ok := m[k]; ok {
			t.Errorf("cast carries %q", k)
		}
	}
	if string(m["args"]) != "{}" {
		t.Errorf("args = %s, want {}", m["args"])
	}
}

func TestDecodePythonReplies(t *testing.T) {
	r, err := DecodeReply([]byte(pyReplyOK))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Result) != `{"value": 42}` || r.Failure != nil || !r.Ending || r.IsKeepAlive() {
		t.Fatalf("ok reply %+v", r)
	}
	r, err = DecodeReply([]byte(pyReplyFailure))
	if err != nil {
		t.Fatal(err)
	}
	f := r.Failure
	if f == nil || f.Class != "PeerError" || f.Module != "__main__" || f.Message != "boom" || len(f.Traceback) != 2 || string(f.Kwargs) != `{"code": 7}` || string(f.Args) != `["boom"]` {
		t.Fatalf("failure %+v", f)
	}
	if !strings.Contains(f.TracebackText(), "PeerError: boom") {
		t.Fatalf("traceback text %q", f.TracebackText())
	}
	r, err = DecodeReply([]byte(pyKeepAlive))
	if err != nil || !r.IsKeepAlive() {
		t.Fatalf("keep-alive: %+v %v", r, err)
	}
}

func TestReplyEncodesFailureAsText(t *testing.T) {
	body, err := EncodeReply(&Reply{MsgID: "m", Ending: true, Failure: &Failure{Class: "NoSuchMethod", Module: "oslo_messaging.rpc.dispatcher", Message: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := Unwrap(body)
	if err != nil {
		t.Fatal(err)
	}
	var text string
	if err := json.Unmarshal(m["failure"], &text); err != nil {
		t.Fatalf("failure is not JSON text: %s", m["failure"])
	}
	var f map[string]any
	if err := json.Unmarshal([]byte(text), &f); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"class", "module", "message", "tb", "args", "kwargs"} {
		if _, ok := f[k]; !ok {
			t.Errorf("failure lacks %q: %s", k, text)
		}
	}
	if string(m["result"]) != "null" || string(m["ending"]) != "true" {
		t.Errorf("result/ending: %s %s", m["result"], m["ending"])
	}
}

func TestMalformedNamesTheProblem(t *testing.T) {
	cases := map[string]string{
		`not json`: "not a JSON object",
		`[1,2]`:    "not a JSON object",
		`null`:     "null",
		`{"oslo.version":"3.0","oslo.message":"{}"}`:           "unsupported envelope",
		`{"oslo.version":"2.0","oslo.message":{"method":"x"}}`: `"oslo.message" is not a JSON string`,
		`{"oslo.version":"2.0","oslo.message":"[1]"}`:          "does not hold a JSON object",
		`{"args":{}}`:                    `no "method"`,
		`{"method":""}`:                  "non-empty string",
		`{"method":5}`:                   "non-empty string",
		`{"method":"m","args":[1]}`:      `"args" of "m" must be a JSON object`,
		`{"method":"m","version":"one"}`: `"version"`,
		`{"method":"m","namespace":7}`:   `"namespace" must be a string`,
		`{"method":"m","_msg_id":"x"}`:   `no "_reply_q"`,
		`{"method":"m","_msg_id":"x","_reply_q":"q","_timeout":"60"}`: `"_timeout" must be a number`,
	}
	for body, want := range cases {
		_, err := DecodeRequest([]byte(body))
		if err == nil {
			t.Errorf("%s: decoded without error", body)
			continue
		}
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q does not say %q", body, err, want)
		}
	}
	if _, err := DecodeReply([]byte(`{"result":1}`)); err == nil || !strings.Contains(err.Error(), "_msg_id") {
		t.Errorf("reply without _msg_id: %v", err)
	}
	if _, err := DecodeReply([]byte(`{"_msg_id":"m","failure":"{\"module\":\"x\"}"}`)); err == nil || !strings.Contains(err.Error(), "class") {
		t.Errorf("failure without class: %v", err)
	}
}

func TestVersionCompatible(t *testing.T) {
	cases := []struct {
		have, want string
		ok         bool
	}{
		{"1.3", "1.0", true}, {"1.3", "1.3", true}, {"1.3", "1.4", false}, {"1.3", "2.0", false},
		{"2.0", "1.9", false}, {"1.0", "", true}, {"", "", true}, {"1.1", "1", true}, {"1.x", "1.0", false},
		{"1.3", "1.2.7", true}, {"1.3", "-1.0", false},
	}
	for _, c := range cases {
		if got := VersionCompatible(c.have, c.want); got != c.ok {
			t.Errorf("VersionCompatible(%q, %q) = %v", c.have, c.want, got)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string][2]int{"1": {1, 0}, "1.2": {1, 2}, "6.4.1": {6, 4}, "01.02": {1, 2}, "-0.1": {0, 1}} {
		maj, min, err := ParseVersion(in)
		if err != nil || maj != want[0] || min != want[1] {
			t.Errorf("ParseVersion(%q) = %d, %d, %v; want %v", in, maj, min, err, want)
		}
	}
	for _, in := range []string{"", ".", "1.", ".1", "1..2", "1.2.3.4", "+1.0", "1.+2", "-1.0", "a.b", "1.2.x", " 1.2"} {
		if _, _, err := ParseVersion(in); err == nil || err.Error() != fmt.Sprintf("version %q is not major.minor", in) {
			t.Errorf("ParseVersion(%q): %v, want the major.minor error", in, err)
		}
	}
}
