package rpcsvc

import (
	"context"
	"encoding/json"

	"go.opentelemetry.io/otel/propagation"
)

// Context is the request context that travels with every message as
// `_context_<key>` (oslo.context's to_dict), plus W3C trace context.
//
//	ctx = rpcsvc.NewContext(ctx, rpcsvc.Context{RequestID: "req-...", UserID: "u", Roles: []string{"admin"}})
//	// in a handler:
//	rc, _ := rpcsvc.ContextFrom(ctx)
type Context struct {
	RequestID       string
	GlobalRequestID string
	UserID          string
	ProjectID       string
	Roles           []string
	IsAdmin         bool
	// TraceParent and TraceState are W3C trace context. On send, when empty,
	// they are taken from an OpenTelemetry span in ctx.
	TraceParent string
	TraceState  string
	// Extra holds every other key (auth_token, user_name, nova's
	// remote_address, ...), passed through unchanged.
	Extra map[string]json.RawMessage
}

type ctxKey struct{}

// NewContext returns ctx carrying rc; a Client sends it with each message.
func NewContext(ctx context.Context, rc Context) context.Context {
	return context.WithValue(ctx, ctxKey{}, rc)
}

// ContextFrom returns the request context of ctx: in a handler, the one the
// caller sent.
func ContextFrom(ctx context.Context) (Context, bool) {
	rc, ok := ctx.Value(ctxKey{}).(Context)
	return rc, ok
}

// Wire key names (oslo.context's to_dict).
const (
	ckRequestID       = "request_id"
	ckGlobalRequestID = "global_request_id"
	ckUserID          = "user_id"
	ckProjectID       = "project_id"
	ckRoles           = "roles"
	ckIsAdmin         = "is_admin"
	ckTraceParent     = "traceparent"
	ckTraceState      = "tracestate"
)

// toWire flattens rc into `_context_*` values, filling trace context from ctx.
func (rc Context) toWire(ctx context.Context) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, 8+len(rc.Extra))
	for k, v := range rc.Extra {
		m[k] = v
	}
	if rc.TraceParent == "" {
		carrier := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(ctx, carrier)
		rc.TraceParent, rc.TraceState = carrier["traceparent"], carrier["tracestate"]
	}
	put := func(k string, v any) {
		b, _ := json.Marshal(v) // strings, bools and []string cannot fail
		m[k] = b
	}
	putStr := func(k, v string) {
		if v == "" {
			m[k] = json.RawMessage("null")
			return
		}
		put(k, v)
	}
	putStr(ckRequestID, rc.RequestID)
	putStr(ckGlobalRequestID, rc.GlobalRequestID)
	putStr(ckUserID, rc.UserID)
	putStr(ckProjectID, rc.ProjectID)
	roles := rc.Roles
	if roles == nil {
		roles = []string{}
	}
	put(ckRoles, roles)
	put(ckIsAdmin, rc.IsAdmin)
	if rc.TraceParent != "" {
		put(ckTraceParent, rc.TraceParent)
		if rc.TraceState != "" {
			put(ckTraceState, rc.TraceState)
		}
	}
	return m
}

// contextFromWire rebuilds a Context from `_context_*` values. Known keys of
// the wrong type are kept in Extra rather than lost.
func contextFromWire(m map[string]json.RawMessage) Context {
	var rc Context
	str := func(k string, dst *string) {
		raw, ok := m[k]
		if !ok {
			return
		}
		if string(raw) == "null" || json.Unmarshal(raw, dst) == nil {
			return
		}
		rc.extra(k, raw)
	}
	str(ckRequestID, &rc.RequestID)
	str(ckGlobalRequestID, &rc.GlobalRequestID)
	str(ckUserID, &rc.UserID)
	str(ckProjectID, &rc.ProjectID)
	str(ckTraceParent, &rc.TraceParent)
	str(ckTraceState, &rc.TraceState)
	if raw, ok := m[ckRoles]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &rc.Roles) != nil {
			rc.extra(ckRoles, raw)
		}
	}
	if raw, ok := m[ckIsAdmin]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &rc.IsAdmin) != nil {
			rc.extra(ckIsAdmin, raw)
		}
	}
	for k, v := range m {
		switch k {
		case ckRequestID, ckGlobalRequestID, ckUserID, ckProjectID, ckRoles, ckIsAdmin, ckTraceParent, ckTraceState:
		default:
			rc.extra(k, v)
		}
	}
	return rc
}

func (rc *Context) extra(k string, v json.RawMessage) {
	if rc.Extra == nil {
		rc.Extra = make(map[string]json.RawMessage)
	}
	rc.Extra[k] = v
}

// traceContext returns ctx with the W3C trace context of rc extracted, so that
// OpenTelemetry spans started by a handler join the caller's trace.
func (rc Context) traceContext(ctx context.Context) context.Context {
	if rc.TraceParent == "" {
		return ctx
	}
	carrier := propagation.MapCarrier{"traceparent": rc.TraceParent}
	if rc.TraceState != "" {
		carrier["tracestate"] = rc.TraceState
	}
	return propagation.TraceContext{}.Extract(ctx, carrier)
}
