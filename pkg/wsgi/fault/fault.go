package fault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
)

// GenericMessage is the message of an unexpected 500: webob's explanation
// for HTTPInternalServerError, which nova's FaultWrapper returns when it hides
// an exception's text from the client.
const GenericMessage = "The server has either erred or is incapable of performing the requested operation."

// Error is an API error with the status code and message nova would return.
// Handlers return it; Write renders it.
//
//	if svc == nil {
//		return fault.Newf(http.StatusNotFound, "Service %s not found.", id)
//	}
type Error struct {
	// Code is the HTTP status code, 400..599.
	Code int
	// Message is shown to the client as the body's "message".
	Message string
	// RetryAfter, when set on a 413 or 429, becomes the Retry-After header and
	// the body's "retryAfter" field, as nova does.
	RetryAfter string
	// Err is an optional cause for logs; it is never shown to the client.
	Err error
}

// New returns an *Error with code and message.
func New(code int, message string) *Error {
	return &Error{Code: code, Message: message}
}

// Newf returns an *Error whose message is fmt.Sprintf(format, args...).
func Newf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadRequest returns a 400 badRequest fault.
func BadRequest(message string) *Error { return New(http.StatusBadRequest, message) }

// NotFound returns a 404 itemNotFound fault.
func NotFound(message string) *Error { return New(http.StatusNotFound, message) }

// Conflict returns a 409 conflictingRequest fault.
func Conflict(message string) *Error { return New(http.StatusConflict, message) }

// Forbidden returns a 403 forbidden fault.
func Forbidden(message string) *Error { return New(http.StatusForbidden, message) }

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return strconv.Itoa(e.Code) + " " + Name(e.Code) + ": " + e.Message + ": " + e.Err.Error()
	}
	return strconv.Itoa(e.Code) + " " + Name(e.Code) + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Name returns nova's fault name for an HTTP status code.
func Name(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "badRequest"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "itemNotFound"
	case http.StatusMethodNotAllowed:
		return "badMethod"
	case http.StatusConflict:
		return "conflictingRequest"
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return "overLimit"
	case http.StatusUnsupportedMediaType:
		return "badMediaType"
	case http.StatusNotImplemented:
		return "notImplemented"
	case http.StatusServiceUnavailable:
		return "serviceUnavailable"
	}
	return "computeFault"
}

// Body is the decoded form of a fault body, for clients and tests.
type Body struct {
	Name       string
	Code       int    `json:"code"`
	Message    string `json:"message"`
	RetryAfter string `json:"retryAfter,omitempty"`
}

// Parse decodes a nova fault body such as
// {"itemNotFound": {"code": 404, "message": "..."}}. It fails unless the body
// is an object with exactly one key whose value has a code.
func Parse(data []byte) (Body, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return Body{}, fmt.Errorf("fault: not a JSON object: %w", err)
	}
	if len(m) != 1 {
		return Body{}, fmt.Errorf("fault: want one top-level key, got %d", len(m))
	}
	var b Body
	for name, raw := range m {
		if err := json.Unmarshal(raw, &b); err != nil {
			return Body{}, fmt.Errorf("fault: %s: %w", name, err)
		}
		b.Name = name
	}
	if b.Code == 0 {
		return Body{}, errors.New("fault: body has no code")
	}
	return b, nil
}

type loggerKey struct{}

// WithLogger returns a context whose unexpected errors Write logs to l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// UnavailableMessage is the message of a 503 for a backend that is down:
// webob's explanation for HTTPServiceUnavailable.
const UnavailableMessage = "The server is currently unavailable. Please try again at a later time."

// unavailable is the contract of errors caused by a backend being down (for
// example pkg/db's ErrUnavailable): Write answers them 503, not 500. Any
// package can mark its errors so without importing this one.
type unavailable interface{ ServiceUnavailable() bool }

// IsUnavailable reports whether err, or an error it wraps, says a backend
// is down.
func IsUnavailable(err error) bool {
	var u unavailable
	return errors.As(err, &u) && u.ServiceUnavailable()
}

// From converts any error into the *Error that Write would send: a *Error
// found with errors.As is returned as is (a code outside 400..599 becomes
// 500); an error that says a backend is down (IsUnavailable) becomes a 503
// serviceUnavailable; anything else becomes a 500 computeFault with
// GenericMessage.
func From(err error) (fe *Error, expected bool) {
	if IsUnavailable(err) {
		var inner *Error
		if errors.As(err, &inner) && inner != nil && inner.Code == http.StatusServiceUnavailable {
			return inner, true
		}
		return &Error{Code: http.StatusServiceUnavailable, Message: UnavailableMessage, Err: err}, true
	}
	if errors.As(err, &fe) && fe != nil {
		if fe.Code < 400 || fe.Code > 599 {
			return &Error{Code: http.StatusInternalServerError, Message: fe.Message, Err: fe.Err}, true
		}
		return fe, true
	}
	return &Error{Code: http.StatusInternalServerError, Message: GenericMessage, Err: err}, false
}

// Write sends err as a nova fault body. It keeps headers already set on w
// (request id, microversion, Vary) and sets Content-Type to
// application/json; charset=UTF-8.
//
//	func (h *handler) show(w http.ResponseWriter, r *http.Request) {
//		svc, err := h.store.Get(r.Context(), chi.URLParam(r, "id"))
//		if err != nil {
//			fault.Write(w, r, err)
//			return
//		}
//		...
//	}
func Write(w http.ResponseWriter, r *http.Request, err error) {
	fe, expected := From(err)
	ctx := r.Context()
	if fe.Code == http.StatusServiceUnavailable && IsUnavailable(err) {
		outages.observe(ctx, logger(ctx), err)
	} else if expected {
		logger(ctx).DebugContext(ctx, "returning fault to user",
			"code", fe.Code, "message", fe.Message)
	} else {
		logger(ctx).ErrorContext(ctx, "unexpected error in API handler",
			"method", r.Method, "path", r.URL.Path, "error", err)
	}
	WriteError(w, fe)
}

// WriteError renders fe without logging; middleware that already logged uses
// it.
func WriteError(w http.ResponseWriter, fe *Error) {
	name := Name(fe.Code)
	inner := map[string]any{"code": fe.Code, "message": fe.Message}
	if fe.RetryAfter != "" && (fe.Code == http.StatusRequestEntityTooLarge || fe.Code == http.StatusTooManyRequests) {
		inner["retryAfter"] = fe.RetryAfter
		w.Header().Set("Retry-After", fe.RetryAfter)
	}
	body, err := json.Marshal(map[string]any{name: inner})
	if err != nil { // a map of string, int and string cannot fail to marshal
		panic(err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Del("Content-Encoding")
	w.WriteHeader(fe.Code)
	_, _ = w.Write(body)
}
