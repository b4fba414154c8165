package keystone_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gonova/gonova/pkg/clock/clocktest"
	"github.com/gonova/gonova/pkg/tcpproxy"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/auth/keystone"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// counter is an http.RoundTripper on the real connection to Keystone that
// counts requests: logins (POST /v3/auth/tokens) and validations (GET).
type counter struct {
	logins, validations atomic.Int64
	next                http.RoundTripper
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/auth/tokens") {
		switch r.Method {
		case http.MethodPost:
			c.logins.Add(1)
		case http.MethodGet:
			c.validations.Add(1)
		}
	}
	return c.next.RoundTrip(r)
}

func (c *counter) total() int64 { return c.logins.Load() + c.validations.Load() }

// fixture is the test package's Keystone user (role member in a project of
// its own), made once for all tests here.
type fixture struct {
	k     testenv.KeystoneEnv
	user  testenv.KeystoneUser
	token string
}

var (
	fixOnce sync.Once
	fix     *fixture
)

func setup(t testing.TB) *fixture {
	t.Helper()
	k := testenv.Keystone(t)
	fixOnce.Do(func() {
		f := &fixture{k: k}
		f.user = k.NewUser(cleanupAtExit{t}, "member")
		f.token, _ = k.Token(t, f.user.Name, f.user.Password, f.user.ProjectName)
		fix = f
	})
	if fix == nil {
		t.Fatal("keystone fixture failed in an earlier test")
	}
	return fix
}

// cleanupAtExit is a testing.TB whose Cleanup runs when the package's tests
// end (TestMain), so the package shares one Keystone user.
type cleanupAtExit struct{ testing.TB }

var exitCleanups []func()

func (cleanupAtExit) Cleanup(f func()) { exitCleanups = append(exitCleanups, f) }

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(exitCleanups) - 1; i >= 0; i-- {
		exitCleanups[i]()
	}
	os.Exit(code)
}

func (f *fixture) options(c *counter) keystone.Options {
	o := keystone.Options{
		AuthURL: f.k.AuthURL, Username: f.k.ServiceUser, Password: f.k.ServicePassword, ProjectName: f.k.ServiceProject,
		UserDomainName: "Default", ProjectDomainName: "Default", RegionName: f.k.Region, Interface: "public",
		TokenCacheTime: 300 * time.Second, ServiceTokenRoles: []string{"service"}, ServiceTokenRolesRequired: true,
		IncludeServiceCatalog: true,
		Logger:                slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if c != nil {
		c.next = http.DefaultTransport.(*http.Transport).Clone()
		o.HTTPClient = &http.Client{Transport: c, Timeout: 10 * time.Second}
	}
	return o
}

func newAuth(t testing.TB, o keystone.Options) *keystone.Authenticator {
	t.Helper()
	a, err := keystone.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// serve runs one request through auth.Middleware(a) and returns the
// response and what the handler saw.
func serve(h func(http.Handler) http.Handler, r *http.Request) (*httptest.ResponseRecorder, *auth.Context, http.Header) {
	var got *auth.Context
	var hdr http.Header
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = auth.FromContext(r.Context())
		hdr = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	})
	w := httptest.NewRecorder()
	h(next).ServeHTTP(w, r)
	return w, got, hdr
}

func request(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/v2.1/servers", nil)
	if token != "" {
		r.Header.Set("X-Auth-Token", token)
	}
	return r
}

func wantFault(t *testing.T, w *httptest.ResponseRecorder, code int, name string) {
	t.Helper()
	b, err := fault.Parse(w.Body.Bytes())
	if w.Code != code || err != nil || b.Name != name || b.Code != code {
		t.Fatalf("answer %d %s (%v), want %d %s", w.Code, w.Body, err, code, name)
	}
}

func TestValidTokenGivesTheCallersContext(t *testing.T) {
	f := setup(t)
	a := newAuth(t, f.options(nil))
	w, c, hdr := serve(auth.Middleware(a), request(f.token))
	if w.Code != http.StatusNoContent || c == nil {
		t.Fatalf("answer %d %s", w.Code, w.Body)
	}
	u := f.user
	if c.UserID != u.ID || c.UserName != u.Name || c.ProjectID != u.ProjectID || c.ProjectName != u.ProjectName ||
		c.UserDomainID != "default" || c.UserDomainName != "Default" || c.ProjectDomainID != "default" || c.ProjectDomainName != "Default" {
		t.Errorf("context %+v, want user %+v", c, u)
	}
	// member implies reader in Keystone's bootstrap roles.
	if !c.HasRole("member") || !c.HasRole("reader") || c.HasRole("admin") || c.IsAdmin {
		t.Errorf("roles %q admin %v", c.Roles, c.IsAdmin)
	}
	if !c.IsAdminProject || c.SystemScope != "" || c.AuthToken != f.token {
		t.Errorf("is_admin_project %v system %q token kept %v", c.IsAdminProject, c.SystemScope, c.AuthToken == f.token)
	}
	if !strings.Contains(string(c.ServiceCatalog), `"compute"`) {
		t.Errorf("catalog lacks compute: %s", c.ServiceCatalog)
	}
	for name, want := range map[string]string{
		"X-Identity-Status": "Confirmed", "X-User-Id": u.ID, "X-User-Name": u.Name, "X-Project-Id": u.ProjectID,
		"X-Project-Name": u.ProjectName, "X-Project-Domain-Id": "default", "X-User-Domain-Name": "Default",
		"X-Tenant-Id": u.ProjectID, "X-Tenant": u.ProjectName, "X-User": u.Name, "X-Is-Admin-Project": "True",
	} {
		if got := hdr.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if roles := hdr.Get("X-Roles"); !strings.Contains(roles, "member") || hdr.Get("X-Role") != roles {
		t.Errorf("X-Roles %q X-Role %q", roles, hdr.Get("X-Role"))
	}
	var cat []struct {
		Type      string              `json:"type"`
		Endpoints []map[string]string `json:"endpoints"`
	}
	if err := json.Unmarshal([]byte(hdr.Get("X-Service-Catalog")), &cat); err != nil {
		t.Fatalf("X-Service-Catalog: %v", err)
	}
	found := false
	for _, s := range cat {
		if s.Type == "compute" && len(s.Endpoints) == 1 && s.Endpoints[0]["publicURL"] != "" && s.Endpoints[0]["region"] == "RegionOne" {
			found = true
		}
	}
	if !found {
		t.Errorf("X-Service-Catalog not in keystonemiddleware's shape: %s", hdr.Get("X-Service-Catalog"))
	}
}

func TestForgedIdentityHeadersGiveNothing(t *testing.T) {
	f := setup(t)
	a := newAuth(t, f.options(nil))
	forge := func(r *http.Request) {
		for _, h := range []string{"X-Roles", "X-Role", "X-Service-Roles", "X_Roles"} {
			r.Header[h] = []string{"admin"}
		}
		r.Header.Set("X-Identity-Status", "Confirmed")
		r.Header.Set("X-Service-Identity-Status", "Confirmed")
		r.Header.Set("X-User-Id", "admin")
		r.Header.Set("X-Project-Id", "admin")
		r.Header.Set("X-Tenant-Id", "admin")
		r.Header.Set("X-Is-Admin-Project", "True")
		r.Header.Set("OpenStack-System-Scope", "all")
		r.Header.Set("X-System-Scope", "all")
		r.Header.Set("X-Service-Catalog", "[]")
	}
	// Without a token: refused, whatever the headers say.
	r := request("")
	forge(r)
	w, c, _ := serve(auth.Middleware(a), r)
	wantFault(t, w, http.StatusUnauthorized, "unauthorized")
	if c != nil {
		t.Fatal("handler ran")
	}
	// With delay_auth_decision the request goes on, marked Invalid, forged headers gone.
	o := f.options(nil)
	o.DelayAuthDecision = true
	d := newAuth(t, o)
	r = request("")
	forge(r)
	w, c, hdr := serve(d.Middleware, r)
	if w.Code != http.StatusNoContent || c != nil || hdr.Get("X-Identity-Status") != "Invalid" {
		t.Fatalf("delayed: %d context %v status %q", w.Code, c, hdr.Get("X-Identity-Status"))
	}
	for _, h := range []string{"X-Roles", "X-Role", "X-Service-Roles", "X_Roles", "X-User-Id", "X-Project-Id", "X-Tenant-Id",
		"X-Is-Admin-Project", "Openstack-System-Scope", "X-System-Scope", "X-Service-Catalog", "X-Service-Identity-Status"} {
		if v, ok := hdr[h]; ok {
			t.Errorf("forged %s survived: %q", h, v)
		}
	}
	// With a member's token: the member's identity, not the forged one.
	r = request(f.token)
	forge(r)
	w, c, hdr = serve(auth.Middleware(a), r)
	if w.Code != http.StatusNoContent || c == nil {
		t.Fatalf("answer %d", w.Code)
	}
	if c.HasRole("admin") || c.IsAdmin || c.UserID != f.user.ID || c.ProjectID != f.user.ProjectID || c.SystemScope != "" {
		t.Errorf("forged identity leaked into the context: %+v", c)
	}
	underscored := "X_Roles" // the spelling a WSGI server maps to X-Roles; not canonical on purpose
	if strings.Contains(hdr.Get("X-Roles"), "admin") || hdr.Get("X-User-Id") != f.user.ID || hdr.Get("Openstack-System-Scope") != "" || hdr[underscored] != nil {
		t.Errorf("forged headers leaked: %v", hdr)
	}
}

func TestMissingOrInvalidTokenIs401WithTheKeystoneChallenge(t *testing.T) {
	f := setup(t)
	o := f.options(nil)
	o.WWWAuthenticateURI = "http://keystone.example:5000"
	a := newAuth(t, o)
	for _, token := range []string{"", "garbage", "gAAAAABnot-a-real-fernet-token-at-all"} {
		for name, h := range map[string]func(http.Handler) http.Handler{"auth.Middleware": auth.Middleware(a), "Middleware": a.Middleware} {
			w, c, _ := serve(h, request(token))
			wantFault(t, w, http.StatusUnauthorized, "unauthorized")
			if got := w.Header().Get("WWW-Authenticate"); got != `Keystone uri="http://keystone.example:5000"` || c != nil {
				t.Errorf("%s token %q: WWW-Authenticate %q, context %v", name, token, got, c)
			}
		}
	}
	// A 401 written downstream gets the challenge too (process_response).
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, request(f.token))
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("downstream 401: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

func TestRevokedToken(t *testing.T) {
	f := setup(t)
	admin := f.k.Admin(t)
	ctx := context.Background()

	// Without a cache, revocation is seen at once.
	o := f.options(nil)
	o.TokenCacheTime = 0
	a := newAuth(t, o)
	tok, _ := f.k.Token(t, f.user.Name, f.user.Password, f.user.ProjectName)
	if _, err := a.Validate(ctx, tok); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	if err := tokens.Revoke(ctx, admin, tok).Err; err != nil {
		t.Fatal(err)
	}
	w, _, _ := serve(auth.Middleware(a), request(tok))
	wantFault(t, w, http.StatusUnauthorized, "unauthorized")

	// With a cache, as keystonemiddleware: a revoked token is accepted until
	// its entry's token_cache_time is over, then refused.
	clk := clocktest.New(time.Now())
	o = f.options(nil)
	o.TokenCacheTime = 30 * time.Second
	o.Clock = clk
	o.RenewBefore = time.Second
	c := newAuth(t, o)
	tok, _ = f.k.Token(t, f.user.Name, f.user.Password, f.user.ProjectName)
	if _, err := c.Validate(ctx, tok); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	if err := tokens.Revoke(ctx, admin, tok).Err; err != nil {
		t.Fatal(err)
	}
	if _, err := c.Validate(ctx, tok); err != nil {
		t.Fatalf("revoked but cached: %v, want accepted until the cache time ends", err)
	}
	clk.Advance(31 * time.Second)
	if _, err := c.Validate(ctx, tok); !errors.Is(err, keystone.ErrInvalidToken) {
		t.Fatalf("revoked, cache entry over: %v, want ErrInvalidToken", err)
	}
}

func TestExpiredTokenIsRefusedEvenWhenCached(t *testing.T) {
	f := setup(t)
	var n counter
	clk := clocktest.New(time.Now())
	o := f.options(&n)
	o.Clock = clk
	o.TokenCacheTime = 24 * time.Hour // longer than the token lives
	o.RenewBefore = time.Second
	a := newAuth(t, o)
	ctx := context.Background()
	id, err := a.Validate(ctx, f.token)
	if err != nil {
		t.Fatal(err)
	}
	before := n.total()
	clk.Set(id.ExpiresAt.Add(-time.Second))
	if _, err := a.Validate(ctx, f.token); err != nil || n.total() != before {
		t.Fatalf("a second before expiry: %v, %d Keystone calls", err, n.total()-before)
	}
	clk.Set(id.ExpiresAt)
	if _, err := a.Validate(ctx, f.token); !errors.Is(err, keystone.ErrInvalidToken) {
		t.Fatalf("at expiry: %v, want ErrInvalidToken", err)
	}
	w, _, _ := serve(auth.Middleware(a), request(f.token))
	wantFault(t, w, http.StatusUnauthorized, "unauthorized")
}

// validations reads gonova_keystone_token_validations_total by result.
func validations(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "gonova_keystone_token_validations_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}

func TestCacheHitDoesNotCallKeystone(t *testing.T) {
	f := setup(t)
	var n counter
	reg := prometheus.NewPedanticRegistry()
	o := f.options(&n)
	o.Registerer = reg
	a := newAuth(t, o)
	h := auth.Middleware(a)
	if w, _, _ := serve(h, request(f.token)); w.Code != http.StatusNoContent {
		t.Fatalf("first: %d", w.Code)
	}
	if n.logins.Load() != 1 || n.validations.Load() != 1 {
		t.Fatalf("first request: %d logins, %d validations; want 1 and 1", n.logins.Load(), n.validations.Load())
	}
	for i := 0; i < 20; i++ {
		if w, c, _ := serve(h, request(f.token)); w.Code != http.StatusNoContent || c.UserID != f.user.ID {
			t.Fatalf("cached: %d", w.Code)
		}
	}
	if n.total() != 2 {
		t.Fatalf("cache hits called Keystone: %d logins, %d validations", n.logins.Load(), n.validations.Load())
	}
	// Failures are never cached as successes: a bad token asks every time.
	for i := 0; i < 2; i++ {
		w, _, _ := serve(h, request("garbage"))
		wantFault(t, w, http.StatusUnauthorized, "unauthorized")
	}
	if n.validations.Load() != 3 {
		t.Fatalf("validations after two bad tokens: %d, want 3", n.validations.Load())
	}
	got := validations(t, reg)
	if got["valid"] != 1 || got["cached"] != 20 || got["invalid"] != 2 || got["unavailable"] != 0 || len(got) != 4 {
		t.Errorf("gonova_keystone_token_validations_total = %v", got)
	}
	// A second authenticator on the same registry shares the series.
	o2 := f.options(nil)
	o2.Registerer = reg
	if _, err := newAuth(t, o2).Validate(context.Background(), f.token); err != nil {
		t.Fatal(err)
	}
	if got := validations(t, reg); got["valid"] != 2 {
		t.Errorf("after a second authenticator: %v", got)
	}
}

func TestKeystoneUnreachableIs503ThenRecovers(t *testing.T) {
	f := setup(t)
	p := tcpproxy.Start(t, strings.TrimPrefix(strings.TrimSuffix(f.k.AuthURL, "/v3"), "http://"))
	url := "http://" + p.Addr() + "/v3"
	o := f.options(nil)
	o.AuthURL, o.IdentityURL = url, url
	o.TokenCacheTime = 0
	o.Timeout = 3 * time.Second
	a := newAuth(t, o)
	h := auth.Middleware(a)

	// Down from the start: the service cannot even log in.
	p.SetRefuse(true)
	w, _, _ := serve(h, request(f.token))
	wantFault(t, w, http.StatusServiceUnavailable, "serviceUnavailable")
	if strings.Contains(w.Body.String(), p.Addr()) {
		t.Errorf("503 body shows Keystone's address: %s", w.Body)
	}
	p.SetRefuse(false)
	if w, _, _ := serve(h, request(f.token)); w.Code != http.StatusNoContent {
		t.Fatalf("Keystone back: %d %s", w.Code, w.Body)
	}
	// Down after login: validations fail, then recover without a restart.
	p.SetRefuse(true)
	p.CutAll()
	w, _, _ = serve(h, request(f.token))
	wantFault(t, w, http.StatusServiceUnavailable, "serviceUnavailable")
	// delay_auth_decision turns the outage into X-Identity-Status: Invalid.
	o.DelayAuthDecision = true
	d := newAuth(t, o)
	w, c, hdr := serve(d.Middleware, request(f.token))
	if w.Code != http.StatusNoContent || c != nil || hdr.Get("X-Identity-Status") != "Invalid" {
		t.Errorf("delayed, Keystone down: %d %v %q", w.Code, c, hdr.Get("X-Identity-Status"))
	}
	p.SetRefuse(false)
	if w, c, _ := serve(h, request(f.token)); w.Code != http.StatusNoContent || c.UserID != f.user.ID {
		t.Fatalf("Keystone back again: %d %s", w.Code, w.Body)
	}
}

func TestMemcachedSharesValidations(t *testing.T) {
	f := setup(t)
	mc := testenv.MemcachedAddr(t)
	var n1, n2 counter
	o1 := f.options(&n1)
	o1.MemcachedServers = []string{mc}
	o2 := f.options(&n2)
	o2.MemcachedServers = []string{mc}
	a1, a2 := newAuth(t, o1), newAuth(t, o2)
	// A token of its own, so no other test's entry is found.
	tok, _ := f.k.Token(t, f.user.Name, f.user.Password, f.user.ProjectName)
	ctx := context.Background()
	id1, err := a1.Validate(ctx, tok)
	if err != nil || n1.validations.Load() != 1 {
		t.Fatalf("first process: %v, %d validations", err, n1.validations.Load())
	}
	id2, err := a2.Validate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if n2.total() != 0 {
		t.Fatalf("second process asked Keystone (%d logins, %d validations): memcached entry not used", n2.logins.Load(), n2.validations.Load())
	}
	if id2.UserID != id1.UserID || id2.ProjectID != id1.ProjectID || !id2.ExpiresAt.Equal(id1.ExpiresAt) || strings.Join(id2.Roles, ",") != strings.Join(id1.Roles, ",") {
		t.Errorf("memcached entry differs: %+v vs %+v", id2, id1)
	}
	// An unreachable memcached is not fatal: Keystone is asked.
	o3 := f.options(nil)
	o3.MemcachedServers = []string{"127.0.0.1:1"}
	o3.MemcacheTimeout = 200 * time.Millisecond
	if _, err := newAuth(t, o3).Validate(ctx, tok); err != nil {
		t.Fatalf("memcached down: %v", err)
	}
}

func TestServiceToken(t *testing.T) {
	f := setup(t)
	svcToken, _ := f.k.Token(t, f.k.ServiceUser, f.k.ServicePassword, f.k.ServiceProject)
	a := newAuth(t, f.options(nil))
	r := request(f.token)
	r.Header.Set("X-Service-Token", svcToken)
	w, c, hdr := serve(auth.Middleware(a), r)
	if w.Code != http.StatusNoContent || c == nil || c.UserID != f.user.ID {
		t.Fatalf("user + service token: %d", w.Code)
	}
	if hdr.Get("X-Service-Identity-Status") != "Confirmed" || !strings.Contains(hdr.Get("X-Service-Roles"), "service") ||
		hdr.Get("X-Service-User-Name") != "nova" || hdr.Get("X-Service-Project-Name") != "service" || hdr.Get("X-User-Id") != f.user.ID {
		t.Errorf("service headers: %v", hdr)
	}
	// A token without a service role is not a service token: the request is refused.
	r = request(f.token)
	r.Header.Set("X-Service-Token", f.token)
	w, _, _ = serve(auth.Middleware(a), r)
	wantFault(t, w, http.StatusUnauthorized, "unauthorized")
	// ... unless service_token_roles_required is false (keystonemiddleware's old behaviour).
	o := f.options(nil)
	o.ServiceTokenRolesRequired = false
	r = request(f.token)
	r.Header.Set("X-Service-Token", f.token)
	w, _, hdr = serve(auth.Middleware(newAuth(t, o)), r)
	if w.Code != http.StatusNoContent || hdr.Get("X-Service-Identity-Status") != "Confirmed" {
		t.Errorf("roles not required: %d %q", w.Code, hdr.Get("X-Service-Identity-Status"))
	}
}

func TestServiceLoginIsRenewedBeforeItExpires(t *testing.T) {
	f := setup(t)
	var n counter
	o := f.options(&n)
	o.TokenCacheTime = 0
	a := newAuth(t, o)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := a.Validate(ctx, f.token); err != nil {
			t.Fatal(err)
		}
	}
	if n.logins.Load() != 1 {
		t.Fatalf("%d logins for 3 validations, want 1 (the service token is reused)", n.logins.Load())
	}
	// Keystone tokens live an hour: renewing 2 h before expiry renews every time.
	o = f.options(&n)
	o.TokenCacheTime = 0
	o.RenewBefore = 2 * time.Hour
	n.logins.Store(0)
	b := newAuth(t, o)
	for i := 0; i < 2; i++ {
		if _, err := b.Validate(ctx, f.token); err != nil {
			t.Fatal(err)
		}
	}
	if n.logins.Load() != 2 {
		t.Fatalf("%d logins, want 2 (renewed before expiry)", n.logins.Load())
	}
}

// A Keystone that accepts connections and never answers: requests that
// queued behind one failed login share its answer, so ten requests cost
// about one timeout, not ten in turn.
func TestHungKeystoneCostsOneTimeoutNotOnePerRequest(t *testing.T) {
	f := setup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	o := f.options(nil)
	o.AuthURL = "http://" + ln.Addr().String() + "/v3"
	o.Timeout = time.Second
	a := newAuth(t, o)
	h := auth.Middleware(a)
	start := time.Now()
	var wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, _, _ := serve(h, request(f.token))
			codes[i] = w.Code
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusServiceUnavailable {
			t.Errorf("request %d: %d, want 503", i, c)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("10 requests took %v with a 1 s timeout: failed logins are not shared", d)
	}
}

func TestOversizedTokenIsRefusedUnasked(t *testing.T) {
	f := setup(t)
	var n counter
	a := newAuth(t, f.options(&n))
	w, _, _ := serve(auth.Middleware(a), request(strings.Repeat("x", keystone.MaxTokenSize+1)))
	wantFault(t, w, http.StatusUnauthorized, "unauthorized")
	if n.total() != 0 {
		t.Errorf("Keystone asked %d times", n.total())
	}
}
