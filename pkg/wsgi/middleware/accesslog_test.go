package middleware

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
)

func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	r := chi.NewRouter()
	r.Use(RequestID, AccessLog(logger))
	r.Get("/v2.1/os-services/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-OpenStack-Nova-API-Version", "2.53")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("hello"))
	})
	r.Get("/boom", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	})

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/v2.1/os-services/42", nil))
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log is not one JSON record: %v: %s", err, buf.String())
	}
	want := map[string]any{
		"level": "INFO", "msg": "request served", "method": "GET",
		"route": "/v2.1/os-services/{id}", "path": "/v2.1/os-services/42",
		"status": float64(202), "bytes": float64(5), "microversion": "2.53",
		"request_id": w.Header().Get(HeaderRequestID),
	}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v", k, rec[k], v)
		}
	}
	if d, ok := rec["duration_seconds"].(float64); !ok || d < 0 {
		t.Errorf("duration_seconds = %v", rec["duration_seconds"])
	}
	if _, ok := rec["global_request_id"]; ok {
		t.Error("global_request_id logged without one")
	}

	buf.Reset()
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/boom", nil))
	rec = nil
	_ = json.Unmarshal(buf.Bytes(), &rec)
	if rec["level"] != "ERROR" || rec["status"] != float64(503) {
		t.Errorf("5xx record = %v", rec)
	}

	buf.Reset()
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nope/123", nil))
	rec = nil
	_ = json.Unmarshal(buf.Bytes(), &rec)
	if rec["route"] != "<unmatched>" || rec["status"] != float64(404) {
		t.Errorf("unmatched record = %v", rec)
	}
}
