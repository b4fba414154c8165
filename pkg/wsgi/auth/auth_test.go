package auth

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/middleware"
)

func TestNoAuth(t *testing.T) {
	cases := []struct {
		token, user, project string
		admin                bool
	}{
		{"admin:admin", "admin", "admin", true},
		{"admin:demo", "admin", "demo", true},
		{"alice:demo", "alice", "demo", false},
		{"alice", "alice", "alice", false},
		{"alice:", "alice", "alice", false},
		{"Admin:demo", "Admin", "demo", false}, // nova compares exactly
		{"bob:proj:extra", "bob", "proj:extra", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Auth-Token", c.token)
		got, err := NoAuth{}.Authenticate(r)
		if err != nil {
			t.Errorf("%q: %v", c.token, err)
			continue
		}
		if got.UserID != c.user || got.ProjectID != c.project || got.IsAdmin != c.admin || got.HasRole("admin") != c.admin ||
			!got.HasRole("member") || !got.HasRole("reader") {
			t.Errorf("%q: got %+v", c.token, got)
		}
	}
	for _, token := range []string{"", "   ", ":demo"} {
		r := httptest.NewRequest("GET", "/", nil)
		if token != "" {
			r.Header.Set("X-Auth-Token", token)
		}
		_, err := NoAuth{}.Authenticate(r)
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Code != 401 {
			t.Errorf("token %q: err = %v, want a 401 fault", token, err)
		}
	}
}

func TestMiddleware(t *testing.T) {
	var logs bytes.Buffer
	var got *Context
	h := middleware.RequestID(MiddlewareWithLogger(NoAuth{}, slog.New(slog.NewTextHandler(&logs, nil)))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = FromContext(r.Context())
		})))

	r := httptest.NewRequest("GET", "/v2.1/os-services", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	r.Header.Set("X-Auth-Token", "admin:p1")
	r.Header.Set("X-OpenStack-Request-ID", "req-0f0e0d0c-0b0a-4908-8706-050403020100")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || got == nil {
		t.Fatalf("code %d, context %v", w.Code, got)
	}
	if got.RequestID != w.Header().Get("X-Openstack-Request-Id") || got.RequestID == "" {
		t.Errorf("request id %q, response %q", got.RequestID, w.Header().Get("X-Openstack-Request-Id"))
	}
	if got.GlobalRequestID != "req-0f0e0d0c-0b0a-4908-8706-050403020100" || got.RemoteAddress != "192.0.2.7" {
		t.Errorf("context = %+v", got)
	}

	got = nil
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v2.1/os-services", nil))
	b, err := fault.Parse(w.Body.Bytes())
	if w.Code != 401 || err != nil || b.Name != "unauthorized" || b.Message != MessageUnauthorized {
		t.Errorf("missing token: %d %+v %v", w.Code, b, err)
	}
	if got != nil {
		t.Error("handler ran without a token")
	}
	if !strings.Contains(logs.String(), "request not authenticated") {
		t.Errorf("refusal not logged: %s", logs.String())
	}
}

func TestMiddlewareAuthenticatorFailure(t *testing.T) {
	boom := AuthenticatorFunc(func(*http.Request) (*Context, error) { return nil, errors.New("keystone unreachable") })
	nilCtx := AuthenticatorFunc(func(*http.Request) (*Context, error) { return nil, nil })
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler ran") })
	w := httptest.NewRecorder()
	Middleware(boom)(next).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 500 || strings.Contains(w.Body.String(), "keystone") {
		t.Errorf("authenticator error: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	Middleware(nilCtx)(next).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 401 {
		t.Errorf("nil context: %d", w.Code)
	}
}

// An identity no store could record is refused before any handler, whatever
// the authenticator.
func TestMiddlewareRefusesIdentitiesNoStoreCanRecord(t *testing.T) {
	h := Middleware(NoAuth{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("handler reached with token %q", r.Header.Get(HeaderAuthToken))
	}))
	for _, token := range []string{
		"alice:\xff",
		"\xff:proj",
		strings.Repeat("u", 256) + ":p",
		"u:" + strings.Repeat("p", 256),
		"u:p\x01",
	} {
		rr := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/v2.1/servers", nil)
		req.Header.Set(HeaderAuthToken, token)
		h.ServeHTTP(rr, req)
		if rr.Code != http.StatusUnauthorized {
			t.Errorf("token of %d bytes: %d, want 401", len(token), rr.Code)
		}
	}
	ok := Middleware(NoAuth{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rr := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v2.1/servers", nil)
	req.Header.Set(HeaderAuthToken, strings.Repeat("é", 255)+":demo")
	ok.ServeHTTP(rr, req)
	if rr.Code != http.StatusOK {
		t.Errorf("a 255-character user: %d, want 200", rr.Code)
	}
}
