package policy

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// Rule is a rule written as a Go function, for New. It is never called
// with a nil Context. Services with nova's rules use NewEnforcer and check
// strings instead, so that operators can override them.
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

// funcCheck runs a Go Rule on the caller; it exists only in Enforcers made
// by New.
type funcCheck struct{ f Rule }

func (funcCheck) String() string { return "<go rule>" }
func (c funcCheck) eval(e *evaluation, _ int) bool {
	return e.caller != nil && c.f(e.caller)
}

// New returns an Enforcer over Go rules (a copy of the map), logging to
// slog.Default(). It reads no policy file and checks no scope.
//
//	enf := policy.New(map[string]policy.Rule{"os_compute_api:os-services:list": policy.Admin})
func New(rules map[string]Rule) *Enforcer {
	return NewWithLogger(rules, nil)
}

// NewWithLogger is New with a logger.
func NewWithLogger(rules map[string]Rule, logger *slog.Logger) *Enforcer {
	e := newEnforcer(Options{Logger: logger})
	rs := &ruleSet{rules: map[string]Check{}, registered: map[string]*RuleDefault{}}
	for name, f := range rules {
		rs.rules[name] = funcCheck{f}
		rs.registered[name] = &RuleDefault{Name: name}
	}
	e.current.Store(rs)
	return e
}

// NotAuthorized returns nova's PolicyNotAuthorized fault for action.
func NotAuthorized(action string) *fault.Error {
	return fault.Newf(http.StatusForbidden, "Policy doesn't allow %s to be performed.", action)
}

// Authorize returns nil when the caller in ctx may perform action on its
// own project: the target is nova's default, {"project_id": the caller's
// project, "user_id": the caller}. Otherwise it returns a *fault.Error: 403
// forbidden with nova's message, or 401 when ctx has no caller (the route
// is not behind auth.Middleware). An action that is not registered is
// refused and logged at ERROR: a typo must not open an API.
func (e *Enforcer) Authorize(ctx context.Context, action string) error {
	return e.AuthorizeTarget(ctx, action, nil)
}

// AuthorizeTarget is Authorize on the object acted on, as nova's
// context.can(action, target):
//
//	err := enf.AuthorizeTarget(ctx, "os_compute_api:servers:show",
//		policy.Target{"project_id": inst.ProjectID, "user_id": inst.UserID})
//
// A nil target is the caller's DefaultTarget.
func (e *Enforcer) AuthorizeTarget(ctx context.Context, action string, target Target) error {
	c, ok := auth.FromContext(ctx)
	if !ok {
		return auth.ErrUnauthorized()
	}
	if target == nil {
		target = DefaultTarget(c)
	}
	if !e.enforce(ctx, action, target, CredentialsOf(c), c) {
		e.logger.DebugContext(ctx, "policy refused", "action", action,
			"user_id", c.UserID, "project_id", c.ProjectID, "request_id", c.RequestID)
		return NotAuthorized(action)
	}
	return nil
}

// Allowed reports whether the caller in ctx may perform action on target
// (nil: the caller's own project), without logging a refusal: for
// decisions that shape a response rather than refuse it, such as
// os_compute_api:servers:show:host_status.
func (e *Enforcer) Allowed(ctx context.Context, action string, target Target) bool {
	c, ok := auth.FromContext(ctx)
	if !ok {
		return false
	}
	if target == nil {
		target = DefaultTarget(c)
	}
	return e.enforce(ctx, action, target, CredentialsOf(c), c)
}

// Require is middleware that lets a request through only when Authorize
// allows action (on the caller's own project).
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

// RequireTarget is Require with a fixed target: nova checks its operator
// APIs (os-services, os-hypervisors) with the empty target, so that an
// override naming %(project_id)s refuses instead of matching the caller's
// own project.
//
//	r.With(enf.RequireTarget("os_compute_api:os-services:list", policy.Target{})).Get("/os-services", list)
func (e *Enforcer) RequireTarget(action string, target Target) func(http.Handler) http.Handler {
	if target == nil {
		target = Target{}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := e.AuthorizeTarget(r.Context(), action, target); err != nil {
				fault.Write(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// IsAdmin is nova's check_is_admin: whether context_is_admin allows the
// caller on its own project. An authenticator sets auth.Context.IsAdmin
// from it, as nova's RequestContext does when Keystone did not say.
func (e *Enforcer) IsAdmin(c *auth.Context) bool {
	return e.enforce(context.Background(), "context_is_admin", DefaultTarget(c), CredentialsOf(c), c)
}

// DefaultTarget is nova's default target: the caller's own project and
// user.
func DefaultTarget(c *auth.Context) Target {
	return Target{"project_id": c.ProjectID, "user_id": c.UserID}
}

// CredentialsOf is what oslo.context's to_policy_values and nova give
// oslo.policy for a caller: user_id, user_domain_id, project_id,
// project_domain_id, domain_id, system_scope (and system, as oslo copies
// it), roles and is_admin. Empty strings are None, as in Python.
func CredentialsOf(c *auth.Context) Credentials {
	roles := make([]string, len(c.Roles))
	copy(roles, c.Roles)
	cr := Credentials{
		"user_id":           none(c.UserID),
		"user_domain_id":    none(c.UserDomainID),
		"project_id":        none(c.ProjectID),
		"project_domain_id": none(c.ProjectDomainID),
		"domain_id":         none(c.DomainID),
		"system_scope":      none(c.SystemScope),
		"roles":             roles,
		"is_admin":          c.IsAdmin,
	}
	if c.SystemScope != "" {
		cr["system"] = c.SystemScope
	}
	return cr
}

func none(s string) any {
	if s == "" {
		return nil
	}
	return s
}
