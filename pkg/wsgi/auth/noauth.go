package auth

import (
	"net/http"
	"strings"
)

// HeaderAuthToken is the header that carries the token.
const HeaderAuthToken = "X-Auth-Token"

// AdminUser is the user noauth2 treats as admin.
const AdminUser = "admin"

// NoAuth is nova's auth_strategy = noauth2: it trusts "X-Auth-Token:
// user:project" without checking anything. For development and tests only.
// The caller has the roles member and reader in the project, as a Keystone
// member would (reader is implied by member); the user "admin" also has
// admin and is_admin.
//
//	r.Use(auth.Middleware(auth.NoAuth{}))
//	// curl -H 'X-Auth-Token: admin:admin' http://127.0.0.1:8774/v2.1/os-services
type NoAuth struct{}

// Authenticate implements Authenticator.
func (NoAuth) Authenticate(r *http.Request) (*Context, error) {
	token := strings.TrimSpace(r.Header.Get(HeaderAuthToken))
	if token == "" {
		return nil, ErrUnauthorized()
	}
	user, project, _ := strings.Cut(token, ":")
	if user == "" {
		return nil, ErrUnauthorized()
	}
	if project == "" {
		project = user
	}
	c := &Context{UserID: user, ProjectID: project, Roles: []string{"member", "reader"}}
	if user == AdminUser {
		c.IsAdmin = true
		c.Roles = []string{"admin", "member", "reader"}
	}
	return c, nil
}
