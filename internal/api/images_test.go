package api

import (
	"github.com/gonova/gonova/internal/computedb"

	"context"

	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/image"
	"github.com/gonova/gonova/pkg/testenv"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// glanceCaller authenticates every request as u, carrying u's real Keystone
// token, which nova-api hands on to Glance as nova does.
func glanceCaller(u testenv.KeystoneUser, token string) auth.Authenticator {
	return auth.AuthenticatorFunc(func(r *http.Request) (*auth.Context, error) {
		return &auth.Context{UserID: u.ID, ProjectID: u.ProjectID, Roles: []string{"member", "reader"}, AuthToken: token}, nil
	})
}

// closedURL is an http URL where nothing listens.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// Server create with [glance] api_servers checks imageRef at the real
// Glance with the caller's token, as nova's create does: it must exist (as
// the caller sees it), be active, and fit the flavor; Glance down is a 503.
func TestCreateChecksImageAtGlance(t *testing.T) {
	g := testenv.Glance(t)
	k := g.Keystone
	u := k.NewUser(t, "member")
	tok, _ := k.Token(t, u.Name, u.Password, u.ProjectName)
	other := k.NewUser(t, "member")
	otherTok, _ := k.Token(t, other.Name, other.Password, other.ProjectName)

	active := g.UploadImage(t, tok, testenv.ImageOptions{})
	queued := g.UploadImage(t, tok, testenv.ImageOptions{Queued: true})
	bigRAM := g.UploadImage(t, tok, testenv.ImageOptions{MinRAM: 1024})
	bigDisk := g.UploadImage(t, tok, testenv.ImageOptions{MinDisk: 5})
	badDrive := g.UploadImage(t, tok, testenv.ImageOptions{Properties: map[string]string{"img_config_drive": "always"}})
	othersPrivate := g.UploadImage(t, otherTok, testenv.ImageOptions{})
	adminTok, _ := k.Token(t, k.AdminUser, k.AdminPassword, k.AdminProject)
	othersPublic := g.UploadImage(t, adminTok, testenv.ImageOptions{Visibility: images.ImageVisibilityPublic})

	e := newEnv(t, memBackend, func(d *Deps, _ *computeapi.Options) {
		d.Auth = glanceCaller(u, tok)
		d.Images = image.New(image.Options{APIServers: []string{g.URL}})
	})
	if _, err := e.compute.CreateFlavor(context.Background(), computedb.Flavor{FlavorID: "zero", Name: "zero-disk", MemoryMB: 512, VCPUs: 1, RXTXFactor: 1, IsPublic: true}); err != nil {
		t.Fatal(err)
	}
	boot := func(imageRef, flavor string) resp {
		t.Helper()
		return e.do("POST", "/v2.1/servers", "x", "", map[string]any{"server": map[string]any{"name": "vm", "imageRef": imageRef, "flavorRef": flavor}})
	}
	r := boot(active.ID, "1")
	r.want(t, 202)
	r = boot(othersPublic.ID, "1")
	r.want(t, 202)
	// The image, as nova shows it: id and a bookmark link.
	id := obj(t, r.Body["server"])["id"].(string)
	show := e.do("GET", "/v2.1/servers/"+id, "x", "", nil)
	show.want(t, 200)
	if img := obj(t, obj(t, show.Body["server"])["image"]); img["id"] != othersPublic.ID || len(list(t, img["links"])) != 1 {
		t.Errorf("server image %v, want id %s with a bookmark link", img, othersPublic.ID)
	}

	boot("9f2b3c4d-0000-4000-8000-000000000001", "1").wantFault(t, 400, "Can not find requested image")
	boot(othersPrivate.ID, "1").wantFault(t, 400, "Can not find requested image")
	boot(queued.ID, "1").wantFault(t, 400, "Image "+queued.ID+" is not active.")
	boot(bigRAM.ID, "1").wantFault(t, 400, "Flavor's memory is too small for requested image.")
	boot(bigRAM.ID, "2").want(t, 202) // m1.small: 2048 MB
	boot(bigDisk.ID, "1").wantFault(t, 400, "Flavor's disk is smaller than the minimum size specified in image metadata. Flavor disk is "+
		strconv.Itoa(1<<30)+" bytes, minimum size is "+strconv.Itoa(5<<30)+" bytes.")
	boot(bigDisk.ID, "2").want(t, 202) // 20 GB
	// A zero-disk flavor: only for callers nova's zero_disk_flavor policy
	// lets (admins), 403 otherwise.
	boot(active.ID, "zero").wantFault(t, 403, "Only volume-backed servers are allowed for flavors with zero disk.")
	boot(badDrive.ID, "1").wantFault(t, 400, "Image's config drive option 'always' is invalid")
	// The flavor is checked before the image, as nova does.
	boot("9f2b3c4d-0000-4000-8000-000000000001", "99").wantFault(t, 400, "Invalid flavorRef provided.")

	// Glance unreachable: 503, not 500; and api_servers retries on the
	// next server (num_retries), so one dead server of two still works.
	down := newEnv(t, memBackend, func(d *Deps, _ *computeapi.Options) {
		d.Auth = glanceCaller(u, tok)
		d.Images = image.New(image.Options{APIServers: []string{closedURL(t)}})
	})
	r = down.do("POST", "/v2.1/servers", "x", "", map[string]any{"server": map[string]any{"name": "vm", "imageRef": active.ID, "flavorRef": "1"}})
	if r.Code != http.StatusServiceUnavailable {
		t.Fatalf("create with Glance down: %d %s, want 503", r.Code, r.Raw)
	}
	half := newEnv(t, memBackend, func(d *Deps, _ *computeapi.Options) {
		d.Auth = glanceCaller(u, tok)
		d.Images = image.New(image.Options{APIServers: []string{closedURL(t), g.URL}, NumRetries: 1})
	})
	for i := 0; i < 4; i++ {
		half.do("POST", "/v2.1/servers", "x", "", map[string]any{"server": map[string]any{"name": "vm", "imageRef": active.ID, "flavorRef": "1"}}).want(t, 202)
	}
}

// checkImage is the check rebuild shares with create; rebuild's missing
// image has its own words in nova ("Cannot find image for rebuild"). And
// without an image service any id passes, unchecked.
func TestCheckImageForRebuild(t *testing.T) {
	g := testenv.Glance(t)
	k := g.Keystone
	u := k.NewUser(t, "member")
	tok, _ := k.Token(t, u.Name, u.Password, u.ProjectName)
	queued := g.UploadImage(t, tok, testenv.ImageOptions{Queued: true})
	enf, err := defaultEnforcer(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &handlers{enf: enf, images: image.New(image.Options{APIServers: []string{g.URL}})}
	r := httptest.NewRequest("POST", "/v2.1/servers/x/action", nil)
	r = r.WithContext(auth.NewContext(r.Context(), &auth.Context{UserID: u.ID, ProjectID: u.ProjectID, Roles: []string{"member"}, AuthToken: tok}))
	tiny := imageFlavor{MemoryMB: 512, RootGB: 1}
	_, err = h.checkImage(r, "9f2b3c4d-0000-4000-8000-000000000002", tiny, rebuildImageCheck)
	if fe, ok := err.(*fault.Error); !ok || fe.Code != 400 || fe.Message != "Cannot find image for rebuild" {
		t.Errorf("rebuild with an unknown image: %v", err)
	}
	_, err = h.checkImage(r, queued.ID, tiny, rebuildImageCheck)
	if fe, ok := err.(*fault.Error); !ok || fe.Code != 400 || fe.Message != "Image "+queued.ID+" is not active." {
		t.Errorf("rebuild with a queued image: %v", err)
	}
	none := &handlers{enf: enf}
	if img, err := none.checkImage(r, "anything", tiny, rebuildImageCheck); err != nil || img.ID != "" {
		t.Errorf("without an image service: %+v %v, want nothing checked", img, err)
	}
}
