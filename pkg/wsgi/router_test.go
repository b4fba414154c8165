package wsgi

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/middleware"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

const listAction = "os_compute_api:os-services:list"

// fullRouter is the chain nova-api uses: public version root, then
// authenticated, policy-checked routes.
func fullRouter(t testing.TB, logger *slog.Logger, reg prometheus.Registerer) *chi.Mux {
	t.Helper()
	m, err := middleware.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	mv, err := microversion.New(microversion.Options{})
	if err != nil {
		t.Fatal(err)
	}
	enf := policy.NewWithLogger(map[string]policy.Rule{listAction: policy.Admin}, logger)
	r := NewRouter(RouterOptions{Logger: logger, Metrics: m, Microversion: mv})
	r.Get("/", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"versions": []}`) })
	r.Group(func(r chi.Router) {
		r.Use(auth.MiddlewareWithLogger(auth.NoAuth{}, logger))
		r.With(enf.Require(listAction)).Get("/v2.1/os-services", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"services": []}`)
		})
		r.Get("/v2.1/panic", func(w http.ResponseWriter, r *http.Request) { panic("secret detail") })
	})
	return r
}

func do(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("X-Auth-Token", token)
	}
	r.Header.Set("OpenStack-API-Version", "compute 2.53")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRouterChain(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewPedanticRegistry()
	h := fullRouter(t, slog.New(slog.NewTextHandler(&logs, nil)), reg)

	cases := []struct {
		name, method, path, token string
		code                      int
		fault                     string
	}{
		{"public root", "GET", "/", "", 200, ""},
		{"admin lists", "GET", "/v2.1/os-services", "admin:admin", 200, ""},
		{"no token", "GET", "/v2.1/os-services", "", 401, "unauthorized"},
		{"not admin", "GET", "/v2.1/os-services", "alice:demo", 403, "forbidden"},
		{"unknown route", "GET", "/v2.1/os-nothing/12", "admin:admin", 404, "itemNotFound"},
		{"wrong method", "DELETE", "/v2.1/os-services", "admin:admin", 405, "badMethod"},
		{"panic", "GET", "/v2.1/panic", "admin:admin", 500, "computeFault"},
	}
	for _, c := range cases {
		w := do(h, c.method, c.path, c.token)
		if w.Code != c.code {
			t.Errorf("%s: code %d, want %d: %s", c.name, w.Code, c.code, w.Body)
		}
		if c.fault != "" {
			b, err := fault.Parse(w.Body.Bytes())
			if err != nil || b.Name != c.fault || b.Code != c.code {
				t.Errorf("%s: body %s (%v)", c.name, w.Body, err)
			}
		}
		// Every response, faults and panics included, carries the ids and
		// the microversion headers.
		if !middleware.ValidRequestID(w.Header().Get("X-Openstack-Request-Id")) ||
			w.Header().Get("X-Compute-Request-Id") != w.Header().Get("X-Openstack-Request-Id") {
			t.Errorf("%s: request id headers %v", c.name, w.Header())
		}
		if w.Header().Get("OpenStack-API-Version") != "compute 2.53" ||
			w.Header().Get("X-OpenStack-Nova-API-Version") != "2.53" ||
			w.Header().Get("Vary") != "OpenStack-API-Version, X-OpenStack-Nova-API-Version" {
			t.Errorf("%s: microversion headers %v", c.name, w.Header())
		}
	}
	if w := do(h, "GET", "/v2.1/panic", "admin:admin"); strings.Contains(w.Body.String(), "secret") {
		t.Error("panic text leaked")
	}
	want := `
# HELP gonova_http_requests_total HTTP requests served, by chi route pattern, method and status code.
# TYPE gonova_http_requests_total counter
gonova_http_requests_total{code="200",method="GET",route="/"} 1
gonova_http_requests_total{code="200",method="GET",route="/v2.1/os-services"} 1
gonova_http_requests_total{code="401",method="GET",route="/v2.1/os-services"} 1
gonova_http_requests_total{code="403",method="GET",route="/v2.1/os-services"} 1
gonova_http_requests_total{code="404",method="GET",route="<unmatched>"} 1
gonova_http_requests_total{code="405",method="DELETE",route="<unmatched>"} 1
gonova_http_requests_total{code="500",method="GET",route="/v2.1/panic"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gonova_http_requests_total"); err != nil {
		t.Error(err)
	}
	if !strings.Contains(logs.String(), "secret detail") || !strings.Contains(logs.String(), `route=/v2.1/panic`) {
		t.Errorf("logs lack the panic or the access record:\n%s", logs.String())
	}
}
