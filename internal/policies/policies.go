package policies

import (
	"log/slog"
	"strings"

	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// Check strings of nova's base rules (nova/policies/base.py), which most
// rules name.
const (
	// Admin is nova's ADMIN: the caller has the admin role.
	Admin = "rule:context_is_admin"
	// ProjectMember and ProjectReader are a member (reader) of the target's
	// project.
	ProjectMember = "rule:project_member_api"
	ProjectReader = "rule:project_reader_api"
	// ProjectMemberOrAdmin and ProjectReaderOrAdmin add admins of any
	// project: what most server APIs allow.
	ProjectMemberOrAdmin = "rule:project_member_or_admin"
	ProjectReaderOrAdmin = "rule:project_reader_or_admin"
	// RuleAdminOrOwner and RuleAdminAPI are the deprecated defaults.
	RuleAdminOrOwner = "rule:admin_or_owner"
	RuleAdminAPI     = "rule:admin_api"
	// Anyone and Nobody are oslo's "@" and "!".
	Anyone = "@"
	Nobody = "!"
)

// deprecatedReason is nova's base.DEPRECATED_REASON.
const deprecatedReason = `
Nova API policies are introducing new default roles with scope_type
capabilities. Old policies are deprecated and silently going to be ignored
in nova 23.0.0 release.
`

// Nova returns nova 26's (Zed's) default rules, all of them, in nova's
// order: nova.policies.list_rules(). The slice is new on every call.
func Nova() []policy.RuleDefault { return nova() }

// Defaults returns every rule gonova's compute API registers: nova's
// (Nova). gonova adds none: where nova checks no policy (the flavor
// routes), neither does gonova.
func Defaults() []policy.RuleDefault { return Nova() }

// Checks returns nova's own kinds of check: is_admin:True compares the
// caller's is_admin flag (nova.policy.IsAdminCheck; "true" in any case).
func Checks() map[string]policy.CheckFunc {
	return map[string]policy.CheckFunc{"is_admin": isAdmin}
}

func isAdmin(match string, _ policy.Target, creds policy.Credentials) bool {
	b, ok := creds["is_admin"].(bool)
	return ok && b == (strings.ToLower(match) == "true")
}

// Options returns the policy.Options of the compute API for conf: nova's
// defaults and checks, and [oslo_policy] policy_file, enforce_scope,
// policy_dirs, enforce_new_defaults and policy_default_rule.
//
//	enf, err := policy.NewEnforcer(policies.Options(conf, logger))
//	if err != nil { return err } // the policy file does not parse
//	opts.OnReset = func(context.Context) error { return enf.Reload() } // wsgi.Options, SIGHUP
func Options(conf *config.Config, logger *slog.Logger) policy.Options {
	return policy.Options{
		Defaults:           Defaults(),
		PolicyFile:         conf.Policy.PolicyFile,
		SearchDirs:         conf.ConfigDirs(),
		EnforceScope:       conf.Policy.EnforceScope,
		EnforceNewDefaults: conf.Policy.EnforceNewDefaults,
		DefaultRule:        conf.Policy.PolicyDefaultRule,
		PolicyDirs:         dirs(conf.Policy.PolicyDirs),
		Checks:             Checks(),
		Logger:             logger,
	}
}

func dirs(d string) []string {
	if d == "" {
		return nil
	}
	return []string{d}
}
