package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"

	"github.com/gonova/gonova/pkg/registry"
)

// TestGophercloudServices drives os-services with gophercloud v2, a real
// client: list (2.1 integer ids and 2.53 uuids) and the 2.53 update.
func TestGophercloudServices(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c1 := e.addService("c1", registry.BinaryCompute)
		e.addService("ctl", registry.BinaryAPI)
		srv := httptest.NewServer(e.handler)
		defer srv.Close()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()

		provider := &gophercloud.ProviderClient{HTTPClient: http.Client{Transport: tr}}
		provider.SetToken(admin) // noauth2: X-Auth-Token user:project
		client := &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: srv.URL + "/v2.1/", Type: "compute"}

		pages, err := services.List(client, services.ListOpts{Binary: "nova-compute"}).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all, err := services.ExtractServices(pages)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || all[0].ID != itoa(c1.ID) || all[0].Host != "c1" || all[0].State != "up" ||
			all[0].Status != "enabled" || all[0].Zone != "nova" || all[0].UpdatedAt.IsZero() {
			t.Fatalf("2.1 list %+v", all)
		}

		client.Microversion = "2.53"
		pages, err = services.List(client, nil).AllPages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all, _ = services.ExtractServices(pages)
		if len(all) != 1 || all[0].ID != c1.UUID {
			t.Fatalf("2.53 list %+v", all)
		}

		got, err := services.Update(ctx, client, c1.UUID, services.UpdateOpts{
			Status: services.ServiceDisabled, DisabledReason: "maintenance", ForcedDown: true}).Extract()
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c1.UUID || got.Status != "disabled" || got.DisabledReason != "maintenance" || !got.ForcedDown || got.State != "down" {
			t.Fatalf("update %+v", got)
		}
		row, err := e.services.Get(ctx, c1.ID)
		if err != nil || !row.Disabled || !row.ForcedDown || row.DisabledReason != "maintenance" {
			t.Fatalf("row %+v %v", row, err)
		}

		got, err = services.Update(ctx, client, c1.UUID, services.UpdateOpts{Status: services.ServiceEnabled}).Extract()
		if err != nil || got.Status != "enabled" || got.DisabledReason != "" {
			t.Fatalf("enable %+v %v", got, err)
		}

		// a refusal comes back as gophercloud's typed 404
		_, err = services.Update(ctx, client, "6f1b7d2c-3c53-4b1e-9d0a-1d1a4c9e8f00", services.UpdateOpts{Status: services.ServiceEnabled}).Extract()
		if !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			t.Fatalf("unknown uuid: %v", err)
		}
	})
}
