package middleware

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMaxRequestBody(t *testing.T) {
	type result struct {
		n   int
		err error
	}
	serve := func(limit int64, body string) result {
		var got result
		h := MaxRequestBody(limit)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			data, err := io.ReadAll(r.Body)
			got = result{len(data), err}
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader(body)))
		return got
	}
	if r := serve(8, "12345678"); r.err != nil || r.n != 8 {
		t.Errorf("body at the cap: %d bytes, %v", r.n, r.err)
	}
	var mbe *http.MaxBytesError
	if r := serve(8, "123456789"); !errors.As(r.err, &mbe) || mbe.Limit != 8 {
		t.Errorf("body over the cap: %d bytes, %v; want a MaxBytesError with limit 8", r.n, r.err)
	}
	for _, limit := range []int64{0, -1} {
		if r := serve(limit, strings.Repeat("x", 1<<20)); r.err != nil || r.n != 1<<20 {
			t.Errorf("limit %d (no cap): %d bytes, %v", limit, r.n, r.err)
		}
	}
}
