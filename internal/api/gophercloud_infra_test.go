package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/aggregates"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/availabilityzones"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"

	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// runBothMax is runBoth with every microversion nova 26 serves.
func runBothMax(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) { f(t, newEnv(t, b, maxNova)) })
	}
}

// gophercloudClient is a gophercloud compute client on e's router.
func gophercloudClient(t *testing.T, e *env) *gophercloud.ServiceClient {
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	provider := &gophercloud.ProviderClient{HTTPClient: http.Client{Transport: tr}}
	provider.SetToken(admin)
	return &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/v2.1/", Type: "compute"}
}

// gophercloud's hypervisors client (list, get, statistics, uptime) decodes
// what gonova serves at 2.1, 2.28, 2.53 and 2.88, cpu_info included.
func TestGophercloudHypervisors(t *testing.T) {
	runBothMax(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, n1 := e.infraNode("c1")
		e.infraNode("c2")
		client := gophercloudClient(t, e)
		for _, v := range []string{"2.1", "2.27", "2.28", "2.33", "2.53", "2.87"} {
			client.Microversion = v
			pages, err := hypervisors.List(client, nil).AllPages(ctx)
			if err != nil {
				t.Fatalf("%s list: %v", v, err)
			}
			all, err := hypervisors.ExtractHypervisors(pages)
			if err != nil {
				t.Fatalf("%s extract: %v", v, err)
			}
			if len(all) != 2 || all[0].HypervisorHostname != "c1.example" || all[0].CPUInfo.Arch != "x86_64" ||
				all[0].CPUInfo.Topology.Sockets != 8 || all[0].HostIP != "192.0.2.10" || all[0].Service.Host != "c1" ||
				all[0].VCPUs != 8 || all[0].MemoryMBUsed != 2560 {
				t.Fatalf("%s list %+v", v, all)
			}
			id := itoa(n1.ID)
			if microversion.MustParse(v).AtLeast(2, 53) {
				id = n1.UUID
			}
			if all[0].ID != id {
				t.Fatalf("%s id %q, want %q", v, all[0].ID, id)
			}
			h, err := hypervisors.Get(ctx, client, id).Extract()
			if err != nil || h.ID != id || h.CPUInfo.Vendor != "Intel" || h.LocalGB != 100 {
				t.Fatalf("%s get %+v %v", v, h, err)
			}
			st, err := hypervisors.GetStatistics(ctx, client).Extract()
			if err != nil || st.Count != 2 || st.VCPUs != 16 || st.RunningVMs != 4 {
				t.Fatalf("%s statistics %+v %v", v, st, err)
			}
			up, err := hypervisors.GetUptime(ctx, client, id).Extract()
			if err != nil || up.Uptime != fakeUptime || up.ID != id || up.State != "up" {
				t.Fatalf("%s uptime %+v %v", v, up, err)
			}
		}
	})
	e := newEnv(t, memBackend, maxNova)
	_, n := e.infraNode("c1")
	client := gophercloudClient(t, e)
	client.Microversion = "2.88"
	h, err := hypervisors.Get(context.Background(), client, n.UUID).Extract()
	if err != nil || h.ID != n.UUID || h.VCPUs != 0 || h.Service.Host != "c1" {
		t.Fatalf("2.88 get %+v %v", h, err)
	}
	if _, err := hypervisors.GetStatistics(context.Background(), client).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("2.88 statistics: %v", err)
	}
}

// gophercloud's aggregates and availability zone clients against gonova.
func TestGophercloudAggregatesAndZones(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.infraNode("c1")
		e.infraNode("c2")
		client := gophercloudClient(t, e)
		for _, v := range []string{"2.1", "2.41", "2.53"} {
			client.Microversion = v
			a, err := aggregates.Create(ctx, client, aggregates.CreateOpts{Name: "agg-" + v, AvailabilityZone: "zone-" + v}).Extract()
			if err != nil || a.Name != "agg-"+v || a.AvailabilityZone != "zone-"+v || a.CreatedAt.IsZero() {
				t.Fatalf("%s create %+v %v", v, a, err)
			}
			if a, err = aggregates.AddHost(ctx, client, a.ID, aggregates.AddHostOpts{Host: "c1"}).Extract(); err != nil || len(a.Hosts) != 1 {
				t.Fatalf("%s add host %+v %v", v, a, err)
			}
			if a, err = aggregates.SetMetadata(ctx, client, a.ID, aggregates.SetMetadataOpts{Metadata: map[string]any{"ssd": "yes"}}).Extract(); err != nil || a.Metadata["ssd"] != "yes" {
				t.Fatalf("%s set metadata %+v %v", v, a, err)
			}
			if a, err = aggregates.Update(ctx, client, a.ID, aggregates.UpdateOpts{Name: "renamed-" + v}).Extract(); err != nil || a.Name != "renamed-"+v || a.UpdatedAt.IsZero() {
				t.Fatalf("%s update %+v %v", v, a, err)
			}
			got, err := aggregates.Get(ctx, client, a.ID).Extract()
			if err != nil || got.AvailabilityZone != "zone-"+v || got.Hosts[0] != "c1" {
				t.Fatalf("%s get %+v %v", v, got, err)
			}

			pages, err := availabilityzones.List(client).AllPages(ctx)
			if err != nil {
				t.Fatal(err)
			}
			zones, err := availabilityzones.ExtractAvailabilityZones(pages)
			if err != nil || len(zones) != 2 || zones[0].ZoneName != "nova" || zones[1].ZoneName != "zone-"+v || !zones[1].ZoneState.Available {
				t.Fatalf("%s zones %+v %v", v, zones, err)
			}
			pages, err = availabilityzones.ListDetail(client).AllPages(ctx)
			if err != nil {
				t.Fatal(err)
			}
			zones, err = availabilityzones.ExtractAvailabilityZones(pages)
			if err != nil || len(zones) != 2 || !zones[1].Hosts["c1"]["nova-compute"].Available {
				t.Fatalf("%s zone detail %+v %v", v, zones, err)
			}

			if _, err := aggregates.RemoveHost(ctx, client, a.ID, aggregates.RemoveHostOpts{Host: "c1"}).Extract(); err != nil {
				t.Fatalf("%s remove host: %v", v, err)
			}
			if err := aggregates.Delete(ctx, client, a.ID).ExtractErr(); err != nil {
				t.Fatalf("%s delete: %v", v, err)
			}
			pages, err = aggregates.List(client).AllPages(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if all, err := aggregates.ExtractAggregates(pages); err != nil || len(all) != 0 {
				t.Fatalf("%s list %+v %v", v, all, err)
			}
		}
	})
}
