package policy

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// Rule decides for one caller. It is never called with a nil Context.
type Rule func(c *auth.Context) bool

// Admin is nova's context_is_admin (role:admin), or'ed with its deprecated
// admin_api rule (is_admin:True).
func Admin(c *auth.Context) bool { return c.IsAdmin || c.HasRole("admin") }

// Anyone allows every authenticated caller.
func Anyone(*auth.Context) bool { return true }

// Role allows callers with the role.
func Role(name string) Rule { return func(c *auth.Context) bool { return c.HasRole(name) } }

// Any allows a caller that one of rules allows.
func Any(rules ...Rule) Rule {
	return func(c *auth.Context) bool {
		for _, r := range rules {
			if r(c) {
				return true
			}
		}
		return false
	}
}

// All allows a caller that every rule allows.
func All(rules ...Rule) Rule {
	return func(c *auth.Context) bool {
		for _, r := range rules {
			if !r(c) {
				return false
			}
		}
		return true
	}
}

// Enforcer holds the rule of each action. Create it with New; it is safe for
// concurrent use and immutable.
type Enforcer struct {
	rules  map[string]Rule
	logger *slog.Logger
}

// New returns an Enforcer over a copy of rules, logging to slog.Default().
func New(rules map[string]Rule) *Enforcer {
	return NewWithLogger(rules, nil)
}

// NewWithLogger is New with a logger.
func NewWithLogger(rules map[string]Rule, logger *slog.Logger) *Enforcer {
	if logger == nil {
		logger = slog.Default()
	}
	m := make(map[string]Rule, len(rules))
	for k, v := range rules {
		m[k] = v
	}
	return &Enforcer{rules: m, logger: logger}
}

// NotAuthorized returns nova's PolicyNotAuthorized fault for action.
func NotAuthorized(action string) *fault.Error {
	return fault.Newf(http.StatusForbidden, "Policy doesn't allow %s to be performed.", action)
}

// Authorize returns nil when the caller in ctx may perform action. Otherwise
// it returns a *fault.Error: 403 forbidden with nova's message, or 401 when
// ctx has no caller (the route is not behind auth.Middleware).
func (e *Enforcer) Authorize(ctx context.Context, action string) error {
	c, ok := auth.FromContext(ctx)
	if !ok {
		return auth.ErrUnauthorized()
	}
	rule, ok := e.rules[action]
	if !ok {
		e.logger.ErrorContext(ctx, "policy action has no rule; refusing", "action", action)
		return NotAuthorized(action)
	}
	if !rule(c) {
		e.logger.DebugContext(ctx, "policy refused", "action", action,
			"user_id", c.UserID, "project_id", c.ProjectID, "request_id", c.RequestID)
		return NotAuthorized(action)
	}
	return nil
}

// Require is middleware that lets a request through only when Authorize
// allows action.
//
//	r.With(enf.Require("os_compute_api:os-services:list")).Get("/os-services", list)
func (e *Enforcer) Require(action string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := e.Authorize(r.Context(), action); err != nil {
				fault.Write(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
