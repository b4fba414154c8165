package keystone_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/gonova/gonova/pkg/wsgi/auth"
)

// The per-request cost of a cached Keystone validation against noauth2's,
// both through auth.Middleware on the same request: the difference is what
// keystone adds to every API call once a token is known (target < 20 µs).
func BenchmarkPerRequest(b *testing.B) {
	f := setup(b)
	a := newAuth(b, f.options(nil))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, found := auth.FromContext(r.Context()); !found {
			b.Fatal("no caller")
		}
	})
	run := func(b *testing.B, h http.Handler, token string) {
		r := httptest.NewRequest(http.MethodGet, "/v2.1/servers", nil)
		r.Header.Set("X-Auth-Token", token)
		r.Header.Set("Accept", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r) // warms the cache
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
		if w.Code != http.StatusOK {
			b.Fatalf("answer %d %s", w.Code, w.Body)
		}
	}
	b.Run("noauth2", func(b *testing.B) { run(b, auth.Middleware(auth.NoAuth{})(ok), "demo:demo") })
	b.Run("keystone-cached", func(b *testing.B) { run(b, auth.Middleware(a)(ok), f.token) })
}

// A cold validation (cache disabled: one GET /v3/auth/tokens per call, with
// the service's cached login) against the bare gophercloud round trip it is
// built on (target: within 1.2x).
func BenchmarkColdValidation(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	b.Run("keystone-uncached", func(b *testing.B) {
		o := f.options(nil)
		o.TokenCacheTime = 0
		a := newAuth(b, o)
		if _, err := a.Validate(ctx, f.token); err != nil { // logs in
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := a.Validate(ctx, f.token); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gophercloud-tokens-Get", func(b *testing.B) {
		p, err := openstack.AuthenticatedClient(ctx, gophercloud.AuthOptions{
			IdentityEndpoint: f.k.AuthURL, Username: f.k.ServiceUser, Password: f.k.ServicePassword, DomainID: f.k.DomainID,
			Scope: &gophercloud.AuthScope{ProjectName: f.k.ServiceProject, DomainID: f.k.DomainID},
		})
		if err != nil {
			b.Fatal(err)
		}
		sc, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{Region: f.k.Region, Availability: gophercloud.AvailabilityPublic})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := tokens.Get(ctx, sc, f.token).ExtractToken(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
