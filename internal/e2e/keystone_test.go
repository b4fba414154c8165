package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/testenv"
)

// nova-all with auth_strategy = keystone against the real Keystone: two
// users of two projects, each with a real token; a server belongs to its
// creator's project and user, the other project does not see it, policy
// sees the tokens' roles, and a request without a token gets Keystone's
// challenge. Its image is in the real Glance, which nova-api finds in the
// users' catalogs ([glance] api_servers unset) and asks with their tokens.
func TestNovaAllWithKeystoneTokens(t *testing.T) {
	g := testenv.Glance(t)
	k := g.Keystone
	alice, bob := k.NewUser(t, "member"), k.NewUser(t, "member")
	addr := freeAddr(t)
	host, port := splitHostPort(t, addr)
	conf := writeConf(t, "nova-all.conf", map[string]map[string]string{
		"DEFAULT": {"osapi_compute_listen": host, "osapi_compute_listen_port": port, "osapi_compute_workers": "1",
			"periodic_fuzzy_delay": "0", "report_interval": "1", "graceful_shutdown_timeout": "10"},
		"api":    {"auth_strategy": "keystone"},
		"gonova": {"metrics_listen": ""},
		"keystone_authtoken": {"www_authenticate_uri": k.AuthURL, "auth_url": k.AuthURL, "auth_type": "password",
			"username": k.ServiceUser, "password": k.ServicePassword, "project_name": k.ServiceProject,
			"user_domain_name": "Default", "project_domain_name": "Default", "region_name": k.Region, "interface": "public"},
	})
	p := start(t, "nova-all", "nova-all", conf)
	waitHealthy(t, p, "http://"+addr, 30*time.Second)
	token := func(u testenv.KeystoneUser) string {
		tok, _ := k.Token(t, u.Name, u.Password, u.ProjectName)
		return tok
	}
	adminToken, _ := k.Token(t, k.AdminUser, k.AdminPassword, k.AdminProject)
	a := apiClient{base: "http://" + addr, token: token(alice)}
	b := apiClient{base: "http://" + addr, token: token(bob)}
	admin := apiClient{base: "http://" + addr, token: adminToken}

	img := g.UploadImage(t, a.token, testenv.ImageOptions{})
	if code, _ := b.do(http.MethodPost, "/v2.1/servers", map[string]any{"server": map[string]any{"name": "bobs", "flavorRef": "1", "imageRef": img.ID}}, nil); code != http.StatusBadRequest {
		t.Errorf("bob boots alice's private image: %d, want 400", code)
	}
	id := createServerFrom(t, a, "alices", img.ID)
	waitActive(t, a, id)
	var s struct {
		Server struct {
			TenantID string `json:"tenant_id"`
			UserID   string `json:"user_id"`
		} `json:"server"`
	}
	if _, err := a.do(http.MethodGet, "/v2.1/servers/"+id, nil, &s); err != nil || s.Server.TenantID != alice.ProjectID || s.Server.UserID != alice.ID {
		t.Fatalf("alice's server: %v %+v, want project %s user %s", err, s.Server, alice.ProjectID, alice.ID)
	}
	var list struct {
		Servers []struct{ ID string } `json:"servers"`
	}
	if _, err := b.do(http.MethodGet, "/v2.1/servers", nil, &list); err != nil || len(list.Servers) != 0 {
		t.Errorf("bob lists %+v (%v), want none", list.Servers, err)
	}
	if code, _ := b.do(http.MethodGet, "/v2.1/servers/"+id, nil, nil); code != http.StatusNotFound {
		t.Errorf("bob shows alice's server: %d, want 404", code)
	}
	if code, err := admin.do(http.MethodGet, "/v2.1/os-services", nil, nil); code != http.StatusOK {
		t.Errorf("admin os-services: %d %v", code, err)
	}
	if code, _ := a.do(http.MethodGet, "/v2.1/os-services", nil, nil); code != http.StatusForbidden {
		t.Errorf("member os-services: %d, want 403", code)
	}
	resp, err := http.Get("http://" + addr + "/v2.1/servers")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Keystone uri="`+k.AuthURL+`"` {
		t.Errorf("no token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Fatalf("nova-all exited %d after SIGTERM", code)
	}
}
