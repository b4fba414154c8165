package wire

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The encoding/json encoders that EncodeRequest and EncodeReply replaced:
// the reference their output must match byte for byte.

func refEncodeRequest(r *Request) ([]byte, error) {
	m := make(map[string]any, 8+len(r.Context))
	for k, v := range r.Context {
		if v == nil {
			v = json.RawMessage("null")
		}
		m[ContextPrefix+k] = v
	}
	m[keyMethod] = r.Method
	args := r.Args
	if len(strings.TrimSpace(string(args))) == 0 {
		args = json.RawMessage("{}")
	}
	m[keyArgs] = args
	if r.Namespace != "" {
		m[keyNamespace] = r.Namespace
	}
	if r.Version != "" {
		m[keyVersion] = r.Version
	}
	if r.UniqueID != "" {
		m[keyUniqueID] = r.UniqueID
	}
	if r.MsgID != "" {
		m[keyMsgID] = r.MsgID
		m[keyReplyQ] = r.ReplyQ
		if r.Timeout != nil {
			m[keyTimeout] = *r.Timeout
		} else {
			m[keyTimeout] = nil
		}
	}
	inner, err := marshal(m)
	if err != nil {
		return nil, err
	}
	return Wrap(inner)
}

func refEncodeReply(r *Reply) ([]byte, error) {
	result := r.Result
	if len(strings.TrimSpace(string(result))) == 0 {
		result = json.RawMessage("null")
	}
	var failure any
	if r.Failure != nil {
		f := *r.Failure
		if len(f.Args) == 0 {
			f.Args = json.RawMessage("[]")
		}
		if len(f.Kwargs) == 0 {
			f.Kwargs = json.RawMessage("{}")
		}
		if f.Traceback == nil {
			f.Traceback = []string{}
		}
		txt, err := marshal(f)
		if err != nil {
			return nil, err
		}
		failure = string(txt)
	}
	m := map[string]any{"result": result, "failure": failure, "ending": r.Ending, keyMsgID: r.MsgID}
	if r.UniqueID != "" {
		m[keyUniqueID] = r.UniqueID
	}
	inner, err := marshal(m)
	if err != nil {
		return nil, err
	}
	return Wrap(inner)
}

// Every string shape encoding/json escapes: quotes, backslashes, control
// characters, HTML characters (kept), U+2028/U+2029, invalid UTF-8,
// non-ASCII.
var trickyStrings = []string{"", "plain", `q"uote`, `back\slash`, "nl\nret\rtab\tbs\bff\f", "\x00\x01\x1f\x7f", "<&>", "\u2028\u2029", "bad\xffutf8\xc3", "hé 日本 🎉", "\\u0041"}

func TestEncodersMatchEncodingJSON(t *testing.T) {
	n := json.Number("30")
	f := json.Number("2.5")
	e := json.Number("1e400")
	var reqs []*Request
	for _, s := range trickyStrings {
		reqs = append(reqs,
			&Request{Method: "m" + s, Namespace: s, Version: "1." + strconv.Itoa(len(s)), UniqueID: s, Args: json.RawMessage(`{"k": ` + jsonText(s) + ` , "n":[1, 2]}`),
				Context: map[string]json.RawMessage{"request_id": json.RawMessage(`"req-1"`), "roles": json.RawMessage(`[ "a", "b" ]`), "k" + s: nil, "is_admin": json.RawMessage("true")}},
			&Request{Method: "call", MsgID: "id" + s, ReplyQ: "reply_" + s, Timeout: &n},
		)
	}
	reqs = append(reqs, &Request{Method: "c", MsgID: "x", ReplyQ: "q"}, &Request{Method: "c", MsgID: "x", ReplyQ: "q", Timeout: &f},
		&Request{Method: "c", MsgID: "x", ReplyQ: "q", Timeout: &e}, &Request{Method: "empty"})
	for i, r := range reqs {
		got, err := EncodeRequest(r)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		want, err := refEncodeRequest(r)
		if err != nil {
			t.Fatalf("reference %d: %v", i, err)
		}
		if string(got) != string(want) {
			t.Fatalf("request %d:\ngot  %s\nwant %s", i, got, want)
		}
	}
	for i, s := range trickyStrings {
		for _, r := range []*Reply{
			{MsgID: "m" + s, UniqueID: s, Result: json.RawMessage(`{"a": [1, ` + jsonText(s) + `]}`), Ending: true},
			{MsgID: "m", Failure: &Failure{Class: "C" + s, Module: s, Message: s, Traceback: []string{s, "line\n"}}},
			{MsgID: "m"},
		} {
			got, err := EncodeReply(r)
			if err != nil {
				if _, rerr := refEncodeReply(r); rerr == nil && json.Valid(r.Result) {
					t.Fatalf("reply %d: %v", i, err)
				}
				continue
			}
			want, err := refEncodeReply(r)
			if err != nil {
				t.Fatalf("reference reply %d: %v", i, err)
			}
			if string(got) != string(want) {
				t.Fatalf("reply %d:\ngot  %s\nwant %s", i, got, want)
			}
		}
	}
}

// The fuzz corpus decoded and encoded again: both encoders agree on every
// request the decoder accepts.
func TestEncodersMatchEncodingJSONOnCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/fuzz/FuzzDecodeRequest/*")
	bodies := [][]byte{[]byte(pyCall), []byte(pyCast), []byte(legacyCast)}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// "go test fuzz v1" files: []byte("...") on the second line.
		lines := strings.SplitN(string(b), "\n", 3)
		if len(lines) < 2 {
			continue
		}
		lit := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
		if s, err := strconv.Unquote(lit); err == nil {
			bodies = append(bodies, []byte(s))
		}
	}
	checked := 0
	for _, body := range bodies {
		r, err := DecodeRequest(body)
		if err != nil {
			continue
		}
		got, gerr := EncodeRequest(r)
		want, werr := refEncodeRequest(r)
		if (gerr == nil) != (werr == nil) || string(got) != string(want) {
			t.Fatalf("%q:\ngot  %s %v\nwant %s %v", body, got, gerr, want, werr)
		}
		checked++
	}
	if checked < 3 {
		t.Fatalf("only %d corpus requests checked", checked)
	}
}

func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzEncodeRequestMatchesEncodingJSON: for any decodable request, the
// hand-written encoder writes what encoding/json wrote.
func FuzzEncodeRequestMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{pyCall, pyCast, legacyCast} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body)
		if err != nil {
			return
		}
		got, gerr := EncodeRequest(r)
		want, werr := refEncodeRequest(r)
		if (gerr == nil) != (werr == nil) || string(got) != string(want) {
			t.Fatalf("%q:\ngot  %s %v\nwant %s %v", body, got, gerr, want, werr)
		}
	})
}

// Interned strings decode as the plain path does, escapes and all, and the
// table stops growing at internMax.
func TestInternString(t *testing.T) {
	for _, raw := range []string{`"ping"`, `"ping"`, `"caf\u00e9"`, `"a\"b"`, `""`, `"` + strings.Repeat("x", internLen+1) + `"`} {
		got, err := internString(json.RawMessage(raw))
		want, werr := decodeString(json.RawMessage(raw))
		if got != want || (err == nil) != (werr == nil) {
			t.Fatalf("%s: %q %v, want %q %v", raw, got, err, want, werr)
		}
	}
	for i := range internMax + 10 {
		if s, _ := internString(json.RawMessage(`"m` + strconv.Itoa(i) + `"`)); s != "m"+strconv.Itoa(i) {
			t.Fatalf("interned %q", s)
		}
	}
	internMu.RLock()
	n := len(internTab)
	internMu.RUnlock()
	if n > internMax {
		t.Fatalf("intern table grew to %d", n)
	}
}
