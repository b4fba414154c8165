package wire

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// FuzzDecodeRequest: any input either decodes, or fails with ErrMalformed;
// what decodes re-encodes and decodes to the same request.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{pyCall, pyCast, legacyCast, `{}`, `{"method":"m","_timeout":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		again, err := EncodeRequest(r)
		if err != nil {
			t.Fatalf("decoded request does not re-encode: %v (%+v)", err, r)
		}
		r2, err := DecodeRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip differs:\n%+v\n%+v", r, r2)
		}
	})
}

// FuzzUnwrap: the envelope decoder never panics and classifies its errors.
func FuzzUnwrap(f *testing.F) {
	for _, s := range []string{pyCall, legacyCast, pyReplyFailure, `{"oslo.version":"2.0"}`, `{"oslo.version":2,"oslo.message":"{}"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, _, err := Unwrap(body)
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("error not ErrMalformed: %v", err)
		}
		if err == nil && m == nil {
			t.Fatal("nil message without error")
		}
	})
}

// FuzzDecodeReply: replies decode or fail with ErrMalformed, and re-encode.
func FuzzDecodeReply(f *testing.F) {
	for _, s := range []string{pyReplyOK, pyReplyFailure, pyKeepAlive} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeReply(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		if _, err := EncodeReply(r); err != nil {
			t.Fatalf("decoded reply does not re-encode: %v (%+v)", err, r)
		}
	})
}

// FuzzFastPathMatchesEncodingJSON: DecodeRequest and DecodeReply (fast path
// first) return exactly what decoding with encoding/json alone returns: the
// same request or reply, or the same error.
func FuzzFastPathMatchesEncodingJSON(f *testing.F) {
	for _, s := range fastPathSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastPath(t, body)
	})
}

func checkFastPath(t *testing.T, body []byte) {
	t.Helper()
	gotReply, gerr := DecodeReply(body)
	wantReply, werr := decodeReplySlow(body)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Fatalf("body %q: reply error %v, encoding/json path: %v", body, gerr, werr)
	}
	if !reflect.DeepEqual(gotReply, wantReply) {
		t.Fatalf("body %q:\n got  %+v\n want %+v", body, gotReply, wantReply)
	}
	got, gerr := DecodeRequest(body)
	want, werr := decodeRequestSlow(body)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Fatalf("body %q: error %v, encoding/json path: %v", body, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("body %q:\n got  %+v\n want %+v", body, got, want)
	}
}

// Seeds the fast path must take (TestFastPathSeeds checks it).
const (
	seedNested  = `{"oslo.version":"2.0","oslo.message":"{\"method\":\"m\",\"args\":{\"a\":[1,{\"b\":\"}\"}]},\"_unique_id\":\"u\"}"}`
	seedSpaces  = ` { "oslo.message" : "{ \"method\" : \"m\" , \"_context_x\" : { \"y\" : [ 1 , 2 ] } , \"_context_x\" : 3 }" , "oslo.version" : "2.0" } `
	seedEscapes = `{"oslo.version":"2.0","oslo.message":"{\"method\":\"h\\u00e9 \\ud83d\\ude00 \\ud800 \\udc00x\",\"args\":{\"t\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}}"}`
)

var fastPathSeeds = []string{
	pyCall, pyCast, legacyCast, pyReplyOK, pyReplyFailure, pyKeepAlive, `{}`, `null`, `[]`, `"x"`,
	seedNested, seedSpaces,
	`{"oslo.version":"2.0","oslo.message":"{\"method\":\"m\",\"method\":\"n\"}","oslo.version":"2.0"}`,
	seedEscapes,
	`{"oslo.version":"2.0","oslo.message":"{\"meth\\u006fd\":\"m\"}"}`,
	`{"oslo.versio\u006e":"2.0","oslo.message":"{\"method\":\"m\"}"}`,
	`{"oslo.version":"2.0","oslo.message":"{\"method\":\"m\u00e9\u2028\ud83d\ude00\ud800\"}"}`,
	`{"oslo.version":"2.1","oslo.message":"{\"method\":\"m\"}"}`,
	`{"oslo.version":2,"oslo.message":"{\"method\":\"m\"}"}`,
	`{"oslo.version":"2.0","oslo.message":{"method":"m"}}`,
	`{"oslo.version":"2.0","oslo.message":"null"}`,
	`{"oslo.version":"2.0","oslo.message":"{\"method\":\"m\"} x"}`,
	`{"oslo.version":"2.0","oslo.message":"{\"method\":\"m\",\"_msg_id\":\"1\",\"_reply_q\":\"r\",\"_timeout\":1.5e1}"}`,
	`{"oslo.version":"2.0","oslo.message":"{\"method\":\"m\",\"_msg_id\":\"1\",\"_timeout\":1}"}`,
	`{"oslo.version":"2.0","oslo.message":"{\"method\":\"\",\"args\":null,\"version\":\"x\"}"}`,
	"{\"oslo.version\":\"2.0\",\"oslo.message\":\"{\\\"method\\\":\\\"m\xff\\\"}\"}",
}

// TestFastPathSeeds runs the fast-path comparison on its seeds in every test
// run (the fuzzer explores beyond them with -fuzz).
func TestFastPathSeeds(t *testing.T) {
	for _, s := range fastPathSeeds {
		checkFastPath(t, []byte(s))
	}
	// The seeds reach the fast path, not only the fallback.
	for _, s := range []string{pyCall, pyCast, pyReplyFailure, seedNested, seedSpaces, seedEscapes} {
		if _, ok := unwrapFast([]byte(s), nil); !ok {
			t.Errorf("fast path declined %s", s)
		}
	}
}

// TestUnquoteMatchesEncodingJSON: the fast path's string decoding against
// encoding/json's, surrogates included.
func TestUnquoteMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{`""`, `"plain"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\u00E9"`, `"\ud83d\ude00"`, `"\ud800"`, `"\ud800x"`, `"\udc00\ud800"`, `"\ud800\u0041"`, `"\ud83d\ud83d\ude00"`, `"é\u2028"`} {
		var want string
		if err := json.Unmarshal([]byte(s), &want); err != nil {
			t.Fatal(err)
		}
		got, ok := unquote([]byte(s))
		if !ok || string(got) != want {
			t.Errorf("unquote(%s) = %q %v, want %q", s, got, ok, want)
		}
	}
}

// TestFastPathOnStoredCorpora runs the fast-path comparison on the inputs
// the other fuzzers found and stored.
func TestFastPathOnStoredCorpora(t *testing.T) {
	for _, dir := range []string{"FuzzDecodeRequest", "FuzzUnwrap", "FuzzDecodeReply"} {
		files, err := filepath.Glob(filepath.Join("testdata", "fuzz", dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			_, lit, ok := strings.Cut(strings.TrimSpace(string(b)), "[]byte(")
			if !ok {
				t.Fatalf("%s: not a []byte corpus entry", name)
			}
			body, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			checkFastPath(t, []byte(body))
		}
	}
}
