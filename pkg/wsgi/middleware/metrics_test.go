package middleware

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	var inFlightDuring float64
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Route("/v2.1", func(r chi.Router) {
		r.Get("/os-services", func(w http.ResponseWriter, r *http.Request) {
			inFlightDuring = testutil.ToFloat64(m.inFlight)
		})
		r.Delete("/os-services/{id}", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})
	})
	for _, req := range []struct{ method, path string }{
		{"GET", "/v2.1/os-services"},
		{"GET", "/v2.1/os-services"},
		{"DELETE", "/v2.1/os-services/1"},
		{"DELETE", "/v2.1/os-services/2"},
		{"GET", "/v2.1/secret-id-1234"},
		{"BREW", "/v2.1/os-services"},
	} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}
	if inFlightDuring != 1 {
		t.Errorf("in-flight during a request = %v, want 1", inFlightDuring)
	}

	want := `
# HELP gonova_http_requests_in_flight HTTP requests being served now.
# TYPE gonova_http_requests_in_flight gauge
gonova_http_requests_in_flight 0
# HELP gonova_http_requests_total HTTP requests served, by chi route pattern, method and status code.
# TYPE gonova_http_requests_total counter
gonova_http_requests_total{code="200",method="GET",route="/v2.1/os-services"} 2
gonova_http_requests_total{code="204",method="DELETE",route="/v2.1/os-services/{id}"} 2
gonova_http_requests_total{code="404",method="GET",route="<unmatched>"} 1
gonova_http_requests_total{code="405",method="OTHER",route="<unmatched>"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"gonova_http_requests_total", "gonova_http_requests_in_flight"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.duration); n != 4 {
		t.Errorf("duration series = %d, want 4 (route x method)", n)
	}
	// No label carries the raw id.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("pedantic gather: %v", err)
	}
	for _, mf := range mfs {
		for _, metric := range mf.GetMetric() {
			for _, l := range metric.GetLabel() {
				if strings.Contains(l.GetValue(), "1234") {
					t.Errorf("raw path in label %s=%s", l.GetName(), l.GetValue())
				}
			}
		}
	}
}

func TestMetricsRegisterTwice(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Fatal("second registration on one registry succeeded")
	}
}

// A matched route that answers 404 (an unknown item) keeps its pattern; only
// requests that match no route are "<unmatched>".
func TestMetricsNotFoundOnMatchedRoute(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(m.Handler)
	notFound := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }
	r.Route("/v2.1", func(r chi.Router) {
		r.Get("/os-services/{id}", notFound)
		r.Get("/files/*", notFound)
	})
	for _, p := range []string{"/v2.1/os-services/9", "/v2.1/files/a/b", "/v2.1/nothing"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/v2.1/os-services/9", nil))
	want := `
# HELP gonova_http_requests_total HTTP requests served, by chi route pattern, method and status code.
# TYPE gonova_http_requests_total counter
gonova_http_requests_total{code="404",method="GET",route="/v2.1/files/*"} 1
gonova_http_requests_total{code="404",method="GET",route="/v2.1/os-services/{id}"} 1
gonova_http_requests_total{code="404",method="GET",route="<unmatched>"} 1
gonova_http_requests_total{code="405",method="PUT",route="<unmatched>"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gonova_http_requests_total"); err != nil {
		t.Error(err)
	}
}
