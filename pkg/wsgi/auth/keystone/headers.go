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

// headerNames are the identity header names, in identityHeaders' order,
// for the user ("") and the service ("-Service") prefixes, built once.
var headerNames = map[string][]string{"": names(""), "-Service": names("-Service")}

func names(prefix string) []string {
	out := make([]string, len(identityHeaders))
	for i, h := range identityHeaders {
		out[i] = "X" + prefix + "-" + h
	}
	return out
}

// setIdentityHeaders sets the X<prefix>-... headers of id, as
// keystonemiddleware's _set_auth_headers; empty values are left out (webob
// drops a header set to None). X-Roles is always set, empty for a token
// without roles.
func setIdentityHeaders(h http.Header, prefix string, id *Identity) {
	values := [...]string{
		id.DomainID, id.DomainName, id.ProjectID, id.ProjectName, id.ProjectDomainID,
		id.ProjectDomainName, id.UserID, id.UserName, id.UserDomainID, id.UserDomainName,
		strings.Join(id.Roles, ","),
	}
	// One backing array for every value; each header gets a one-element
	// slice of it with its capacity capped, so an append downstream copies.
	vals := make([]string, len(values))
	copy(vals, values[:])
	last := len(values) - 1
	for i, name := range headerNames[prefix] {
		if vals[i] != "" || i == last {
			h[name] = vals[i : i+1 : i+1]
		}
	}
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
