// Package keystone validates OpenStack Keystone tokens for gonova's HTTP
// services: keystonemiddleware's auth_token, in Go, configured by nova's
// [keystone_authtoken] section.
//
//	a, err := keystone.New(keystone.OptionsFromConfig(cfg.KeystoneAuthtoken))
//	if err != nil { ... }
//	defer a.Close()
//	r.Use(auth.Middleware(a)) // nova-api: a 401 unless the token is valid
//	// or, for a service that decides itself (delay_auth_decision):
//	r.Use(a.Middleware)
//
// # What a request goes through
//
//  1. Every identity header a client could forge is removed first
//     (keystonemiddleware's list: X-Identity-Status, X-Roles, X-User-Id,
//     X-Project-*, X-Domain-*, X-Service-*, X-Tenant*, X-Role, X-User,
//     X-Is-Admin-Project, X-Service-Catalog, OpenStack-System-Scope; also
//     X-System-Scope and the same names spelt with underscores).
//  2. X-Service-Token, when sent, is validated; it counts only if it carries
//     one of service_token_roles (unless service_token_roles_required is
//     false), and then the user's token may be an expired one
//     (allow_expired), as keystonemiddleware allows services.
//  3. X-Auth-Token (or X-Storage-Token) is validated: from the cache, or by
//     GET /v3/auth/tokens with X-Subject-Token, sent with the service's own
//     token through gophercloud's identity v3 ServiceClient.
//  4. The headers keystonemiddleware sets are set (X-Identity-Status:
//     Confirmed or Invalid, X-User-*, X-Project-*, X-Roles, X-Service-*,
//     X-Is-Admin-Project, X-Service-Catalog in its v2 shape, the deprecated
//     X-Tenant-Id and friends) and the caller goes into the request's
//     auth.Context: ids, names, domains, roles, system scope,
//     is_admin_project, the catalog and the token itself, so the RPC context
//     built from it carries nova's _context_roles and the rest.
//
// Answers: a missing or invalid token gets 401 with nova's fault body and
// `WWW-Authenticate: Keystone uri="<www_authenticate_uri>"`; when Keystone
// cannot be asked (not reachable, refusing the service's credentials,
// answering 5xx) the answer is 503 serviceUnavailable, never 401 or 500, and
// the next request tries again, so the service recovers without a restart.
// With delay_auth_decision, Middleware passes such requests on with
// X-Identity-Status: Invalid and no auth.Context; Authenticate (nova's path)
// still refuses them, as nova's NovaKeystoneContext does.
//
// # The service's token
//
// The service logs in (auth_type = password: username, password,
// project_name and the domains) on the first validation, not at New, so an
// API can start while Keystone is down. The token is reused until it is
// within RenewBefore (5 minutes) of its expiry, then renewed; a failed
// renewal keeps the old token while it lasts. gophercloud's ProviderClient
// re-logs in once when Keystone answers 401 (a revoked service token).
// Tokens are validated at the catalog's identity endpoint for interface
// (internal by default) and region_name, as keystonemiddleware does; make
// sure that endpoint is reachable from the API hosts.
//
// # Caching, and what it means for revocation
//
// Validations are cached for token_cache_time (300 s; 0 or -1 disables
// caching), in process (an LRU of CacheSize entries) and, with
// memcached_servers, in memcached so that API workers share them. Only
// successes are cached; an expired token is refused even when cached, since
// its expires_at is checked on every hit. As with keystonemiddleware, a
// token revoked in Keystone is still accepted until its cache entry ends:
// lower token_cache_time where revocation must take effect sooner. The
// memcached entries are gonova's own (JSON under
// gonova/authtoken/<sha256 of the token>), not keystonemiddleware's, and are
// not encrypted (memcache_security_strategy is not supported): keep
// memcached on a trusted network, as Keystone's own cache must be. An
// unreachable memcached is logged and Keystone is asked instead.
//
// Not supported: auth types other than password, token bind enforcement
// (permissive mode is what keystonemiddleware defaults to), application
// credentials with access rules (refused, as keystonemiddleware refuses them
// without a service_type), Keystone v2.
//
// # Logging
//
// INFO when the service logs in (with the identity endpoint and the token's
// expiry), for each invalid user or service token (never the token); WARN
// when memcached fails, when a renewal fails, for malformed token data;
// ERROR when Keystone cannot be asked ("unable to validate token", with the
// cause). auth.Middleware adds its INFO line for each refused request.
//
// # Metrics
//
// With Options.Registerer (nova-api passes its registry):
//
//   - gonova_keystone_token_validations_total{result}: user and service
//     token validations by result, cached, valid (Keystone asked), invalid
//     or unavailable; every series exists from the start at zero.
//   - gonova_keystone_validation_request_duration_seconds: the round trip of
//     a validation that asked Keystone (with the service's login when one
//     was needed).
//
// 401 and 503 answers are also counted by the HTTP metrics middleware. A
// rising unavailable rate is Keystone (or the service's credentials)
// failing; a low cached share means token_cache_time or the cache size is
// too small for the traffic.
//
// # Cost
//
// BenchmarkPerRequest: a cached validation adds a few microseconds and 9
// allocations per request to noauth2's cost. BenchmarkColdValidation: a
// validation that asks Keystone costs what gophercloud's tokens.Get round
// trip costs (Keystone's answer time dominates), with half its memory: the
// answer is decoded once into the token's struct, where tokens.GetResult
// decodes into a map and re-encodes it to extract.
package keystone
