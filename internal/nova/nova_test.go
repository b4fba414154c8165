package nova

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/fault"
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
type noCompute struct{ computeapi.ComputeRPC }

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
	// Not NewAPIService: a process takes the "osapi_compute" listener once,
	// and another test here has it.
	svc, err := n.newAPIService(noCompute{}, net.Listen)
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

// The public API port serves /healthcheck with its detail for admins only,
// and no /metrics; those are on api_metrics_listen, a listener of its own.
func TestAPIPortHidesMetricsAndHealthDetail(t *testing.T) {
	ctx := context.Background()
	n := Wrap(runtime(t, "[DEFAULT]\nosapi_compute_listen = 127.0.0.1\nosapi_compute_listen_port = 0\ntransport_url = memory://nova-exposure-test\n[api]\nauth_strategy = noauth2\n[gonova]\napi_metrics_listen = 127.0.0.1:0\n[oslo_middleware]\nmax_request_body_size = 100\n"))
	if err := n.OpenTransport(ctx); err != nil {
		t.Fatal(err)
	}
	client, err := n.ComputeClient()
	if err != nil {
		t.Fatal(err)
	}
	api, err := n.NewAPIService(client)
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := n.NewAPIMetricsService()
	if err != nil || metrics == nil {
		t.Fatalf("NewAPIMetricsService = %v, %v", metrics, err)
	}
	for _, s := range []interface{ Start(context.Context) error }{metrics, api} {
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		_ = api.Stop(ctx)
		_ = metrics.Stop(ctx)
	}()
	get := func(base, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+base+path, nil)
		if token != "" {
			req.Header.Set("X-Auth-Token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	pub, priv := api.Addr().String(), metrics.Addr().String()
	// Not ready yet (no readiness marker ran): anonymous callers see a bare 503.
	if code, body := get(pub, "/healthcheck", ""); code != http.StatusServiceUnavailable || body != "" {
		t.Errorf("anonymous /healthcheck on the API port: %d %q, want a bare 503", code, body)
	}
	if code, body := get(pub, "/healthcheck", "demo:demo"); code != http.StatusServiceUnavailable || body != "" {
		t.Errorf("non-admin /healthcheck on the API port: %d %q, want a bare 503", code, body)
	}
	if code, body := get(pub, "/healthcheck", "admin:admin"); code != http.StatusServiceUnavailable || !strings.Contains(body, "[-]started failed") {
		t.Errorf("admin /healthcheck on the API port: %d %q, want the failed check named", code, body)
	}
	if code, _ := get(pub, "/metrics", ""); code != http.StatusNotFound {
		t.Errorf("/metrics on the public API port: %d, want 404", code)
	}
	if code, body := get(priv, "/metrics", ""); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics on api_metrics_listen: %d", code)
	}
	if code, body := get(priv, "/healthcheck", ""); code != http.StatusServiceUnavailable || !strings.Contains(body, "[-]started failed") {
		t.Errorf("/healthcheck on api_metrics_listen: %d %q, want the detail", code, body)
	}
	// A process binds the API once (launcher.Listen takes "osapi_compute" once),
	// so its body cap is checked here.
	checkBodyCap(t, pub, 100)
}

// checkBodyCap checks that [oslo_middleware] max_request_body_size = limit
// reaches the API served on addr through the one place it is configured
// (wsgi.Options.MaxRequestBodySize): a larger body gets nova's 413 overLimit.
func checkBodyCap(t *testing.T, addr string, limit int) {
	t.Helper()
	body := `{"server": {"name": "` + strings.Repeat("x", 2*limit) + `", "flavorRef": "1", "imageRef": "70a599e0-31e7-49b7-b260-868f441e862b"}}`
	req, err := http.NewRequest("POST", "http://"+addr+"/v2.1/servers", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Auth-Token", "demo:demo")
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b, perr := fault.Parse(data)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || perr != nil || b.Name != "overLimit" ||
		b.Message != fmt.Sprintf("Request is too large. Larger than max_request_body_size (%d).", limit) {
		t.Errorf("a body over max_request_body_size: %d %s", resp.StatusCode, data)
	}
}

// [oslo_policy] policy_file is read next to nova.conf; a file that does not
// parse stops the start as a configuration error; SIGHUP (the service's
// Reset) reads a new version, and keeps the rules in force when the new
// one does not parse.
func TestAPIPolicyFileFromConfigAndSIGHUP(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writePolicy := func(rules string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(rules), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "nova.conf")
	if err := os.WriteFile(conf, []byte("[DEFAULT]\nosapi_compute_listen = 127.0.0.1\nosapi_compute_listen_port = 0\ntransport_url = memory://nova-policy-test\n[api]\nauth_strategy = noauth2\n[oslo_policy]\npolicy_file = policy.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	newRuntime := func() *App {
		t.Helper()
		cfg, _, err := config.ParseWith([]string{"--config-file", conf}, config.ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		devnull, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { devnull.Close() })
		o := Options("test")
		o.Output = devnull
		a, err := app.NewFromConfig(ctx, cfg, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		return Wrap(a)
	}

	writePolicy(`"os_compute_api:os-services:list": "role:admin or"` + "\n")
	if _, err := newRuntime().NewAPIService(nil); err == nil || app.ExitCode(err) != app.ExitConfig || !strings.Contains(err.Error(), "policy.yaml") {
		t.Fatalf("a policy file that does not parse: %v (exit code %d), want a configuration error naming it", err, app.ExitCode(err))
	}

	// The parent of API workers checks the file once, before any worker.
	if _, err := newRuntime().NewAPIListener(); err == nil || app.ExitCode(err) != app.ExitConfig {
		t.Fatalf("the workers' parent with a policy file that does not parse: %v (exit code %d), want a configuration error", err, app.ExitCode(err))
	}

	writePolicy(`"os_compute_api:os-services:list": "role:member"` + "\n")
	n := newRuntime()
	if err := n.OpenTransport(ctx); err != nil {
		t.Fatal(err)
	}
	client, err := n.ComputeClient()
	if err != nil {
		t.Fatal(err)
	}
	// This process's "osapi_compute" listener is TestAPIPortHides...'s.
	api, err := n.newAPIService(client, net.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = api.Stop(ctx) }()
	list := func(token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+api.Addr().String()+"/v2.1/os-services", nil)
		req.Header.Set("X-Auth-Token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if code := list("demo:demo"); code != http.StatusOK {
		t.Fatalf("a member with os-services:list = role:member: %d, want 200", code)
	}
	writePolicy("{not: [valid\n")
	if err := api.Reset(ctx); err == nil {
		t.Error("Reset with a policy file that does not parse reported no error")
	}
	if code := list("demo:demo"); code != http.StatusOK {
		t.Fatalf("after a SIGHUP with a broken file: %d, want the rules in force (200)", code)
	}
	writePolicy(`"os_compute_api:os-services:list": "!"` + "\n")
	if err := api.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{"demo:demo", "admin:admin"} {
		if code := list(token); code != http.StatusForbidden {
			t.Errorf("%s after SIGHUP with os-services:list = !: %d, want 403", token, code)
		}
	}
}
