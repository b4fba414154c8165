// Package auth authenticates API requests and carries who is calling.
//
// The middleware asks an Authenticator for the caller's Context (user,
// project, roles, admin flag, request ids) and stores it in the request
// context; handlers and the policy package read it with FromContext. The
// package example puts Middleware(NoAuth{}) on a route group and reads the
// caller in a handler.
//
// # Why an interface
//
// nova takes its caller from Keystone: keystonemiddleware validates the token
// and nova's NovaKeystoneContext builds the context from X-User-Id,
// X-Project-Id and X-Roles. In gonova both are one Authenticator, package
// keystone (auth_strategy = keystone); NoAuth is nova's development mode,
// auth_strategy = noauth2. An Authenticator that is also a Challenger names,
// in every 401, where to authenticate (WWW-Authenticate).
//
// # NoAuth (noauth2)
//
// As nova's NoAuthMiddleware (nova/api/openstack/auth.py, removed from nova in
// 2025): the token "user:project" is trusted as is; a token without a colon
// names the user, who is then also the project; the caller is admin when the
// user is "admin". Differences, on purpose: nova answered a request with no
// X-Auth-Token by a 204 carrying a made-up token (an Auth 1.1 handshake that
// no current client uses); gonova answers 401 with an unauthorized fault, so
// that a client that forgot its token learns it. Every caller gets the
// roles "member" and "reader" in its project, and the admin also "admin",
// as a Keystone token with implied roles would carry them, so that nova's
// default policy (role:reader and project_id:%(project_id)s, role:admin)
// decides for noauth2 callers as it does for Keystone ones. Never use
// NoAuth on a network others can reach.
//
// # Logging
//
// The middleware logs a refused request at INFO with the reason and request
// id, never the token.
//
// # Metrics
//
// None: refusals are counted as 401 by the HTTP metrics middleware.
package auth
