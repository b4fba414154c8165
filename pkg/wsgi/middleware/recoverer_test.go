package middleware

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

func TestRecovererWritesComputeFault(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	h := RequestID(Recoverer(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic("db password is hunter2")
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != 500 {
		t.Fatalf("code = %d", w.Code)
	}
	if strings.Contains(w.Body.String(), "hunter2") {
		t.Fatalf("panic text reached the client: %s", w.Body)
	}
	b, err := fault.Parse(w.Body.Bytes())
	if err != nil || b.Name != "computeFault" || b.Code != 500 || b.Message != fault.GenericMessage {
		t.Errorf("body = %+v, %v", b, err)
	}
	if w.Header().Get(HeaderRequestID) == "" {
		t.Error("request id header lost on a panic")
	}
	for _, want := range []string{"level=ERROR", "hunter2", "recoverer_test.go", w.Header().Get(HeaderRequestID)} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q: %s", want, logs.String())
		}
	}
}

func TestRecovererAbortsStartedResponse(t *testing.T) {
	srv := httptest.NewServer(Recoverer(slog.New(slog.NewTextHandler(io.Discard, nil)))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("partial"))
			w.(http.Flusher).Flush()
			panic("late")
		})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		return // the connection was cut before headers: acceptable
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("a response broken by a panic was read as complete")
	}
}

func TestRecovererPassesErrAbortHandler(t *testing.T) {
	h := Recoverer(slog.New(slog.NewTextHandler(io.Discard, nil)))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if rec := recover(); rec == nil || !errors.Is(rec.(error), http.ErrAbortHandler) {
			t.Errorf("recovered %v, want http.ErrAbortHandler re-raised", rec)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}
