package wsgi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// FuzzDecodeJSON checks DecodeJSON's contract on arbitrary bodies: it never
// panics; it fails only with a 400 or 413 fault whose body renders as a nova
// fault; it accepts exactly what encoding/json accepts (less bodies that are
// empty or null, which nova refuses), and a body it accepts decodes to what
// encoding/json decodes.
//
//	go test ./pkg/wsgi -run '^$' -fuzz FuzzDecodeJSON -fuzztime 30s
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		``, `null`, `{}`, `[]`, `"s"`, `1`, `{"status": "enabled"}`,
		`{"status": "disabled", "disabled_reason": "maint", "forced_down": true, "count": 2}`,
		`{"count": "x"}`, `{"count": 1e400}`, `{"count": -0}`, `{"count": 9223372036854775808}`,
		`{"nested": {"host": "h", "tags": ["a", 1]}}`, `{"nested": []}`,
		`{"status": "\u00e9\ud800"}`, `{"status": "a"} trailing`, `{"status": `, `{"bogus": 1}`,
		"\xff\xfe", `{"status": "x", "status": 2}`, `{"STATUS": "case-insensitive"}`,
	} {
		f.Add([]byte(seed), false, int64(0))
		f.Add([]byte(seed), true, int64(16))
	}
	f.Fuzz(func(t *testing.T, body []byte, strict bool, maxBytes int64) {
		if maxBytes < 0 {
			maxBytes = -maxBytes
		}
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		var got updateBody
		err := DecodeJSON(r, &got, DecodeOptions{Strict: strict, MaxBytes: maxBytes})

		tooBig := maxBytes > 0 && int64(len(body)) > maxBytes
		trimmed := bytes.TrimSpace(body)
		missing := len(trimmed) == 0 || string(trimmed) == "null"
		var want updateBody
		dec := json.NewDecoder(bytes.NewReader(body))
		if strict {
			dec.DisallowUnknownFields()
		}
		stdErr := dec.Decode(&want)
		if stdErr == nil {
			if _, terr := dec.Token(); terr == nil || terr.Error() != "EOF" {
				stdErr = errors.New("trailing data")
			}
		}

		if err == nil {
			if tooBig || missing || stdErr != nil {
				t.Fatalf("accepted %q (tooBig %v, missing %v, encoding/json: %v)", body, tooBig, missing, stdErr)
			}
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(want)
			if !bytes.Equal(a, b) {
				t.Fatalf("decoded %s, encoding/json decoded %s", a, b)
			}
			return
		}
		var fe *fault.Error
		if !errors.As(err, &fe) {
			t.Fatalf("non-fault error %v for %q", err, body)
		}
		switch {
		case tooBig && fe.Code != http.StatusRequestEntityTooLarge:
			t.Fatalf("oversized body gave %d", fe.Code)
		case !tooBig && fe.Code != http.StatusBadRequest:
			t.Fatalf("body %q gave %d %q", body, fe.Code, fe.Message)
		case !tooBig && !missing && stdErr == nil:
			t.Fatalf("refused %q that encoding/json accepts: %v", body, err)
		}
		w := httptest.NewRecorder()
		fault.WriteError(w, fe)
		if pb, perr := fault.Parse(w.Body.Bytes()); perr != nil || pb.Code != fe.Code {
			t.Fatalf("fault body does not parse: %v %s", perr, w.Body)
		}
		if !utf8.ValidString(fe.Message) {
			t.Fatalf("message is not UTF-8: %q", fe.Message)
		}
	})
}
