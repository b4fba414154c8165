package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/keypairs"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/tags"
)

// gopherclient is a gophercloud compute client of token on e's router.
func gopherclient(t *testing.T, e *env, token, microversion string) *gophercloud.ServiceClient {
	t.Helper()
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	provider := &gophercloud.ProviderClient{HTTPClient: http.Client{Transport: tr}}
	provider.SetToken(token)
	return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/v2.1/", Type: "compute", Microversion: microversion}
}

// TestGophercloudFlavors: gophercloud's flavor calls, as an operator's
// tooling makes them: create (public and private), list with filters,
// extra specs, access, delete.
func TestGophercloudFlavors(t *testing.T) {
	runBoth93(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c := gopherclient(t, e, admin, "2.61")
		disk, private := 10, false
		f, err := flavors.Create(ctx, c, flavors.CreateOpts{Name: "gc.small", RAM: 1024, VCPUs: 2, Disk: &disk, ID: "gc1",
			RxTxFactor: 2.5, IsPublic: &private, Description: "from gophercloud"}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if f.ID != "gc1" || f.RxTxFactor != 2.5 || f.IsPublic || f.Description != "from gophercloud" || f.Swap != 0 {
			t.Fatalf("created %+v", f)
		}
		pages, err := flavors.ListDetail(c, flavors.ListOpts{AccessType: flavors.AllAccess, MinRAM: 1024}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all, err := flavors.ExtractFlavors(pages)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 5 { // m1.small to m1.xlarge, and gc1
			t.Fatalf("list %+v", all)
		}
		// Paging through the pager's next links gives every flavor.
		pages, err = flavors.ListDetail(c, flavors.ListOpts{Limit: 2, AccessType: flavors.AllAccess}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if all, _ = flavors.ExtractFlavors(pages); len(all) != 6 {
			t.Fatalf("paged list %d flavors", len(all))
		}

		specs, err := flavors.CreateExtraSpecs(ctx, c, "gc1", flavors.ExtraSpecsOpts{"hw:cpu_policy": "dedicated", "mine": "x"}).Extract()
		if err != nil || specs["hw:cpu_policy"] != "dedicated" {
			t.Fatalf("CreateExtraSpecs %v %v", specs, err)
		}
		if specs, err = flavors.ListExtraSpecs(ctx, c, "gc1").Extract(); err != nil || len(specs) != 2 {
			t.Fatalf("ListExtraSpecs %v %v", specs, err)
		}
		if _, err = flavors.UpdateExtraSpec(ctx, c, "gc1", flavors.ExtraSpecsOpts{"mine": "y"}).Extract(); err != nil {
			t.Fatal(err)
		}
		if spec, err := flavors.GetExtraSpec(ctx, c, "gc1", "mine").Extract(); err != nil || spec["mine"] != "y" {
			t.Fatalf("GetExtraSpec %v %v", spec, err)
		}
		if err := flavors.DeleteExtraSpec(ctx, c, "gc1", "mine").ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if got, err := flavors.Get(ctx, c, "gc1").Extract(); err != nil || len(got.ExtraSpecs) != 1 {
			t.Fatalf("Get %+v %v", got, err)
		}

		acc, err := flavors.AddAccess(ctx, c, "gc1", flavors.AddAccessOpts{Tenant: "proj-a"}).Extract()
		if err != nil || len(acc) != 1 || acc[0].TenantID != "proj-a" || acc[0].FlavorID != "gc1" {
			t.Fatalf("AddAccess %+v %v", acc, err)
		}
		pages, err = flavors.ListAccesses(c, "gc1").AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if acc, _ = flavors.ExtractAccesses(pages); len(acc) != 1 {
			t.Fatalf("ListAccesses %+v", acc)
		}
		if got, err := flavors.Get(ctx, gopherclient(t, e, alice, ""), "gc1").Extract(); err != nil || got.Name != "gc.small" {
			t.Fatalf("alice's Get %+v %v", got, err)
		}
		if _, err := flavors.RemoveAccess(ctx, c, "gc1", flavors.RemoveAccessOpts{Tenant: "proj-a"}).Extract(); err != nil {
			t.Fatal(err)
		}
		if _, err := flavors.Get(ctx, gopherclient(t, e, alice, ""), "gc1").Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("alice's Get after removal: %v", err)
		}
		if _, err := flavors.Update(ctx, c, "gc1", flavors.UpdateOpts{Description: "new"}).Extract(); err != nil {
			t.Fatal(err)
		}
		if err := flavors.Delete(ctx, c, "gc1").ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if _, err := flavors.Get(ctx, c, "gc1").Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("Get after delete: %v", err)
		}
	})
}

// TestGophercloudKeypairsMetadataTags: gophercloud's keypairs, server
// metadata and server tags calls.
func TestGophercloudKeypairsMetadataTags(t *testing.T) {
	runBoth93(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c := gopherclient(t, e, alice, "2.2")
		kp, err := keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "gen"}).Extract()
		if err != nil || kp.PrivateKey == "" || kp.Type != "ssh" || kp.UserID != "alice" {
			t.Fatalf("generate %+v %v", kp, err)
		}
		kp, err = keypairs.Create(ctx, c, keypairs.CreateOpts{Name: "imp", PublicKey: testPublicKey}).Extract()
		if err != nil || kp.Fingerprint != testFingerprint || kp.PrivateKey != "" {
			t.Fatalf("import %+v %v", kp, err)
		}
		pages, err := keypairs.List(c, nil).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all, err := keypairs.ExtractKeyPairs(pages)
		if err != nil || len(all) != 2 {
			t.Fatalf("list %+v %v", all, err)
		}
		if got, err := keypairs.Get(ctx, c, "imp", nil).Extract(); err != nil || got.PublicKey != testPublicKey {
			t.Fatalf("get %+v %v", got, err)
		}
		if err := keypairs.Delete(ctx, c, "gen", nil).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if _, err := keypairs.Get(ctx, c, "gen", nil).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("get deleted: %v", err)
		}

		e.addNode("c1", 8, 16384, 200)
		c.Microversion = "2.26"
		srv, err := servers.Create(ctx, c, servers.CreateOpts{Name: "vm", FlavorRef: "1", ImageRef: imageID}, nil).Extract()
		if err != nil {
			t.Fatal(err)
		}
		e.setStateActive(t, srv.ID)
		if _, err := servers.CreateMetadatum(ctx, c, srv.ID, servers.MetadatumOpts{"a": "1"}).Extract(); err != nil {
			t.Fatal(err)
		}
		if m, err := servers.UpdateMetadata(ctx, c, srv.ID, servers.MetadataOpts{"b": "2"}).Extract(); err != nil || len(m) != 2 {
			t.Fatalf("UpdateMetadata %v %v", m, err)
		}
		if m, err := servers.Metadatum(ctx, c, srv.ID, "b").Extract(); err != nil || m["b"] != "2" {
			t.Fatalf("Metadatum %v %v", m, err)
		}
		if m, err := servers.ResetMetadata(ctx, c, srv.ID, servers.MetadataOpts{"c": "3"}).Extract(); err != nil || len(m) != 1 {
			t.Fatalf("ResetMetadata %v %v", m, err)
		}
		if err := servers.DeleteMetadatum(ctx, c, srv.ID, "c").ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if m, err := servers.Metadata(ctx, c, srv.ID).Extract(); err != nil || len(m) != 0 {
			t.Fatalf("Metadata %v %v", m, err)
		}

		if got, err := tags.ReplaceAll(ctx, c, srv.ID, tags.ReplaceAllOpts{Tags: []string{"x", "y"}}).Extract(); err != nil || len(got) != 2 {
			t.Fatalf("ReplaceAll %v %v", got, err)
		}
		if err := tags.Add(ctx, c, srv.ID, "z").ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if ok, err := tags.Check(ctx, c, srv.ID, "z").Extract(); err != nil || !ok {
			t.Fatalf("Check %v %v", ok, err)
		}
		if err := tags.Delete(ctx, c, srv.ID, "z").ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if got, err := tags.List(ctx, c, srv.ID).Extract(); err != nil || len(got) != 2 {
			t.Fatalf("List %v %v", got, err)
		}
		if err := tags.DeleteAll(ctx, c, srv.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if got, err := servers.Get(ctx, c, srv.ID).Extract(); err != nil || got.Tags == nil || len(*got.Tags) != 0 {
			t.Fatalf("server tags %+v %v", got, err)
		}
	})
}
