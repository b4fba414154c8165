package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/app"
	"github.com/gonova/gonova/pkg/config"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// startHTTP starts the greeter's HTTP service on a free port with the
// configuration text conf and returns its base URL; it is stopped when the
// test ends.
func startHTTP(t *testing.T, conf string) string {
	t.Helper()
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "greeter.conf")
	if err := os.WriteFile(p, []byte("[DEFAULT]\nhost = greeter-http\ntransport_url = memory://greeter-http\n"+conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.ParseWith([]string{"--config-file", p}, config.ParseOptions{Env: func(string) string { return "" }, DefaultFiles: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	devnull, _ := os.Open(os.DevNull)
	t.Cleanup(func() { devnull.Close() })
	a, err := app.NewFromConfig(ctx, cfg, app.Options{Product: "greeter", Output: devnull})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	web, err := newHTTPService(a, newManager(a), "127.0.0.1", -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := web.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := web.Stop(ctx); err != nil {
			t.Error(err)
		}
		_ = web.Wait(ctx)
	})
	return "http://" + web.Addr().String()
}

type answer struct {
	code   int
	header http.Header
	doc    GreetingDoc
	fault  fault.Body
}

func get(t *testing.T, url string, headers map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, header: resp.Header}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &a.doc); err != nil {
			t.Fatalf("GET %s: %s: %v", url, b, err)
		}
	} else if a.fault, err = fault.Parse(b); err != nil {
		t.Fatalf("GET %s: %d, not a fault body: %s", url, resp.StatusCode, b)
	}
	return a
}

// The greeting route behind Keystone (auth_strategy = keystone): a real
// token of a real user gets the greeting with its identity; no token and a
// bad token get 401 with Keystone's challenge; forged identity headers
// grant nothing, with or without a token.
func TestGreetingBehindKeystone(t *testing.T) {
	k := testenv.Keystone(t)
	base := startHTTP(t, "[api]\nauth_strategy = keystone\n[keystone_authtoken]\n"+
		"www_authenticate_uri = "+k.AuthURL+"\nauth_url = "+k.AuthURL+"\nauth_type = password\n"+
		"username = "+k.ServiceUser+"\npassword = "+k.ServicePassword+"\nproject_name = "+k.ServiceProject+"\n"+
		"user_domain_name = Default\nproject_domain_name = Default\nregion_name = "+k.Region+"\ninterface = public\n")
	u := k.NewUser(t, "member")
	token, _ := k.Token(t, u.Name, u.Password, u.ProjectName)
	url := base + "/v1/greeting?name=operator"

	a := get(t, url, map[string]string{"X-Auth-Token": token})
	if a.code != http.StatusOK || a.doc.Greeting != "Hello, operator!" || a.doc.Count != 1 ||
		a.doc.UserID != u.ID || a.doc.ProjectID != u.ProjectID || !hasRole(a.doc.Roles, "member") || hasRole(a.doc.Roles, "admin") {
		t.Fatalf("with a token: %d %+v, want user %s project %s roles [member ...]", a.code, a.doc, u.ID, u.ProjectID)
	}
	if a := get(t, base+"/v1/greeting", map[string]string{"X-Auth-Token": token}); a.code != http.StatusBadRequest || a.fault.Message != "Query parameter name is required." {
		t.Errorf("no name: %d %+v", a.code, a.fault)
	}

	challenge := `Keystone uri="` + k.AuthURL + `"`
	forged := map[string]string{"X-Identity-Status": "Confirmed", "X-Roles": "admin", "X-User-Id": "mallory",
		"X-Project-Id": u.ProjectID, "X-Service-Roles": "service", "X-Is-Admin-Project": "True"}
	for name, h := range map[string]map[string]string{
		"no token":               {},
		"bad token":              {"X-Auth-Token": "gAAAAA-not-a-token"},
		"forged headers":         forged,
		"forged headers and bad": merge(forged, map[string]string{"X-Auth-Token": "gAAAAA-not-a-token"}),
	} {
		if a := get(t, url, h); a.code != http.StatusUnauthorized || a.header.Get("WWW-Authenticate") != challenge || a.fault.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d %q %+v, want 401 with %s", name, a.code, a.header.Get("WWW-Authenticate"), a.fault, challenge)
		}
	}
	// A valid token with forged headers: the caller is the token's, roles
	// and all.
	a = get(t, url, merge(forged, map[string]string{"X-Auth-Token": token}))
	if a.code != http.StatusOK || a.doc.UserID != u.ID || hasRole(a.doc.Roles, "admin") || !hasRole(a.doc.Roles, "member") {
		t.Errorf("a token with forged headers: %d %+v, want the token's user %s and roles", a.code, a.doc, u.ID)
	}
}

// With auth_strategy = noauth2 the same route trusts "user:project" tokens
// (development) and still refuses a request without one.
func TestGreetingWithNoAuth(t *testing.T) {
	base := startHTTP(t, "[api]\nauth_strategy = noauth2\n")
	a := get(t, base+"/v1/greeting?name=dev", map[string]string{"X-Auth-Token": "alice:demo"})
	if a.code != http.StatusOK || a.doc.Greeting != "Hello, dev!" || a.doc.UserID != "alice" || a.doc.ProjectID != "demo" {
		t.Fatalf("noauth2 token: %d %+v", a.code, a.doc)
	}
	if a := get(t, base+"/v1/greeting?name=dev", nil); a.code != http.StatusUnauthorized {
		t.Errorf("noauth2 without a token: %d", a.code)
	}
}

func hasRole(roles []string, want string) bool {
	for _, r := range roles {
		if strings.EqualFold(r, want) {
			return true
		}
	}
	return false
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
