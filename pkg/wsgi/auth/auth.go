package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gonova/gonova/pkg/wsgi/fault"
	"github.com/gonova/gonova/pkg/wsgi/middleware"
)

// Context describes the caller of one request: nova's RequestContext, as far
// as the API layer needs it.
type Context struct {
	UserID    string
	ProjectID string
	Roles     []string
	IsAdmin   bool
	// The rest is what Keystone says of a validated token (package
	// keystone); noauth2 leaves it empty. Names are display names; the ids
	// above are what policy and the database use.
	UserName          string
	UserDomainID      string
	UserDomainName    string
	ProjectName       string
	ProjectDomainID   string
	ProjectDomainName string
	// DomainID and DomainName are set for a domain-scoped token.
	DomainID   string
	DomainName string
	// SystemScope is "all" for a system-scoped token.
	SystemScope string
	// IsAdminProject is Keystone's is_admin_project (true when Keystone has
	// no admin project configured, as keystonemiddleware reads it).
	IsAdminProject bool
	// ServiceCatalog is the token's catalog as Keystone's v3 JSON array, when
	// the validator asked for it (include_service_catalog). Read-only: it
	// may be shared with the validator's cache.
	ServiceCatalog json.RawMessage
	// AuthToken is the caller's token, for calls to other services on the
	// caller's behalf (nova's context.auth_token). Never log it.
	AuthToken string `json:"-"`
	// RequestID and GlobalRequestID come from the request-id middleware; RPC
	// clients copy them into messages so computes log the same ids.
	RequestID       string
	GlobalRequestID string
	// RemoteAddress is the client's IP address.
	RemoteAddress string
}

// HasRole reports whether the caller has role (compared without regard to
// case, as oslo.policy's role check does).
func (c *Context) HasRole(role string) bool {
	return slices.ContainsFunc(c.Roles, func(r string) bool { return strings.EqualFold(r, role) })
}

// Authenticator finds the caller of a request. It returns a *fault.Error
// (usually 401) when the request is not authenticated; any other error is
// treated as a failure of the authenticator itself (500).
type Authenticator interface {
	Authenticate(r *http.Request) (*Context, error)
}

// Challenger is an Authenticator that tells a refused client where to
// authenticate: the middleware sends Challenge() as the WWW-Authenticate
// header of every 401 it answers (Keystone's `Keystone uri="..."`).
type Challenger interface {
	Challenge() string
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (*Context, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (*Context, error) { return f(r) }

// MessageUnauthorized is the 401 message, keystonemiddleware's wording.
const MessageUnauthorized = "The request you have made requires authentication."

// ErrUnauthorized is the fault for a request without valid credentials.
func ErrUnauthorized() *fault.Error {
	return fault.New(http.StatusUnauthorized, MessageUnauthorized)
}

type contextKey struct{}

// NewContext returns ctx carrying the caller c.
func NewContext(ctx context.Context, c *Context) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// FromContext returns the caller stored by the middleware.
//
//	caller, ok := auth.FromContext(r.Context())
//	if !ok { ... } // the route is not behind auth.Middleware
func FromContext(ctx context.Context) (*Context, bool) {
	c, ok := ctx.Value(contextKey{}).(*Context)
	return c, ok && c != nil
}

// Middleware authenticates each request with a. A refused request gets the
// authenticator's fault (401 unauthorized) and never reaches next. The
// caller's Context gets the request ids and remote address when the
// authenticator left them empty.
//
//	r.Use(auth.Middleware(auth.NoAuth{}))
func Middleware(a Authenticator) func(http.Handler) http.Handler {
	return MiddlewareWithLogger(a, nil)
}

// MiddlewareWithLogger is Middleware logging refusals to logger instead of
// slog.Default().
func MiddlewareWithLogger(a Authenticator, logger *slog.Logger) func(http.Handler) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			c, err := a.Authenticate(r)
			if err == nil && c == nil {
				err = ErrUnauthorized()
			}
			if err == nil {
				if reason := c.invalid(); reason != "" {
					err = &fault.Error{Code: http.StatusUnauthorized, Message: MessageUnauthorized, Err: errors.New(reason)}
				}
			}
			if err != nil {
				if fe, expected := fault.From(err); expected {
					reason := fe.Message
					if fe.Err != nil {
						reason = fe.Err.Error()
					}
					logger.InfoContext(ctx, "request not authenticated",
						"reason", reason, "request_id", middleware.RequestIDFromContext(ctx))
				}
				if fe, _ := fault.From(err); fe.Code == http.StatusUnauthorized {
					if ch, ok := a.(Challenger); ok {
						w.Header().Set("WWW-Authenticate", ch.Challenge())
					}
				}
				fault.Write(w, r, err)
				return
			}
			if c.RequestID == "" {
				c.RequestID = middleware.RequestIDFromContext(ctx)
			}
			if c.GlobalRequestID == "" {
				c.GlobalRequestID = middleware.GlobalRequestIDFromContext(ctx)
			}
			if c.RemoteAddress == "" {
				c.RemoteAddress = remoteIP(r.RemoteAddr)
			}
			next.ServeHTTP(w, r.WithContext(NewContext(ctx, c)))
		})
	}
}

// MaxIDLength is the longest user, project or role name a Context may carry:
// the varchar(255) columns they are stored in (instances.user_id, ...).
const MaxIDLength = 255

// invalid says why c cannot be used (an identity no store could record:
// longer than MaxIDLength, not UTF-8, or holding a control character), or
// "" when it can. Whatever the authenticator, such a caller is refused with
// 401 before any handler runs; the reason names the field, never its value.
func (c *Context) invalid() string {
	check := func(field, v string) string {
		switch {
		case !utf8.ValidString(v):
			return "the token's " + field + " is not valid UTF-8"
		case utf8.RuneCountInString(v) > MaxIDLength:
			return "the token's " + field + " is longer than 255 characters"
		case strings.ContainsFunc(v, unicode.IsControl):
			return "the token's " + field + " contains a control character"
		}
		return ""
	}
	if r := check("user", c.UserID); r != "" {
		return r
	}
	if r := check("project", c.ProjectID); r != "" {
		return r
	}
	for _, role := range c.Roles {
		if r := check("role", role); r != "" {
			return r
		}
	}
	return ""
}

func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}
