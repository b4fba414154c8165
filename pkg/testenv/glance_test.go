package testenv

import (
	"context"
	"net/http"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// UploadImage makes an active image (or a queued one) of the token's
// project with the asked attributes, and deletes it when its test ends.
func TestGlanceUploadImage(t *testing.T) {
	g := Glance(t)
	tok, _ := g.Keystone.Token(t, g.Keystone.AdminUser, g.Keystone.AdminPassword, g.Keystone.AdminProject)
	var active, queued *images.Image
	t.Run("upload", func(t *testing.T) {
		active = g.UploadImage(t, tok, ImageOptions{MinRAM: 64, MinDisk: 1, Size: 2048, Properties: map[string]string{"gonova_test": "1"}})
		queued = g.UploadImage(t, tok, ImageOptions{Queued: true})
		if active.Status != images.ImageStatusActive || active.MinRAMMegabytes != 64 || active.MinDiskGigabytes != 1 ||
			active.SizeBytes != 2048 || active.Properties["gonova_test"] != "1" || active.Visibility != images.ImageVisibilityPrivate {
			t.Errorf("active image: %+v", active)
		}
		if queued.Status != images.ImageStatusQueued {
			t.Errorf("queued image: %+v", queued)
		}
	})
	c := g.Client(tok)
	for _, img := range []*images.Image{active, queued} {
		if _, err := images.Get(context.Background(), c, img.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Errorf("image %s after its test: %v, want 404 (deleted)", img.ID, err)
		}
	}
}
