package middleware

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	chimw "github.com/go-chi/chi/v5/middleware"

	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// Recoverer turns a panic in a handler into a 500 computeFault with nova's
// generic message and logs the panic value and stack at ERROR. The panic text
// never reaches the client. http.ErrAbortHandler is re-raised, as net/http
// uses it to abort a response on purpose. When the handler had already
// started its response, Recoverer cannot change the status: it logs and then
// aborts the connection (panic(http.ErrAbortHandler)), so the client sees a
// broken response rather than a truncated one that looks complete.
//
//	r.Use(middleware.Recoverer(logger))
func Recoverer(logger *slog.Logger) func(http.Handler) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				rec := recover()
				if rec == nil {
					return
				}
				if rec == http.ErrAbortHandler { //nolint:errorlint // net/http compares it the same way
					panic(rec)
				}
				ctx := r.Context()
				logger.ErrorContext(ctx, "panic in HTTP handler",
					"method", r.Method,
					"path", r.URL.Path,
					"request_id", RequestIDFromContext(ctx),
					"panic", rec,
					"stack", string(debug.Stack()))
				if ww.Status() != 0 {
					panic(http.ErrAbortHandler)
				}
				fault.WriteError(ww, fault.New(http.StatusInternalServerError, fault.GenericMessage))
			}()
			next.ServeHTTP(ww, r)
		})
	}
}
