package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/limits"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/usage"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/gonova/gonova/internal/computedb"
)

// TestGophercloudQuotasLimitsUsageServerGroups drives os-quota-sets,
// /limits, os-simple-tenant-usage and os-server-groups with gophercloud v2's
// clients.
func TestGophercloudQuotasLimitsUsageServerGroups(t *testing.T) {
	runBoth293(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.addNode("h1", 64, 1<<20, 1000)
		srv := httptest.NewServer(e.handler)
		defer srv.Close()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		client := func(token, version string) *gophercloud.ServiceClient {
			p := &gophercloud.ProviderClient{HTTPClient: http.Client{Transport: tr}}
			p.SetToken(token)
			return &gophercloud.ServiceClient{ProviderClient: p, Endpoint: srv.URL + "/v2.1/", Type: "compute", Microversion: version}
		}
		adm, al := client(admin, "2.1"), client(alice, "2.64")

		// quota sets
		qs, err := quotasets.Get(ctx, adm, "proj-a").Extract()
		if err != nil || qs.ID != "proj-a" || qs.Instances != 10 || qs.Cores != 20 || qs.RAM != 51200 || qs.KeyPairs != 100 ||
			qs.ServerGroups != 10 || qs.ServerGroupMembers != 10 || qs.FixedIPs != -1 {
			t.Fatalf("Get %+v %v", qs, err)
		}
		five := 5
		qs, err = quotasets.Update(ctx, adm, "proj-a", quotasets.UpdateOpts{Instances: &five}).Extract()
		if err != nil || qs.Instances != 5 {
			t.Fatalf("Update %+v %v", qs, err)
		}
		e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "1")).want(t, 202)
		det, err := quotasets.GetDetail(ctx, adm, "proj-a").Extract()
		if err != nil || det.Instances.Limit != 5 || det.Instances.InUse != 1 || det.Cores.InUse != 1 || det.RAM.InUse != 512 {
			t.Fatalf("GetDetail %+v %v", det, err)
		}
		if _, err := quotasets.Delete(ctx, adm, "proj-a").Extract(); err != nil {
			t.Fatalf("Delete %v", err)
		}
		if qs, _ := quotasets.Get(ctx, adm, "proj-a").Extract(); qs.Instances != 10 {
			t.Fatalf("after Delete %+v", qs)
		}

		// limits
		l, err := limits.Get(ctx, al, nil).Extract()
		if err != nil || l.Absolute.MaxTotalInstances != 10 || l.Absolute.TotalInstancesUsed != 1 || l.Absolute.MaxTotalRAMSize != 51200 ||
			l.Absolute.TotalRAMUsed != 512 || l.Absolute.MaxServerGroups != 10 || l.Absolute.MaxTotalKeypairs != 100 {
			t.Fatalf("limits %+v %v", l, err)
		}
		l, err = limits.Get(ctx, adm, limits.GetOpts{TenantID: "proj-a"}).Extract()
		if err != nil || l.Absolute.TotalCoresUsed != 1 {
			t.Fatalf("limits of proj-a %+v %v", l, err)
		}

		// server groups (2.64 and 2.1)
		max2 := servergroups.Rules{MaxServerPerHost: 2}
		g, err := servergroups.Create(ctx, al, servergroups.CreateOpts{Name: "web", Policy: "anti-affinity", Rules: &max2}).Extract()
		if err != nil || g.Policy == nil || *g.Policy != "anti-affinity" || g.Rules == nil || g.Rules.MaxServerPerHost != 2 || g.ProjectID != "proj-a" {
			t.Fatalf("Create %+v %v", g, err)
		}
		old := client(alice, "2.1")
		if _, err := servergroups.Create(ctx, old, servergroups.CreateOpts{Name: "db", Policies: []string{"affinity"}}).Extract(); err != nil {
			t.Fatal(err)
		}
		pages, err := servergroups.List(old, nil).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all, err := servergroups.ExtractServerGroups(pages)
		if err != nil || len(all) != 2 || all[0].Policies[0] != "anti-affinity" || all[1].Policies[0] != "affinity" {
			t.Fatalf("List %+v %v", all, err)
		}
		got, err := servergroups.Get(ctx, al, g.ID).Extract()
		if err != nil || got.ID != g.ID || len(got.Members) != 0 {
			t.Fatalf("Get %+v %v", got, err)
		}
		if err := servergroups.Delete(ctx, al, g.ID).ExtractErr(); err != nil {
			t.Fatal(err)
		}
		if _, err := servergroups.Get(ctx, al, g.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("deleted group: %v", err)
		}

		// usage: launch the server an hour ago.
		list, _ := e.compute.ListInstances(ctx, computedb.InstanceFilter{ProjectID: "proj-a"})
		at := time.Now().UTC().Add(-time.Hour)
		if _, err := e.compute.UpdateInstance(ctx, list[0].UUID, computedb.InstanceUpdate{LaunchedAt: &at}); err != nil {
			t.Fatal(err)
		}
		start, end := time.Now().UTC().Add(-2*time.Hour), time.Now().UTC().Add(time.Hour)
		// SingleTenant's pages are walked with EachPage (gophercloud's
		// AllPages cannot merge its single-object pages).
		var tu *usage.TenantUsage
		err = usage.SingleTenant(client(alice, "2.40"), "proj-a", usage.SingleTenantOpts{Start: &start, End: &end}).EachPage(ctx,
			func(_ context.Context, p pagination.Page) (bool, error) {
				tu, err = usage.ExtractSingleTenant(p)
				return false, err
			})
		if err != nil || tu == nil {
			t.Fatal(err)
		}
		if err != nil || tu.TenantID != "proj-a" || len(tu.ServerUsages) != 1 || tu.TotalHours < 0.99 || tu.TotalHours > 1.01 ||
			tu.Start.IsZero() || tu.ServerUsages[0].StartedAt.IsZero() || !tu.ServerUsages[0].EndedAt.IsZero() {
			t.Fatalf("SingleTenant %+v %v", tu, err)
		}
		pg, err := usage.AllTenants(client(admin, "2.40"), usage.AllTenantsOpts{Detailed: true, Start: &start, End: &end}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tus, err := usage.ExtractAllTenants(pg)
		if err != nil || len(tus) != 1 || tus[0].TenantID != "proj-a" || len(tus[0].ServerUsages) != 1 {
			t.Fatalf("AllTenants %+v %v", tus, err)
		}
	})
}
