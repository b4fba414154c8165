package wire

import (
	"errors"
	"reflect"
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
