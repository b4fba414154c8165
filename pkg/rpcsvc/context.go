package rpcsvc

import (
	"context"
	"encoding/json"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gonova/gonova/pkg/rpcsvc/wire"
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

// Shared values of toWire's maps (read only, capacity clipped so that an
// append cannot write into them).
var (
	rawNull      = json.RawMessage("null")[:4:4]
	rawTrue      = json.RawMessage("true")[:4:4]
	rawFalse     = json.RawMessage("false")[:5:5]
	rawEmptyList = json.RawMessage("[]")[:2:2]
)

// toWire flattens rc into `_context_*` values, filling trace context from ctx.
// The values are sub-slices of one buffer: a map and a buffer per message,
// not a json.Marshal per key.
func (rc Context) toWire(ctx context.Context) map[string]json.RawMessage {
	m := make(map[string]json.RawMessage, 8+len(rc.Extra))
	for k, v := range rc.Extra {
		m[k] = v
	}
	if rc.TraceParent == "" && trace.SpanContextFromContext(ctx).IsValid() {
		carrier := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(ctx, carrier)
		rc.TraceParent, rc.TraceState = carrier["traceparent"], carrier["tracestate"]
	}
	n := len(rc.RequestID) + len(rc.GlobalRequestID) + len(rc.UserID) + len(rc.ProjectID) + len(rc.TraceParent) + len(rc.TraceState) + 32
	for _, r := range rc.Roles {
		n += len(r) + 3
	}
	var buf []byte
	if n > 32 {
		buf = make([]byte, 0, 2*n) // escapes may grow it; then values just live in two
	}
	putStr := func(k, v string) {
		if v == "" {
			m[k] = rawNull
			return
		}
		start := len(buf)
		buf = appendJSONString(buf, v)
		m[k] = buf[start:len(buf):len(buf)]
	}
	putStr(ckRequestID, rc.RequestID)
	putStr(ckGlobalRequestID, rc.GlobalRequestID)
	putStr(ckUserID, rc.UserID)
	putStr(ckProjectID, rc.ProjectID)
	if len(rc.Roles) == 0 {
		m[ckRoles] = rawEmptyList
	} else {
		start := len(buf)
		buf = append(buf, '[')
		for i, r := range rc.Roles {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, r)
		}
		buf = append(buf, ']')
		m[ckRoles] = buf[start:len(buf):len(buf)]
	}
	if rc.IsAdmin {
		m[ckIsAdmin] = rawTrue
	} else {
		m[ckIsAdmin] = rawFalse
	}
	if rc.TraceParent != "" {
		putStr(ckTraceParent, rc.TraceParent)
		if rc.TraceState != "" {
			putStr(ckTraceState, rc.TraceState)
		}
	}
	return m
}

// wireMembers is toWire as wire.ContextMembers appended to dst (a caller's
// array: no map per message). String values share one buffer.
func (rc Context) wireMembers(ctx context.Context, dst []wire.ContextMember) []wire.ContextMember {
	if rc.TraceParent == "" && trace.SpanContextFromContext(ctx).IsValid() {
		carrier := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(ctx, carrier)
		rc.TraceParent, rc.TraceState = carrier["traceparent"], carrier["tracestate"]
	}
	for k, v := range rc.Extra {
		switch {
		case k == ckRequestID, k == ckGlobalRequestID, k == ckUserID, k == ckProjectID, k == ckRoles, k == ckIsAdmin,
			k == ckTraceParent && rc.TraceParent != "", k == ckTraceState && rc.TraceParent != "" && rc.TraceState != "":
			continue // the field wins, as in toWire
		}
		dst = append(dst, wire.ContextMember{Key: k, Value: v})
	}
	var buf []byte
	if n := len(rc.RequestID) + len(rc.GlobalRequestID) + len(rc.UserID) + len(rc.ProjectID) + len(rc.TraceParent) + len(rc.TraceState); n > 0 || len(rc.Roles) > 0 {
		for _, r := range rc.Roles {
			n += len(r) + 3
		}
		buf = make([]byte, 0, n+16)
	}
	str := func(k, v string) {
		if v == "" {
			dst = append(dst, wire.ContextMember{Key: k, Value: rawNull})
			return
		}
		start := len(buf)
		buf = appendJSONString(buf, v)
		dst = append(dst, wire.ContextMember{Key: k, Value: buf[start:len(buf):len(buf)]})
	}
	str(ckRequestID, rc.RequestID)
	str(ckGlobalRequestID, rc.GlobalRequestID)
	str(ckUserID, rc.UserID)
	str(ckProjectID, rc.ProjectID)
	roles := rawEmptyList
	if len(rc.Roles) > 0 {
		start := len(buf)
		buf = append(buf, '[')
		for i, r := range rc.Roles {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, r)
		}
		buf = append(buf, ']')
		roles = buf[start:len(buf):len(buf)]
	}
	dst = append(dst, wire.ContextMember{Key: ckRoles, Value: roles})
	admin := rawFalse
	if rc.IsAdmin {
		admin = rawTrue
	}
	dst = append(dst, wire.ContextMember{Key: ckIsAdmin, Value: admin})
	if rc.TraceParent != "" {
		str(ckTraceParent, rc.TraceParent)
		if rc.TraceState != "" {
			str(ckTraceState, rc.TraceState)
		}
	}
	return dst
}

// appendJSONString appends s as json.Marshal writes a string.
func appendJSONString(dst []byte, s string) []byte {
	if plainASCII(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(s) // a string cannot fail
	return append(dst, b...)
}

// plainASCII reports whether json.Marshal writes s as it is, between quotes.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
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
		if string(raw) == "null" {
			return
		}
		if s, ok := plainJSONString(raw); ok {
			*dst = s
			return
		}
		if s, ok := unmarshalAs[string](raw); ok {
			*dst = s
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
		if string(raw) == "[]" {
			rc.Roles = []string{}
		} else if roles, ok := unmarshalAs[[]string](raw); ok {
			rc.Roles = roles
		} else {
			rc.extra(ckRoles, raw)
		}
	}
	if raw, ok := m[ckIsAdmin]; ok && string(raw) != "null" {
		switch string(raw) {
		case "true":
			rc.IsAdmin = true
		case "false":
		default:
			if b, ok := unmarshalAs[bool](raw); ok {
				rc.IsAdmin = b
			} else {
				rc.extra(ckIsAdmin, raw)
			}
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

// unmarshalAs is json.Unmarshal into a fresh T (a function of its own, so
// that only this slow path pays for the value escaping to the heap).
func unmarshalAs[T any](raw json.RawMessage) (T, bool) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err == nil
}

// plainJSONString decodes a JSON string without escapes, as json.Unmarshal
// would, without its pass over the value; ok is false for anything else.
func plainJSONString(raw json.RawMessage) (string, bool) {
	n := len(raw)
	if n < 2 || raw[0] != '"' || raw[n-1] != '"' {
		return "", false
	}
	for _, c := range raw[1 : n-1] {
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(raw[1 : n-1]), true
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
