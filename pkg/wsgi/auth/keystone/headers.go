package keystone

import (
	"net/http"
	"strings"
)

// Headers keystonemiddleware reads and sets.
const (
	HeaderAuthToken       = "X-Auth-Token"
	HeaderStorageToken    = "X-Storage-Token" // Swift's old name, still read
	HeaderServiceToken    = "X-Service-Token"
	HeaderIdentityStatus  = "X-Identity-Status"
	HeaderServiceStatus   = "X-Service-Identity-Status"
	HeaderServiceCatalog  = "X-Service-Catalog"
	HeaderIsAdminProject  = "X-Is-Admin-Project"
	HeaderSystemScope     = "Openstack-System-Scope"
	HeaderWWWAuthenticate = "WWW-Authenticate"

	StatusConfirmed = "Confirmed"
	StatusInvalid   = "Invalid"
)

// The per-identity headers, X%s-... with "" for the user and "-Service" for
// the service token (keystonemiddleware's _HEADER_TEMPLATE and X%s-Roles).
var identityHeaders = []string{
	"Domain-Id", "Domain-Name", "Project-Id", "Project-Name", "Project-Domain-Id",
	"Project-Domain-Name", "User-Id", "User-Name", "User-Domain-Id", "User-Domain-Name", "Roles",
}

// deprecatedHeaders map keystonemiddleware's old names to the header they copy.
var deprecatedHeaders = [][2]string{
	{"X-Role", "X-Roles"}, {"X-User", "X-User-Name"}, {"X-Tenant-Id", "X-Project-Id"},
	{"X-Tenant-Name", "X-Project-Name"}, {"X-Tenant", "X-Project-Name"},
}

// strippedHeaders is every header a client could forge an identity with:
// keystonemiddleware's remove_auth_headers list, plus the system-scope header
// (which keystonemiddleware overwrites rather than removes) and X-System-Scope.
// Keys are canonical.
var strippedHeaders = func() map[string]bool {
	m := map[string]bool{}
	add := func(h string) { m[http.CanonicalHeaderKey(h)] = true }
	for _, h := range []string{HeaderServiceCatalog, HeaderIdentityStatus, HeaderServiceStatus, HeaderIsAdminProject, HeaderSystemScope, "X-System-Scope"} {
		add(h)
	}
	for _, d := range deprecatedHeaders {
		add(d[0])
	}
	for _, h := range identityHeaders {
		add("X-" + h)
		add("X-Service-" + h)
	}
	return m
}()

// stripIdentityHeaders removes every identity header from h, whatever its
// spelling: a WSGI server maps X_ROLES and X-Roles to the same variable, so a
// Python service behind a gonova proxy would see an underscore spelling too.
func stripIdentityHeaders(h http.Header) {
	for k := range h {
		key := k
		if strings.IndexByte(key, '_') >= 0 {
			key = http.CanonicalHeaderKey(strings.ReplaceAll(key, "_", "-"))
		}
		if strippedHeaders[key] {
			delete(h, k)
		}
	}
}

// setIdentityHeaders sets the X<prefix>-... headers of id, as
// keystonemiddleware's _set_auth_headers; empty values are left out (webob
// drops a header set to None).
func setIdentityHeaders(h http.Header, prefix string, id *Identity) {
	set := func(name, v string) {
		if v != "" {
			h["X"+prefix+"-"+name] = []string{v}
		}
	}
	set("Domain-Id", id.DomainID)
	set("Domain-Name", id.DomainName)
	set("Project-Id", id.ProjectID)
	set("Project-Name", id.ProjectName)
	set("Project-Domain-Id", id.ProjectDomainID)
	set("Project-Domain-Name", id.ProjectDomainName)
	set("User-Id", id.UserID)
	set("User-Name", id.UserName)
	set("User-Domain-Id", id.UserDomainID)
	set("User-Domain-Name", id.UserDomainName)
	// X-Roles is always set, empty for a token without roles.
	h["X"+prefix+"-Roles"] = []string{strings.Join(id.Roles, ",")}
}

// setUserHeaders sets the user's headers. The system scope is the user
// token's only (keystonemiddleware lets a service token's overwrite it).
func setUserHeaders(h http.Header, id *Identity) {
	setIdentityHeaders(h, "", id)
	if id.SystemScope != "" {
		h[HeaderSystemScope] = []string{id.SystemScope}
	}
	if id.IsAdminProject {
		h[HeaderIsAdminProject] = []string{"True"}
	} else {
		h[HeaderIsAdminProject] = []string{"False"}
	}
	for _, d := range deprecatedHeaders {
		if v, ok := h[d[1]]; ok {
			h[d[0]] = v
		}
	}
}
