package wsgi

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// benchBody is what both handlers write: an empty os-services list.
const benchBody = `{"services": []}`

func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchBody)
	})
}

func benchRequest() *http.Request {
	r := httptest.NewRequest("GET", "/v2.1/os-services", nil)
	r.Header.Set("X-Auth-Token", "admin:admin")
	r.Header.Set("OpenStack-API-Version", "compute 2.53")
	return r
}

// serveN serves n requests and returns the time per request.
func serveN(h http.Handler, r *http.Request, n int) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			panic("benchmark handler answered " + w.Result().Status)
		}
	}
	return time.Since(start) / time.Duration(n)
}

// BenchmarkChainOverhead measures, in one run, the standard chain (chi, request
// id, JSON access log to io.Discard, metrics, recovery, microversion, noauth2,
// policy) against a bare net/http handler writing the same body, and reports
// the ratio as "x-bare".
//
//	go test ./pkg/wsgi -run '^$' -bench ChainOverhead -benchmem
func BenchmarkChainOverhead(b *testing.B) {
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	full := fullRouter(b, logger, prometheus.NewRegistry())
	bare := bareHandler()
	r := benchRequest()
	serveN(full, r, 100) // warm pools and metric series
	serveN(bare, r, 100)
	b.ReportAllocs()
	b.ResetTimer()
	var fullTotal, bareTotal time.Duration
	for i := 0; i < b.N; i++ {
		fullTotal += serveN(full, r, 1)
		bareTotal += serveN(bare, r, 1)
	}
	b.StopTimer()
	fullNs := float64(fullTotal.Nanoseconds()) / float64(b.N)
	bareNs := float64(bareTotal.Nanoseconds()) / float64(b.N)
	b.ReportMetric(fullNs, "chain-ns/req")
	b.ReportMetric(bareNs, "bare-ns/req")
	b.ReportMetric(fullNs-bareNs, "overhead-ns/req")
	b.ReportMetric(fullNs/bareNs, "x-bare")
}

// BenchmarkBare and BenchmarkChain give ns/op and allocs/op of each alone.
func BenchmarkBare(b *testing.B) {
	h, r := bareHandler(), benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

func BenchmarkChain(b *testing.B) {
	h := fullRouter(b, slog.New(slog.NewJSONHandler(io.Discard, nil)), prometheus.NewRegistry())
	r := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}
