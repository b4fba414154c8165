package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The request decoder as it was before its fast paths (plain strings read
// without encoding/json, no second validation of args, compaction skipped
// when there is no whitespace). FuzzDecodeRequestMatchesReference checks that
// the fast decoder gives exactly what this one gives, errors included.

func referenceDecodeRequest(body []byte) (*Request, error) {
	m, _, err := Unwrap(body)
	if err != nil {
		return nil, err
	}
	return referenceRequestFromMap(m)
}

func referenceRequestFromMap(m map[string]json.RawMessage) (*Request, error) {
	r := &Request{}
	var err error
	raw, ok := m[keyMethod]
	if !ok {
		return nil, malformed("request has no %q key", keyMethod)
	}
	if err := json.Unmarshal(raw, &r.Method); err != nil || r.Method == "" {
		return nil, malformed("request %q must be a non-empty string, got %s", keyMethod, clip(raw))
	}
	if raw, ok := m[keyArgs]; ok && !refIsNull(raw) {
		if !refIsJSONObject(raw) {
			return nil, malformed("request %q of %q must be a JSON object, got %s", keyArgs, r.Method, clip(raw))
		}
		r.Args = refCompact(raw)
	} else {
		r.Args = json.RawMessage("{}")
	}
	if r.Namespace, err = refOptString(m, keyNamespace); err != nil {
		return nil, err
	}
	if r.Version, err = refOptString(m, keyVersion); err != nil {
		return nil, err
	}
	if r.Version != "" {
		if _, _, verr := ParseVersion(r.Version); verr != nil {
			return nil, malformed("request %q: %v", keyVersion, verr)
		}
	}
	if r.UniqueID, err = refOptString(m, keyUniqueID); err != nil {
		return nil, err
	}
	if r.MsgID, err = refOptString(m, keyMsgID); err != nil {
		return nil, err
	}
	if r.ReplyQ, err = refOptString(m, keyReplyQ); err != nil {
		return nil, err
	}
	if r.MsgID != "" && r.ReplyQ == "" {
		return nil, malformed("call %q has %q but no %q", r.Method, keyMsgID, keyReplyQ)
	}
	if r.MsgID == "" {
		r.ReplyQ = "" // a cast: oslo ignores a stray _reply_q
	}
	if raw, ok := m[keyTimeout]; ok && !refIsNull(raw) && r.MsgID != "" {
		if t := bytes.TrimSpace(raw); len(t) == 0 || (t[0] != '-' && (t[0] < '0' || t[0] > '9')) {
			return nil, malformed("request %q must be a number or null, got %s", keyTimeout, clip(raw))
		}
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&n); err != nil {
			return nil, malformed("request %q must be a number or null, got %s", keyTimeout, clip(raw))
		}
		r.Timeout = &n
	}
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, ContextPrefix); ok {
			if r.Context == nil {
				r.Context = make(map[string]json.RawMessage)
			}
			r.Context[name] = refCompact(v)
		}
	}
	return r, nil
}

func refOptString(m map[string]json.RawMessage, key string) (string, error) {
	raw, ok := m[key]
	if !ok || refIsNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", malformed("%q must be a string or null, got %s", key, clip(raw))
	}
	return s, nil
}

func refIsNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

func refIsJSONObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) >= 2 && t[0] == '{' && json.Valid(t)
}

// compact returns raw without insignificant whitespace, so that a decoded
// request compares equal to itself after a round trip.
func refCompact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return append(json.RawMessage(nil), bytes.TrimSpace(raw)...)
	}
	return b.Bytes()
}

func FuzzDecodeRequestMatchesReference(f *testing.F) {
	for _, s := range []string{pyCall, pyCast, legacyCast, `{}`, `{"method":"m","_timeout":1e400}`,
		`{"method":"m\u00e9","args":{ "a" : [1, 2] },"_context_x":"a\nb","_unique_id":"\u0041"}`,
		`{"method":"","args":{}}`, `{"method":"m","args":[]}`, `{"method":"m","namespace":5}`,
		`{"method":"m","_msg_id":"x","_reply_q":"q","_timeout":"5"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gotErr := DecodeRequest(body)
		want, wantErr := referenceDecodeRequest(body)
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("errors differ:\n got  %v\n want %v", gotErr, wantErr)
		}
		if gotErr != nil {
			if !errors.Is(gotErr, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", gotErr)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("requests differ:\n got  %+v\n want %+v", got, want)
		}
	})
}

var benchRequests = map[string]string{"python_call": pyCall, "python_cast": pyCast}

func BenchmarkDecodeRequest(b *testing.B) {
	goCast, err := EncodeRequest(&Request{Method: "bench_cast", Args: json.RawMessage(`{"i":12345}`), UniqueID: "9d2c6a1e0b8f4c3a8e7d6c5b4a392817",
		Context: map[string]json.RawMessage{"request_id": json.RawMessage(`"req-6f1f0e5a-4b7c-4d7e-9a1b-2c3d4e5f6a7b"`), "user_id": json.RawMessage(`"u1"`),
			"project_id": json.RawMessage(`"p1"`), "roles": json.RawMessage(`["admin","member"]`), "is_admin": json.RawMessage(`true`), "global_request_id": json.RawMessage(`null`)}})
	if err != nil {
		b.Fatal(err)
	}
	cases := map[string]string{"go_cast": string(goCast)}
	for k, v := range benchRequests {
		cases[k] = v
	}
	for name, body := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeRequest([]byte(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/reference", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := referenceDecodeRequest([]byte(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
