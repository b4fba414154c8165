package wsgi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

type updateBody struct {
	Status         *string `json:"status"`
	DisabledReason *string `json:"disabled_reason"`
	ForcedDown     *bool   `json:"forced_down"`
	Count          int     `json:"count"`
	Nested         struct {
		Host string   `json:"host"`
		Tags []string `json:"tags"`
	} `json:"nested"`
}

func decode(t *testing.T, body, contentType string, v any, opts DecodeOptions) error {
	t.Helper()
	r := httptest.NewRequest("PUT", "/v2.1/os-services/x", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	return DecodeJSON(r, v, opts)
}

func TestDecodeJSONOK(t *testing.T) {
	var v updateBody
	err := decode(t, `{"status": "disabled", "disabled_reason": "maint", "count": 3, "nested": {"host": "h1", "tags": ["a"]}}`,
		"application/json; charset=UTF-8", &v, DecodeOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if *v.Status != "disabled" || *v.DisabledReason != "maint" || v.ForcedDown != nil || v.Count != 3 || v.Nested.Host != "h1" {
		t.Errorf("decoded %+v", v)
	}
	for _, ct := range []string{"", "text/plain", "application/vnd.openstack.compute+v1.1+json"} {
		if err := decode(t, `{}`, ct, &v, DecodeOptions{}); err != nil {
			t.Errorf("content type %q: %v", ct, err)
		}
	}
	// Unknown keys are ignored unless Strict.
	if err := decode(t, `{"extra": 1}`, "", &v, DecodeOptions{}); err != nil {
		t.Errorf("lax: %v", err)
	}
}

func TestDecodeJSONFaults(t *testing.T) {
	cases := []struct {
		name, body, ct string
		strict         bool
		code           int
		msg            string
	}{
		{"not json", `{"status": `, "", false, 400, "Malformed request body"},
		{"garbage", `hello`, "", false, 400, "Malformed request body"},
		{"trailing data", `{} {}`, "", false, 400, "Malformed request body"},
		{"trailing garbage after type error", `{"count": "x"} zz`, "", false, 400, "Malformed request body"},
		{"empty", ``, "", false, 400, "None is not of type 'object'"},
		{"whitespace", " \n ", "", false, 400, "None is not of type 'object'"},
		{"null", `null`, "", false, 400, "None is not of type 'object'"},
		{"array at top", `[1, "a"]`, "", false, 400, "[1, 'a'] is not of type 'object'"},
		{"string for int", `{"count": "three"}`, "", false, 400,
			"Invalid input for field/attribute count. Value: three. 'three' is not of type 'integer'"},
		{"float for int", `{"count": 1.5}`, "", false, 400,
			"Invalid input for field/attribute count. Value: 1.5. 1.5 is not of type 'integer'"},
		{"int for string", `{"status": 1}`, "", false, 400,
			"Invalid input for field/attribute status. Value: 1. 1 is not of type 'string'"},
		{"string for bool", `{"forced_down": "yes"}`, "", false, 400,
			"Invalid input for field/attribute forced_down. Value: yes. 'yes' is not of type 'boolean'"},
		{"object for string", `{"status": {"b": true, "a": null}}`, "", false, 400,
			"Invalid input for field/attribute status. Value: {'a': None, 'b': True}. {'a': None, 'b': True} is not of type 'string'"},
		{"nested", `{"nested": {"host": false}}`, "", false, 400,
			"Invalid input for field/attribute host. Value: False. False is not of type 'string'"},
		{"in array", `{"nested": {"tags": ["a", 2]}}`, "", false, 400,
			"Invalid input for field/attribute 1. Value: 2. 2 is not of type 'string'"},
		{"in array of arrays", `{"nested": {"tags": [["a"]]}}`, "", false, 400,
			"Invalid input for field/attribute 0. Value: ['a']. ['a'] is not of type 'string'"},
		{"quote in string", `{"count": "it's"}`, "", false, 400,
			`Invalid input for field/attribute count. Value: it's. "it's" is not of type 'integer'`},
		{"unknown key", `{"status": "enabled", "bogus": 1}`, "", true, 400,
			"Additional properties are not allowed ('bogus' was unexpected)"},
		{"xml", `<a/>`, "application/xml", false, 415, "Unsupported Content-Type"},
		{"bad content type", `{}`, "application/json; =", false, 415, "Unsupported Content-Type"},
	}
	for _, c := range cases {
		var v updateBody
		err := decode(t, c.body, c.ct, &v, DecodeOptions{Strict: c.strict})
		var fe *fault.Error
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want a fault", c.name, err)
			continue
		}
		if fe.Code != c.code || fe.Message != c.msg {
			t.Errorf("%s:\n got %d %q\nwant %d %q", c.name, fe.Code, fe.Message, c.code, c.msg)
		}
	}
}

func TestDecodeJSONMaxBytes(t *testing.T) {
	var v map[string]any
	body := `{"a": "` + strings.Repeat("x", 100) + `"}`
	for _, known := range []bool{true, false} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		if !known {
			r.ContentLength = -1
		}
		err := DecodeJSON(r, &v, DecodeOptions{MaxBytes: 50})
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Code != 413 || fault.Name(fe.Code) != "overLimit" ||
			fe.Message != "Request is too large. Larger than max_request_body_size (50)." {
			t.Errorf("known length %v: %v", known, err)
		}
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	if err := DecodeJSON(r, &v, DecodeOptions{MaxBytes: int64(len(body))}); err != nil {
		t.Errorf("body of exactly the cap: %v", err)
	}
}

func TestDecodeJSONBadTarget(t *testing.T) {
	var v updateBody
	for _, target := range []any{v, nil, (*updateBody)(nil)} {
		err := decode(t, `{}`, "", target, DecodeOptions{})
		var fe *fault.Error
		if err == nil || errors.As(err, &fe) {
			t.Errorf("target %T: err = %v, want a plain programming error", target, err)
		}
	}
}

type enum string

func (e *enum) UnmarshalJSON(b []byte) error {
	if string(b) != `"enabled"` && string(b) != `"disabled"` {
		return fault.BadRequest("status must be enabled or disabled")
	}
	*e = enum(strings.Trim(string(b), `"`))
	return nil
}

func TestDecodeJSONCustomUnmarshalerFault(t *testing.T) {
	var v struct {
		Status enum `json:"status"`
	}
	err := decode(t, `{"status": "sideways"}`, "", &v, DecodeOptions{})
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Code != 400 || fe.Message != "status must be enabled or disabled" {
		t.Errorf("err = %v", err)
	}
}

func TestPyQuote(t *testing.T) {
	cases := map[string]string{
		"abc":    `'abc'`,
		"it's":   `"it's"`,
		`a'b"c`:  `'a\'b"c'`,
		"a\nb":   `'a\nb'`,
		"\x01":   `'\x01'`,
		"é":      `'é'`,
		`back\s`: `'back\\s'`,
	}
	for in, want := range cases {
		if got := pyQuote(in); got != want {
			t.Errorf("pyQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestDecodeJSONNoBody(t *testing.T) {
	r, _ := http.NewRequest("POST", "/", nil)
	var v updateBody
	err := DecodeJSON(r, &v, DecodeOptions{})
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Message != "None is not of type 'object'" {
		t.Errorf("nil body: %v", err)
	}
}

// A NUL inside any string of a body (a value or a key, at any depth) is a
// 400 naming the field: Postgres's text and jsonb refuse it.
func TestDecodeJSONRefusesNUL(t *testing.T) {
	type server struct {
		Name     string            `json:"name"`
		Metadata map[string]string `json:"metadata"`
	}
	type body struct {
		Server server `json:"server"`
	}
	cases := []struct{ body, field string }{
		{`{"server": {"name": "a\u0000b"}}`, "name"},
		{`{"server": {"name": "ok", "metadata": {"k": "v\u0000"}}}`, "k"},
		{`{"server": {"name": "ok", "metadata": {"k\u0000": "v"}}}`, "metadata"},
	}
	for _, c := range cases {
		var b body
		err := decodeBytes([]byte(c.body), &b, true)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Code != http.StatusBadRequest || !strings.Contains(fe.Message, "field/attribute "+c.field+".") || !strings.Contains(fe.Message, "NUL") {
			t.Errorf("%s: %v, want a 400 naming %s", c.body, err, c.field)
		}
	}
	var any map[string]any
	if err := decodeBytes([]byte(`{"a": ["x", {"b": "\u0000"}]}`), &any, false); err == nil {
		t.Error("a NUL in a nested generic value was accepted")
	}
	var ok body
	if err := decodeBytes([]byte(`{"server": {"name": "back\\u0000slash"}}`), &ok, true); err != nil {
		t.Errorf("an escaped backslash before u0000 is not a NUL: %v", err)
	}
}
