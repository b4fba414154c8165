// Package policies holds the compute API's default policy: nova's rules
// (nova/policies/*.py of nova 26, Zed) as policy.RuleDefault data, and the
// glue from nova.conf's [oslo_policy] to a policy.Enforcer.
//
// Why data and not code: the rule names and check strings are nova's
// contract with operators. A policy.yaml written for nova must mean the same
// to gonova, and "oslopolicy-sample-generator --namespace nova" and
// deploy/policy.yaml.sample must describe the same rules. So nova.go is
// generated from Debian's python3-nova (all 201 rules, also those of APIs
// gonova does not serve yet, so later handlers only name their action), and
// a test compares it with python3-nova whenever that is installed:
//
//	go test ./internal/policies -run TestNovaMatchesPythonNova -update      # regenerate nova.go
//	go test ./internal/policies -run TestSampleFileInDeployIsCurrent -update # regenerate deploy/policy.yaml.sample
//
// gonova registers no rule of its own: where nova checks no policy (GET
// /flavors), neither does gonova.
//
// # Using it
//
//	enf, err := policy.NewEnforcer(policies.Options(conf, logger))
//	r.With(enf.RequireTarget("os_compute_api:os-services:list", policy.Target{})).Get("/v2.1/os-services", list) // nova: the empty target
//	// a rule on an instance: the target is the instance's project
//	err := enf.AuthorizeTarget(ctx, "os_compute_api:servers:show",
//		policy.Target{"project_id": inst.ProjectID})
//
// # Who may do what by default
//
// context_is_admin is role:admin; project_reader_api and project_member_api
// are the reader (member) role in the target's project. With
// enforce_new_defaults = false (the default, as in nova 26) each of these
// is or'ed with its deprecated default, admin_or_owner (is_admin:True or
// project_id:%(project_id)s), so any caller acts in its own project. noauth2
// callers have the roles member and reader, and the user admin also admin.
//
// # Logging and metrics
//
// See pkg/wsgi/policy: the enforcer logs the policy file's problems at
// WARNING when it loads it, and refusals at DEBUG.
package policies
