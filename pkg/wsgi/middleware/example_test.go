package middleware_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/wsgi/microversion"
	"github.com/gonova/gonova/pkg/wsgi/middleware"
)

// The usual chain, outermost first. wsgi.NewRouter installs it; a service
// that builds its own router uses the same order. The request body cap
// (MaxRequestBody) is not part of it: wsgi.Service applies it once.
func Example() {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	metrics, err := middleware.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		fmt.Println(err)
		return
	}
	mv, _ := microversion.New(microversion.Options{})

	r := chi.NewRouter()
	r.Use(middleware.RequestID)         // ids first: everything below logs them
	r.Use(middleware.AccessLog(logger)) // sees the final status, even of a panic
	r.Use(metrics.Handler)              // likewise; reads the chi route pattern
	r.Use(middleware.Recoverer(logger)) // turns a panic into a 500 computeFault
	r.Use(middleware.Inputs)            // a path or query no store could take is a 400
	r.Use(mv.Handler)                   // microversion headers on every response
	// then auth.Middleware(...) on the routes that need a token.
	r.Get("/v2.1/os-services/{id}", func(w http.ResponseWriter, r *http.Request) {
		panic("db password is hunter2") // never reaches the client
	})

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/v2.1/os-services/1", nil))
	fmt.Println(w.Code, strings.HasPrefix(w.Header().Get(middleware.HeaderRequestID), "req-"))
	fmt.Println(w.Body.String())
	// Output:
	// 500 true
	// {"computeFault":{"code":500,"message":"The server has either erred or is incapable of performing the requested operation."}}
}
