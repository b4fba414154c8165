// Package policy decides whether the caller may perform an API action, as
// oslo.policy does for every OpenStack service.
//
// nova asks oslo.policy before every action ("os_compute_api:os-services:list")
// and answers a refusal with 403 "Policy doesn't allow <action> to be
// performed." (nova.exception.PolicyNotAuthorized). Operators change who may
// do what by writing rules in oslo's policy language into policy.yaml, and
// deployments carry such files for years. gonova keeps the action names, the
// message, the language and the file, so an operator's policy.yaml means the
// same to gonova as to nova. No Go implementation of oslo.policy exists, so
// this package is one: small, fuzzed, and checked against Debian's
// python3-oslo.policy by a referee test.
//
//	enf, err := policy.NewEnforcer(policy.Options{
//		Defaults:   []policy.RuleDefault{{Name: "os_compute_api:os-services:list", CheckStr: "role:admin"}},
//		PolicyFile: "policy.yaml", SearchDirs: conf.ConfigDirs(),
//	})
//	r.With(enf.Require("os_compute_api:os-services:list")).Get("/os-services", list)
//	// or, inside a handler that needs the target first:
//	err := enf.AuthorizeTarget(r.Context(), "os_compute_api:servers:show",
//		policy.Target{"project_id": inst.ProjectID, "user_id": inst.UserID})
//	// and on SIGHUP:
//	_ = enf.Reload()
//
// An action that is not registered is refused: a typo must not open an API.
// (nova raises PolicyNotRegistered, a 500; gonova answers 403 and logs the
// bug at ERROR.)
//
// # The language
//
// Parse reads oslo's policy language into a Check tree exactly as oslo's
// parser builds it (same precedence and grouping, so String renders what
// oslo's str() does):
//
//	role:admin                      the caller has the role (any case)
//	project_id:%(project_id)s       a credential equals a target value
//	is_admin:True  True:%(enabled)s  a Python literal on either side
//	nested.key:value                a dotted path into the credentials
//	rule:name                       another rule; an undefined one is false (and logged)
//	@  !  ""                        anyone, no one, anyone
//	a and b or not (c or d)         and binds tighter than or; not tightest
//
// ParseList reads the legacy list-of-lists JSON syntax.
//
// Where oslo would raise while evaluating a check (a Python format other
// than %(key)s, a path through a string, a rule cycle) gonova refuses the
// whole request, even under "not". Differences from oslo, on purpose:
//
//   - a rule that does not parse (oslo logs it and makes it "!") makes the
//     policy file invalid: NewEnforcer fails, Reload keeps the rules in force;
//   - a check kind must be a Python literal (True, False, None, numbers,
//     plain quoted strings) or a dotted name; other kinds, which oslo hands
//     to ast.literal_eval (containers, "a-b", escaped strings), refuse;
//   - the http: and https: external checks are not supported (they refuse);
//   - String parenthesizes a check that reads as a quoted string, ("a:b"),
//     so that it parses back; oslo prints it bare.
//
// # Defaults, the policy file and the options
//
// A service registers RuleDefaults (name, check string, description, the
// operations it guards, its scope types, a deprecated previous rule). The
// policy file ([oslo_policy] policy_file, YAML or JSON, looked up like
// oslo.config's find_file) overrides rules by name. As oslo:
//
//   - enforce_new_defaults = false checks a rule whose default changed as
//     "new or old"; an override of a rule's old name still applies to it;
//   - enforce_scope = true refuses a token whose scope (system, domain or
//     project) is not among the rule's scope types; when false the call is
//     allowed and logged;
//   - a reference to a rule that does not exist falls back to the rule
//     named by policy_default_rule ("default") if the file defines it.
//
// Files in the policy directories ([oslo_policy] policy_dirs, "policy.d")
// override rules after the policy file. oslo re-reads a changed file before
// the next decision; gonova re-reads on Reload (SIGHUP), or on
// ReloadIfChanged for a service that wants oslo's behaviour. Either way a
// file that does not parse never replaces the rules in force.
//
// WriteSample writes the defaults as oslopolicy-sample-generator does.
//
// # Credentials
//
// CredentialsOf turns an auth.Context into oslo.context's policy values
// (user_id, project_id, roles, domain_id, system_scope, is_admin ...);
// DefaultTarget is nova's default target, the caller's own project.
//
// New keeps the first API of this package: Go functions (Admin, Role, Any)
// as rules, no file. It suits tests and small services.
//
// # Logging
//
// A refusal is logged at DEBUG with the action, user and project; an action
// without a rule is logged at ERROR, since it is a bug in the service. Loading
// the policy file logs at WARNING the rules it sets that nothing registers,
// references to undefined rules, cycles, overrides equal to the defaults,
// deprecated names, and a JSON file; a scope mismatch that is allowed and a
// reference to an undefined rule are logged once per action or name.
//
// # Metrics
//
// None: refusals are counted as 403 by the HTTP metrics middleware.
package policy
