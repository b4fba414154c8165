package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/auth/keystone"
)

// Authenticator builds what [api] auth_strategy names; a strategy it does
// not know, or keystone without the options it needs, is a configuration
// error (exit code ExitConfig).
func TestAuthenticatorFollowsAuthStrategy(t *testing.T) {
	for _, c := range []struct {
		name, conf, err string
	}{
		{"noauth2", "[api]\nauth_strategy = noauth2\n", ""},
		{"keystone without auth_url", "[api]\nauth_strategy = keystone\n", "[api] auth_strategy = keystone: keystone: [keystone_authtoken] auth_url is required"},
		{"keystone without a password", "[api]\nauth_strategy = keystone\n[keystone_authtoken]\nauth_url = http://127.0.0.1:1/v3\nusername = nova\n", "username and password are required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := NewFromConfig(context.Background(), parse(t, c.conf), Options{Product: "test", Output: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			authn, err := a.Authenticator()
			if c.err == "" {
				if _, ok := authn.(auth.NoAuth); err != nil || !ok {
					t.Fatalf("%T %v, want auth.NoAuth", authn, err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Code != ExitConfig || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("%v, want an ExitConfig error with %q", err, c.err)
			}
		})
	}
}

// With auth_strategy = keystone the authenticator validates real tokens,
// logs in with [keystone_authtoken]'s credentials and counts validations
// on the App's registry.
func TestAuthenticatorKeystoneOnTheRealKeystone(t *testing.T) {
	k := testenv.Keystone(t)
	a, err := NewFromConfig(context.Background(), parse(t, "[api]\nauth_strategy = keystone\n[keystone_authtoken]\n"+
		"auth_url = "+k.AuthURL+"\nauth_type = password\nusername = "+k.ServiceUser+"\npassword = "+k.ServicePassword+
		"\nproject_name = "+k.ServiceProject+"\nuser_domain_name = Default\nproject_domain_name = Default\nregion_name = "+k.Region+"\ninterface = public\n"),
		Options{Product: "test", Output: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	authn, err := a.Authenticator()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := authn.(*keystone.Authenticator); !ok {
		t.Fatalf("%T, want *keystone.Authenticator", authn)
	}
	u := k.NewUser(t, "reader")
	token, _ := k.Token(t, u.Name, u.Password, u.ProjectName)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set(auth.HeaderAuthToken, token)
	c, err := authn.Authenticate(r)
	if err != nil || c.UserID != u.ID || c.ProjectID != u.ProjectID || !c.HasRole("reader") {
		t.Fatalf("Authenticate: %+v %v, want user %s project %s", c, err, u.ID, u.ProjectID)
	}
	mfs, err := a.Metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		found = found || mf.GetName() == "gonova_keystone_token_validations_total"
	}
	if !found {
		t.Error("gonova_keystone_token_validations_total is not on the App's registry")
	}
}
