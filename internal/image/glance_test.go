package image

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"

	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/auth"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// callerWithCatalog is u's caller context as keystonemiddleware makes it:
// its token and its catalog (Keystone's v3 JSON).
func callerWithCatalog(t *testing.T, k testenv.KeystoneEnv, u testenv.KeystoneUser) *auth.Context {
	t.Helper()
	p, err := openstack.NewClient(k.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := openstack.NewIdentityV3(p, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	r := tokens.Create(context.Background(), sc, &tokens.AuthOptions{Username: u.Name, Password: u.Password, DomainID: k.DomainID,
		Scope: tokens.Scope{ProjectName: u.ProjectName, DomainID: k.DomainID}})
	tok, err := r.ExtractToken()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := r.ExtractServiceCatalog()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(cat.Entries)
	if err != nil {
		t.Fatal(err)
	}
	return &auth.Context{UserID: u.ID, ProjectID: u.ProjectID, AuthToken: tok.ID, ServiceCatalog: raw, RequestID: "req-00000000-0000-4000-8000-000000000000"}
}

func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String()
}

// Get finds Glance as nova does (api_servers, endpoint_override, else the
// caller's catalog in [glance] region_name) and reads the image with the
// caller's token: what the caller may not see is not found.
func TestGetAtTheRealGlance(t *testing.T) {
	g := testenv.Glance(t)
	k := g.Keystone
	u := k.NewUser(t, "member")
	c := callerWithCatalog(t, k, u)
	img := g.UploadImage(t, c.AuthToken, testenv.ImageOptions{MinRAM: 128, MinDisk: 2, Size: 3000, Properties: map[string]string{"hw_gonova": "yes"}})
	queued := g.UploadImage(t, c.AuthToken, testenv.ImageOptions{Queued: true})
	other := k.NewUser(t, "member")
	otherTok, _ := k.Token(t, other.Name, other.Password, other.ProjectName)
	private := g.UploadImage(t, otherTok, testenv.ImageOptions{})
	ctx := context.Background()

	for name, o := range map[string]Options{
		"api_servers":                {APIServers: []string{g.URL + "/v2/"}},
		"endpoint_override":          {EndpointOverride: g.URL},
		"catalog":                    {},
		"catalog in RegionOne":       {RegionName: "RegionOne", ValidInterfaces: []string{"admin"}},
		"dead server then the other": {APIServers: []string{closedURL(t), g.URL}, NumRetries: 1},
	} {
		t.Run(name, func(t *testing.T) {
			o.Logger = quiet
			cl := New(o)
			for i := 0; i < 2; i++ { // both servers of a cycle
				got, err := cl.Get(ctx, c, img.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.ID != img.ID || got.Status != "active" || got.MinRAM != 128 || got.MinDisk != 2 || got.Size != 3000 || got.Properties["hw_gonova"] != "yes" {
					t.Errorf("Get: %+v", got)
				}
			}
			if got, err := cl.Get(ctx, c, queued.ID); err != nil || got.Status != "queued" {
				t.Errorf("queued image: %+v %v", got, err)
			}
			_, err := cl.Get(ctx, c, private.ID)
			if !errors.Is(err, ErrNotFound) || err.Error() != "Image "+private.ID+" could not be found." {
				t.Errorf("another project's private image: %v, want ErrNotFound", err)
			}
			if _, err := cl.Get(ctx, c, "not-a-uuid"); !errors.Is(err, ErrNotFound) {
				t.Errorf("an id Glance does not take: %v, want ErrNotFound", err)
			}
		})
	}

	// Nothing to reach: ErrUnavailable, with what was looked for and never
	// the token.
	for name, tc := range map[string]struct {
		o      Options
		caller *auth.Context
		want   string
	}{
		"no catalog":      {Options{}, &auth.Context{AuthToken: c.AuthToken}, "no image endpoint"},
		"no such region":  {Options{RegionName: "Nowhere"}, c, "no image endpoint in the service catalog (region Nowhere, interfaces internal,public)"},
		"server down":     {Options{APIServers: []string{closedURL(t)}, NumRetries: 2}, c, "Connection to glance host http://127.0.0.1:"},
		"override down":   {Options{EndpointOverride: closedURL(t)}, c, "failed: connection refused"},
		"token refused":   {Options{APIServers: []string{g.URL}}, &auth.Context{AuthToken: "gAAAAAbogus"}, "refused the request's token (401)"},
		"catalog garbage": {Options{}, &auth.Context{AuthToken: c.AuthToken, ServiceCatalog: json.RawMessage(`{"x":1}`)}, "does not parse"},
	} {
		t.Run(name, func(t *testing.T) {
			tc.o.Logger = quiet
			_, err := New(tc.o).Get(ctx, tc.caller, img.ID)
			var e *Error
			if !errors.Is(err, ErrUnavailable) || !errors.As(err, &e) || !e.ServiceUnavailable() || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Get: %v, want ErrUnavailable saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), c.AuthToken) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://g:9292":        "http://g:9292",
		"http://g:9292/":       "http://g:9292",
		"http://g:9292/v2":     "http://g:9292",
		"http://g:9292/v2/":    "http://g:9292",
		"http://g:9292/v2.1":   "http://g:9292",
		"http://g/image/v2":    "http://g/image",
		" http://g/image/v2 ":  "http://g/image",
		"http://g/image/v2/x/": "http://g/image/v2/x",
	} {
		if got := baseURL(in); got != want {
			t.Errorf("baseURL(%q) = %q, want %q", in, got, want)
		}
	}
}
