package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/imagedata"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// DefaultGlanceURL is the glance-api scripts/services.sh starts (Debian's
// glance 25, file store, behind the tests' Keystone).
const DefaultGlanceURL = "http://127.0.0.1:9292"

// GlanceEnv is how tests reach the real Glance: its URL (without a version,
// as nova's [glance] api_servers takes it; GONOVA_TEST_GLANCE_URL overrides
// it) and the Keystone it trusts, whose catalog lists it as the image
// service of region RegionOne.
type GlanceEnv struct {
	URL      string
	Keystone KeystoneEnv
}

// Glance returns the test Glance after checking that it and its Keystone
// answer; it skips the test (in CI: fails it) when either does not.
//
//	g := testenv.Glance(t)
//	tok, _ := g.Keystone.Token(t, u.Name, u.Password, u.ProjectName)
//	img := g.UploadImage(t, tok, testenv.ImageOptions{MinRAM: 64})
func Glance(t testing.TB) GlanceEnv {
	t.Helper()
	g := GlanceEnv{URL: strings.TrimRight(envOr("GONOVA_TEST_GLANCE_URL", DefaultGlanceURL), "/"), Keystone: Keystone(t)}
	// The clients of the test (and the code under test) keep idle
	// connections to Glance and Keystone in http.DefaultTransport: close
	// them when the test ends, so goleak sees no reader left.
	t.Cleanup(closeIdle)
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(g.URL + "/versions")
	if err == nil {
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return g
		}
		err = fmt.Errorf("GET %s/versions answers %s", g.URL, resp.Status)
	}
	missing(t, "Glance", "run scripts/services.sh (it installs and starts Debian's glance-api on 127.0.0.1:9292), or set GONOVA_TEST_GLANCE_URL: "+err.Error())
	return g
}

// Client is an image v2 client at this Glance sending token (any Keystone
// token: the caller's projects decide what it sees).
func (g GlanceEnv) Client(token string) *gophercloud.ServiceClient {
	p := &gophercloud.ProviderClient{HTTPClient: http.Client{Timeout: 60 * time.Second}}
	p.SetToken(token)
	return &gophercloud.ServiceClient{ProviderClient: p, Endpoint: g.URL + "/", ResourceBase: g.URL + "/v2/", Type: "image"}
}

// ImageOptions shape a test image. Zero values give a 1 KiB raw, private,
// active image with a unique name.
type ImageOptions struct {
	Name       string
	Visibility images.ImageVisibility // default private (the token's project)
	MinRAM     int                    // MB
	MinDisk    int                    // GB
	Size       int                    // bytes of data; default 1024
	Properties map[string]string
	// Queued leaves the image without data: Glance shows it "queued", not
	// active.
	Queued bool
}

// UploadImage creates an image with token, uploads its data (random bytes)
// and waits until Glance shows it active (unless opts.Queued); it is
// deleted when the test ends.
func (g GlanceEnv) UploadImage(t testing.TB, token string, opts ImageOptions) *images.Image {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := g.Client(token)
	if opts.Name == "" {
		opts.Name = UniqueName("gonova-img-")
	}
	if opts.Size <= 0 {
		opts.Size = 1024
	}
	vis := opts.Visibility
	if vis == "" {
		vis = images.ImageVisibilityPrivate
	}
	img, err := images.Create(ctx, c, images.CreateOpts{
		Name: opts.Name, Visibility: &vis, ContainerFormat: "bare", DiskFormat: "raw",
		MinRAM: opts.MinRAM, MinDisk: opts.MinDisk, Properties: opts.Properties,
	}).Extract()
	if err != nil {
		t.Fatalf("glance: create image %s: %v", opts.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := images.Delete(ctx, c, img.ID).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Logf("glance: delete image %s: %v", img.ID, err)
		}
	})
	if opts.Queued {
		return img
	}
	data := make([]byte, opts.Size)
	_, _ = rand.Read(data)
	if err := imagedata.Upload(ctx, c, img.ID, bytes.NewReader(data)).ExtractErr(); err != nil {
		t.Fatalf("glance: upload image %s: %v", img.ID, err)
	}
	for {
		got, err := images.Get(ctx, c, img.ID).Extract()
		if err != nil {
			t.Fatalf("glance: get image %s: %v", img.ID, err)
		}
		if got.Status == images.ImageStatusActive {
			return got
		}
		if got.Status == images.ImageStatusKilled || got.Status == images.ImageStatusDeleted {
			t.Fatalf("glance: image %s went %s", img.ID, got.Status)
		}
		select {
		case <-ctx.Done():
			t.Fatal(errors.Join(fmt.Errorf("glance: image %s still %s", img.ID, got.Status), ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func closeIdle() {
	if tr, ok := http.DefaultTransport.(*http.Transport); ok {
		tr.CloseIdleConnections()
	}
}
