package keystone

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Identity is what Keystone says of one valid token: the part of
// GET /v3/auth/tokens that keystonemiddleware turns into headers. It is
// what the caches hold (as JSON in memcached).
type Identity struct {
	UserID            string    `json:"user_id"`
	UserName          string    `json:"user_name,omitempty"`
	UserDomainID      string    `json:"user_domain_id,omitempty"`
	UserDomainName    string    `json:"user_domain_name,omitempty"`
	ProjectID         string    `json:"project_id,omitempty"`
	ProjectName       string    `json:"project_name,omitempty"`
	ProjectDomainID   string    `json:"project_domain_id,omitempty"`
	ProjectDomainName string    `json:"project_domain_name,omitempty"`
	DomainID          string    `json:"domain_id,omitempty"`
	DomainName        string    `json:"domain_name,omitempty"`
	SystemScope       string    `json:"system_scope,omitempty"`
	Roles             []string  `json:"roles"`
	IsAdminProject    bool      `json:"is_admin_project"`
	ExpiresAt         time.Time `json:"expires_at"`
	// Catalog is Keystone's v3 catalog array, when it was asked for.
	Catalog json.RawMessage `json:"catalog,omitempty"`

	// catalogHeader is Catalog in X-Service-Catalog's shape, computed once
	// per cache entry rather than per request (prepare).
	catalogHeader string
}

// prepare computes what every request served from this entry needs.
func (id *Identity) prepare() {
	if id.Catalog != nil && id.catalogHeader == "" {
		if c, err := normalizedCatalog(id.Catalog); err == nil {
			id.catalogHeader = c
		}
	}
}

// HasRole reports whether the token carries one of roles (case-insensitive).
func (id *Identity) HasRole(roles ...string) bool {
	return slices.ContainsFunc(id.Roles, func(r string) bool {
		return slices.ContainsFunc(roles, func(want string) bool { return strings.EqualFold(r, want) })
	})
}

// Expired reports whether the token has expired at now: keystonemiddleware's
// will_expire_soon(stale_duration=0).
func (id *Identity) Expired(now time.Time) bool { return !now.Before(id.ExpiresAt) }

// tokenBody is the "token" object of Keystone's v3 answer.
type tokenBody struct {
	ExpiresAt time.Time `json:"expires_at"`
	User      struct {
		ID     string  `json:"id"`
		Name   string  `json:"name"`
		Domain *domain `json:"domain"`
	} `json:"user"`
	Project *struct {
		ID     string  `json:"id"`
		Name   string  `json:"name"`
		Domain *domain `json:"domain"`
	} `json:"project"`
	Domain *domain         `json:"domain"`
	System map[string]bool `json:"system"`
	Roles  []struct {
		Name string `json:"name"`
	} `json:"roles"`
	IsAdminProject        *bool           `json:"is_admin_project"`
	Catalog               json.RawMessage `json:"catalog"`
	ApplicationCredential *struct {
		AccessRules json.RawMessage `json:"access_rules"`
	} `json:"application_credential"`
}

type domain struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// errRestricted: the token is an application credential's with access
// rules, which keystonemiddleware checks against service_type; gonova has
// no service_type, so it refuses them as keystonemiddleware does then.
var errRestricted = fmt.Errorf("token of an application credential with access rules")

func identityFrom(t *tokenBody) (*Identity, error) {
	if t.User.ID == "" || t.ExpiresAt.IsZero() {
		return nil, fmt.Errorf("token data lacks user or expires_at")
	}
	if ac := t.ApplicationCredential; ac != nil && len(ac.AccessRules) > 0 && string(ac.AccessRules) != "null" {
		return nil, errRestricted
	}
	id := &Identity{UserID: t.User.ID, UserName: t.User.Name, ExpiresAt: t.ExpiresAt, Roles: make([]string, 0, len(t.Roles))}
	if d := t.User.Domain; d != nil {
		id.UserDomainID, id.UserDomainName = d.ID, d.Name
	}
	if p := t.Project; p != nil {
		id.ProjectID, id.ProjectName = p.ID, p.Name
		if d := p.Domain; d != nil {
			id.ProjectDomainID, id.ProjectDomainName = d.ID, d.Name
		}
	}
	if d := t.Domain; d != nil {
		id.DomainID, id.DomainName = d.ID, d.Name
	}
	if t.System["all"] {
		id.SystemScope = "all"
	}
	for _, r := range t.Roles {
		id.Roles = append(id.Roles, r.Name)
	}
	// keystoneauth: is_admin_project defaults to True when Keystone does not
	// say (no [resource] admin_project_name configured).
	id.IsAdminProject = t.IsAdminProject == nil || *t.IsAdminProject
	if len(t.Catalog) > 0 && string(t.Catalog) != "null" {
		id.Catalog = t.Catalog
	}
	return id, nil
}

// normalizedCatalog is keystonemiddleware's _normalize_catalog: the v3
// catalog in the v2 shape that X-Service-Catalog has always carried,
// [{"type", "name", "endpoints": [{"region", "publicURL", ...}]}].
func normalizedCatalog(v3 json.RawMessage) (string, error) {
	var in []struct {
		Type      string  `json:"type"`
		Name      *string `json:"name"`
		Endpoints []struct {
			Region    string `json:"region"`
			Interface string `json:"interface"`
			URL       string `json:"url"`
		} `json:"endpoints"`
	}
	if err := json.Unmarshal(v3, &in); err != nil {
		return "", err
	}
	type service struct {
		Type      string              `json:"type"`
		Name      *string             `json:"name,omitempty"`
		Endpoints []map[string]string `json:"endpoints"`
	}
	out := make([]service, 0, len(in))
	for _, s := range in {
		svc := service{Type: s.Type, Name: s.Name, Endpoints: []map[string]string{}}
		byRegion := map[string]map[string]string{}
		for _, e := range s.Endpoints {
			r, ok := byRegion[e.Region]
			if !ok {
				r = map[string]string{}
				if e.Region != "" {
					r["region"] = e.Region
				}
				byRegion[e.Region] = r
				svc.Endpoints = append(svc.Endpoints, r)
			}
			r[strings.ToLower(e.Interface)+"URL"] = e.URL
		}
		out = append(out, svc)
	}
	b, err := json.Marshal(out)
	return string(b), err
}
