package middleware

import (
	"context"
	"net/http"
	"regexp"

	"github.com/google/uuid"
)

// Header names of oslo.middleware's RequestId filter and nova's
// ComputeReqIdMiddleware (nova/api/compute_req_id.py).
const (
	// HeaderRequestID carries the local request id on every response, and
	// an upstream service's id on requests (then used as the global id).
	HeaderRequestID = "X-Openstack-Request-Id"
	// HeaderComputeRequestID is nova's original response header, still part
	// of its contract.
	HeaderComputeRequestID = "X-Compute-Request-Id"
)

// requestIDPattern is oslo.middleware's ID_FORMAT: only such ids are accepted
// as a global request id, so a client cannot inject arbitrary text into logs.
var requestIDPattern = regexp.MustCompile(`^req-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`)

type requestIDKey struct{}
type globalRequestIDKey struct{}

// NewRequestID returns a fresh id in oslo.context's form, "req-<uuid4>".
func NewRequestID() string { return "req-" + uuid.NewString() }

// ValidRequestID reports whether id has the form "req-<lower-case uuid>".
func ValidRequestID(id string) bool { return requestIDPattern.MatchString(id) }

// WithRequestID returns ctx carrying id as the local request id. RPC clients
// and servers use it to carry the id of the request that caused a call.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFromContext returns the local request id, or "" when none is set.
//
//	slog.InfoContext(ctx, "casting", "request_id", middleware.RequestIDFromContext(ctx))
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithGlobalRequestID returns ctx carrying id as the global request id: the id
// of the request in the first service of a chain of OpenStack services.
func WithGlobalRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, globalRequestIDKey{}, id)
}

// GlobalRequestIDFromContext returns the global request id, or "" when the
// request did not bring a valid one.
func GlobalRequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(globalRequestIDKey{}).(string)
	return id
}

// RequestID gives every request a new local id "req-<uuid>" and returns it in
// the X-Openstack-Request-Id and X-Compute-Request-Id response headers, as
// nova does. An inbound X-Openstack-Request-Id in oslo's form becomes the
// global request id; any other value is ignored. Like oslo.middleware, the
// local id is always generated here, never taken from the client, so that it
// is unique in this service's logs.
//
//	r := chi.NewRouter()
//	r.Use(middleware.RequestID)
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if g := r.Header.Get(HeaderRequestID); ValidRequestID(g) {
			ctx = WithGlobalRequestID(ctx, g)
		}
		id := NewRequestID()
		ctx = WithRequestID(ctx, id)
		h := w.Header()
		h.Set(HeaderRequestID, id)
		h.Set(HeaderComputeRequestID, id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
