package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRequestIDGenerated(t *testing.T) {
	var seen, global string
	h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = RequestIDFromContext(r.Context())
		global = GlobalRequestIDFromContext(r.Context())
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if !ValidRequestID(seen) {
		t.Fatalf("request id %q is not req-<uuid>", seen)
	}
	if global != "" {
		t.Errorf("global id %q without an inbound header", global)
	}
	if got := w.Header().Get("x-openstack-request-id"); got != seen {
		t.Errorf("x-openstack-request-id = %q, want %q", got, seen)
	}
	if got := w.Header().Get("x-compute-request-id"); got != seen {
		t.Errorf("x-compute-request-id = %q, want %q", got, seen)
	}

	// Two requests never share an id.
	first := seen
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if seen == first {
		t.Errorf("two requests got the same id %q", seen)
	}
}

func TestRequestIDInboundBecomesGlobal(t *testing.T) {
	const inbound = "req-0f0e0d0c-0b0a-4908-8706-050403020100"
	cases := []struct {
		header, wantGlobal string
	}{
		{inbound, inbound},
		{"req-NOT-A-UUID", ""},
		{"req-0F0E0D0C-0B0A-4908-8706-050403020100", ""}, // oslo's pattern is lower case only
		{"0f0e0d0c-0b0a-4908-8706-050403020100", ""},
		{inbound + "\nforged log line", ""},
	}
	for _, c := range cases {
		var local, global string
		h := RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			local = RequestIDFromContext(r.Context())
			global = GlobalRequestIDFromContext(r.Context())
		}))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-OpenStack-Request-ID", c.header)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if global != c.wantGlobal {
			t.Errorf("header %q: global = %q, want %q", c.header, global, c.wantGlobal)
		}
		if local == c.header || !ValidRequestID(local) {
			t.Errorf("header %q: local id %q must be freshly generated", c.header, local)
		}
		if w.Header().Get(HeaderRequestID) != local {
			t.Errorf("response carries %q, not the local id %q", w.Header().Get(HeaderRequestID), local)
		}
	}
}

func TestRequestIDContextRoundTrip(t *testing.T) {
	ctx := WithGlobalRequestID(WithRequestID(context.Background(), "req-a"), "req-g")
	if RequestIDFromContext(ctx) != "req-a" || GlobalRequestIDFromContext(ctx) != "req-g" {
		t.Fatal("context accessors lost the ids")
	}
	if RequestIDFromContext(context.Background()) != "" {
		t.Fatal("empty context has a request id")
	}
}
