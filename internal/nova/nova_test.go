package nova

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gonova/gonova/internal/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func parse(t *testing.T, body string) *config.Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "nova.conf")
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.ParseWith([]string{"--config-file", f}, config.ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func runtime(t *testing.T, body string) *app.App {
	t.Helper()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devnull.Close() })
	o := Options("test")
	o.Output = devnull
	a, err := app.NewFromConfig(context.Background(), parse(t, body), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func TestComputeStoreFollowsTheRuntimesStore(t *testing.T) {
	n := Wrap(runtime(t, "[DEFAULT]\nhost = h1\n"))
	if _, ok := n.Compute.(*computedb.Mem); !ok {
		t.Fatalf("Compute is %T on the embedded default, want the in-memory store", n.Compute)
	}
	if n.Version() != ServiceVersion {
		t.Fatalf("Version = %d, want nova's %d", n.Version(), ServiceVersion)
	}
	pg := Wrap(runtime(t, "[database]\nconnection = "+pgtest.NewDatabase(t)+"\n"))
	if _, ok := pg.Compute.(*computedb.PG); !ok {
		t.Fatalf("Compute is %T on Postgres, want computedb.PG", pg.Compute)
	}
}

func TestKeystoneNeedsItsSection(t *testing.T) {
	n := Wrap(runtime(t, "[api]\nauth_strategy = keystone\n"))
	_, err := n.NewAPIService(noCompute{})
	if err == nil || app.ExitCode(err) != app.ExitConfig || !strings.Contains(err.Error(), "auth_url") {
		t.Fatalf("auth_strategy = keystone without [keystone_authtoken]: %v (exit code %d), want a configuration error naming auth_url", err, app.ExitCode(err))
	}
}

// noCompute is a ComputeAPI for tests that send no work to computes.
type noCompute struct{ api.ComputeAPI }

// The compute API with auth_strategy = keystone, against the real Keystone:
// nova's policy sees the roles of real tokens.
func TestKeystoneBuildsTheAPIService(t *testing.T) {
	k := testenv.Keystone(t)
	n := Wrap(runtime(t, fmt.Sprintf(`[DEFAULT]
osapi_compute_listen = 127.0.0.1
osapi_compute_listen_port = 0
[api]
auth_strategy = keystone
[keystone_authtoken]
www_authenticate_uri = %[1]s
auth_url = %[1]s
auth_type = password
username = %[2]s
password = %[3]s
project_name = %[4]s
user_domain_name = Default
project_domain_name = Default
region_name = %[5]s
interface = public
memcache_security_strategy = None
`, k.AuthURL, k.ServiceUser, k.ServicePassword, k.ServiceProject, k.Region)))
	svc, err := n.NewAPIService(noCompute{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(ctx) })
	base := "http://" + svc.Addr().String()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
	get := func(path, token string, forge bool) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("X-Auth-Token", token)
		}
		if forge {
			req.Header.Set("X-Roles", "admin")
			req.Header.Set("X-Identity-Status", "Confirmed")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	admin, _ := k.Token(t, k.AdminUser, k.AdminPassword, k.AdminProject)
	member := k.NewUser(t, "member")
	memberToken, _ := k.Token(t, member.Name, member.Password, member.ProjectName)

	if resp, body := get("/v2.1/os-services", admin, false); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"services"`) {
		t.Errorf("admin os-services: %d %s", resp.StatusCode, body)
	}
	if resp, body := get("/v2.1/os-services", memberToken, true); resp.StatusCode != http.StatusForbidden {
		t.Errorf("member with forged X-Roles: admin, os-services: %d %s, want 403", resp.StatusCode, body)
	}
	if resp, body := get("/v2.1/servers", memberToken, false); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"servers"`) {
		t.Errorf("member servers: %d %s", resp.StatusCode, body)
	}
	resp, body := get("/v2.1/servers", "", true)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Keystone uri="`+k.AuthURL+`"` || !strings.Contains(body, `"unauthorized"`) {
		t.Errorf("no token: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	if strings.Contains(strings.Join(n.Cfg.Ignored, ","), "[keystone_authtoken] memcache_security_strategy") == false {
		t.Errorf("Ignored = %q lacks memcache_security_strategy", n.Cfg.Ignored)
	}
}
