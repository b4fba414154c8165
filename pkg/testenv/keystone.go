package testenv

import (
	"context"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

// Defaults of the Keystone scripts/services.sh sets up.
const (
	DefaultKeystoneURL           = "http://127.0.0.1:5000/v3"
	DefaultKeystoneAdminPassword = "gonova-admin"
	DefaultKeystoneNovaPassword  = "gonova-nova"
	DefaultMemcachedAddr         = "127.0.0.1:11211"
)

// KeystoneEnv is how tests reach the real Keystone: its v3 URL, the admin
// (project admin, domain default) and the service user nova (roles admin
// and service in project service), as scripts/services.sh registers them.
// Override with GONOVA_TEST_KEYSTONE_URL, GONOVA_TEST_KEYSTONE_ADMIN_PASSWORD
// and GONOVA_TEST_KEYSTONE_NOVA_PASSWORD.
type KeystoneEnv struct {
	AuthURL         string
	Region          string
	DomainID        string
	AdminUser       string
	AdminPassword   string
	AdminProject    string
	ServiceUser     string
	ServicePassword string
	ServiceProject  string
}

// Keystone returns the test Keystone, after checking that it answers; it
// skips the test (in CI: fails it) when it does not.
//
//	k := testenv.Keystone(t)
//	u := k.NewUser(t, "member")
//	token := k.Token(t, u.Name, u.Password, u.ProjectName)
func Keystone(t testing.TB) KeystoneEnv {
	t.Helper()
	k := KeystoneEnv{
		AuthURL: envOr("GONOVA_TEST_KEYSTONE_URL", DefaultKeystoneURL), Region: "RegionOne", DomainID: "default",
		AdminUser: "admin", AdminPassword: envOr("GONOVA_TEST_KEYSTONE_ADMIN_PASSWORD", DefaultKeystoneAdminPassword), AdminProject: "admin",
		ServiceUser: "nova", ServicePassword: envOr("GONOVA_TEST_KEYSTONE_NOVA_PASSWORD", DefaultKeystoneNovaPassword), ServiceProject: "service",
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(k.AuthURL)
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return k
		}
		err = &net.AddrError{Err: "answers " + resp.Status, Addr: k.AuthURL}
	}
	missing(t, "Keystone", "run scripts/services.sh (it installs and starts Debian's keystone on 127.0.0.1:5000), or set GONOVA_TEST_KEYSTONE_URL: "+err.Error())
	return k
}

// MemcachedAddr returns the test memcached (GONOVA_TEST_MEMCACHED or
// 127.0.0.1:11211), skipping (in CI: failing) the test when it does not
// accept connections.
func MemcachedAddr(t testing.TB) string {
	t.Helper()
	addr := envOr("GONOVA_TEST_MEMCACHED", DefaultMemcachedAddr)
	require(t, "memcached", addr, "run scripts/services.sh (or start memcached on 127.0.0.1:11211)")
	return addr
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Admin returns an identity v3 client authenticated as the admin.
func (k KeystoneEnv) Admin(t testing.TB) *gophercloud.ServiceClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint: k.AuthURL, Username: k.AdminUser, Password: k.AdminPassword, DomainID: k.DomainID,
		Scope: &gophercloud.AuthScope{ProjectName: k.AdminProject, DomainID: k.DomainID},
	})
	if err != nil {
		t.Fatalf("keystone: admin login: %v", err)
	}
	sc, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// KeystoneUser is a user made for one test, with a project of its own.
type KeystoneUser struct {
	ID, Name, Password string
	ProjectID          string
	ProjectName        string
}

// NewUser creates a project and a user in it with the given roles (each
// must exist: bootstrap made admin, member and reader), both with unique
// names; they are deleted when the test ends.
func (k KeystoneEnv) NewUser(t testing.TB, roleNames ...string) KeystoneUser {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sc := k.Admin(t)
	u := KeystoneUser{Name: UniqueName("gonova-u-"), Password: UniqueName("pw-"), ProjectName: UniqueName("gonova-p-")}
	p, err := projects.Create(ctx, sc, projects.CreateOpts{Name: u.ProjectName, DomainID: k.DomainID, Description: "gonova test " + t.Name()}).Extract()
	if err != nil {
		t.Fatalf("keystone: create project: %v", err)
	}
	u.ProjectID = p.ID
	t.Cleanup(func() { _ = projects.Delete(context.Background(), sc, p.ID).ExtractErr() })
	usr, err := users.Create(ctx, sc, users.CreateOpts{Name: u.Name, Password: u.Password, DomainID: k.DomainID, DefaultProjectID: p.ID}).Extract()
	if err != nil {
		t.Fatalf("keystone: create user: %v", err)
	}
	u.ID = usr.ID
	t.Cleanup(func() { _ = users.Delete(context.Background(), sc, usr.ID).ExtractErr() })
	for _, name := range roleNames {
		pages, err := roles.List(sc, roles.ListOpts{Name: name}).AllPages(ctx)
		if err != nil {
			t.Fatalf("keystone: list roles: %v", err)
		}
		rs, err := roles.ExtractRoles(pages)
		if err != nil || len(rs) == 0 {
			t.Fatalf("keystone: role %q not found (%v)", name, err)
		}
		if err := roles.Assign(ctx, sc, rs[0].ID, roles.AssignOpts{UserID: usr.ID, ProjectID: p.ID}).ExtractErr(); err != nil {
			t.Fatalf("keystone: assign role %s: %v", name, err)
		}
	}
	return u
}

// Token issues a token for user name with password, scoped to project
// (all in the default domain). It returns the token and its expiry.
func (k KeystoneEnv) Token(t testing.TB, name, password, project string) (string, time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := openstack.NewClient(k.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	r := tokens.Create(ctx, sc, &tokens.AuthOptions{
		Username: name, Password: password, DomainID: k.DomainID,
		Scope: tokens.Scope{ProjectName: project, DomainID: k.DomainID},
	})
	tok, err := r.ExtractToken()
	if err != nil {
		t.Fatalf("keystone: token for %s: %v", name, err)
	}
	return tok.ID, tok.ExpiresAt
}
