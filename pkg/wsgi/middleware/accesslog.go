package middleware

import (
	"log/slog"
	"net/http"
	"time"

	chimw "github.com/go-chi/chi/v5/middleware"
)

// AccessLog logs one record for each request once it is served: method,
// route pattern, path, status, bytes written, duration and request ids (nova's
// requestlog middleware logs the same facts). Put it inside RequestID so the
// ids are known.
//
//	r.Use(middleware.RequestID, middleware.AccessLog(slog.Default()))
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			probe := probeRoute(r)
			ww := chimw.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				status := ww.Status()
				if status == 0 {
					status = http.StatusOK
				}
				level := slog.LevelInfo
				if status >= 500 {
					level = slog.LevelError
				}
				ctx := r.Context()
				attrs := []slog.Attr{
					slog.String("method", r.Method),
					slog.String("route", probe.pattern(r, status)),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int("bytes", ww.BytesWritten()),
					slog.Float64("duration_seconds", time.Since(start).Seconds()),
					slog.String("remote_addr", r.RemoteAddr),
					slog.String("request_id", RequestIDFromContext(ctx)),
				}
				if g := GlobalRequestIDFromContext(ctx); g != "" {
					attrs = append(attrs, slog.String("global_request_id", g))
				}
				if v := ww.Header().Get("X-Openstack-Nova-Api-Version"); v != "" {
					attrs = append(attrs, slog.String("microversion", v))
				}
				logger.LogAttrs(ctx, level, "request served", attrs...)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}
