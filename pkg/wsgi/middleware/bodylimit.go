package middleware

import "net/http"

// MaxRequestBody caps request bodies at limit bytes, as oslo's sizelimit
// filter caps them at [oslo_middleware] max_request_body_size; limit <= 0
// means no cap. A handler reading past the cap gets an *http.MaxBytesError,
// which wsgi.DecodeJSON turns into nova's 413 overLimit fault, and the server
// closes the connection after the response.
//
// wsgi.Service applies it to every request from Options.MaxRequestBodySize,
// so routers do not add it again; it is exported for handlers served by
// something else, such as a test calling a router directly.
//
//	h = middleware.MaxRequestBody(114688)(h)
func MaxRequestBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if limit <= 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			next.ServeHTTP(w, r)
		})
	}
}
