// Package policy decides whether the caller may perform an API action.
//
// nova asks oslo.policy before every action ("os_compute_api:os-services:list")
// and answers a refusal with 403 "Policy doesn't allow <action> to be
// performed." (nova.exception.PolicyNotAuthorized). gonova keeps the action
// names and the message, and replaces oslo.policy's rule language with Go
// functions: the defaults gonova needs are a handful of role checks, and a
// policy file parser is not worth its weight until operators ask for one.
//
// New takes the rules by action; a route requires its action with
// Enforcer.Require, and a handler that must look its target up first calls
// Enforcer.Authorize (see the package example). An action without a rule is refused: a typo must not open an API.
//
// # Logging
//
// A refusal is logged at DEBUG with the action, user and project; an action
// without a rule is logged at ERROR, since it is a bug in the service.
//
// # Metrics
//
// None: refusals are counted as 403 by the HTTP metrics middleware.
package policy
