package api

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/registry"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

var novaTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$`)

func TestServicesList(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		c1 := e.addService("c1", registry.BinaryCompute)
		c2 := e.addService("c2", registry.BinaryCompute)
		sch := e.addService("ctl", "nova-scheduler")
		e.addService("ctl", registry.BinaryAPI)
		e.makeDown(c2)

		r := e.do("GET", "/v2.1/os-services", admin, "2.1", nil)
		r.want(t, 200)
		if r.Header.Get("OpenStack-API-Version") != "compute 2.1" || r.Header.Get("X-OpenStack-Nova-API-Version") != "2.1" {
			t.Errorf("version headers: %v", r.Header)
		}
		items := list(t, r.Body["services"])
		if len(items) != 3 {
			t.Fatalf("want 3 services (API hidden), got %d: %s", len(items), r.Raw)
		}
		first := obj(t, items[0])
		wantKeys := []string{"binary", "disabled_reason", "host", "id", "state", "status", "updated_at", "zone"}
		got := keys(first)
		slices.Sort(got)
		if !slices.Equal(got, wantKeys) {
			t.Errorf("2.1 keys %v, want %v", got, wantKeys)
		}
		if first["id"] != float64(c1.ID) || first["zone"] != "nova" || first["state"] != "up" ||
			first["status"] != "enabled" || first["disabled_reason"] != nil {
			t.Errorf("c1 = %v", first)
		}
		if !novaTime.MatchString(first["updated_at"].(string)) {
			t.Errorf("updated_at %v not nova's format", first["updated_at"])
		}
		if s := obj(t, items[1]); s["state"] != "down" || s["id"] != float64(c2.ID) {
			t.Errorf("c2 should be down: %v", s)
		}
		if s := obj(t, items[2]); s["zone"] != "internal" || s["binary"] != "nova-scheduler" || s["id"] != float64(sch.ID) {
			t.Errorf("scheduler = %v", s)
		}

		r = e.do("GET", "/v2.1/os-services", admin, "2.11", nil)
		if fd, ok := obj(t, list(t, r.Body["services"])[0])["forced_down"]; !ok || fd != false {
			t.Errorf("2.11 forced_down = %v (present %v)", fd, ok)
		}
		r = e.do("GET", "/v2.1/os-services", admin, "2.53", nil)
		if id := obj(t, list(t, r.Body["services"])[0])["id"]; id != c1.UUID {
			t.Errorf("2.53 id = %v, want uuid %s", id, c1.UUID)
		}

		r = e.do("GET", "/v2.1/os-services?host=c2", admin, "2.1", nil)
		if l := list(t, r.Body["services"]); len(l) != 1 || obj(t, l[0])["host"] != "c2" {
			t.Errorf("host filter: %s", r.Raw)
		}
		r = e.do("GET", "/v2.1/os-services?binary=nova-scheduler&unknown=1", admin, "2.53", nil)
		if l := list(t, r.Body["services"]); len(l) != 1 || obj(t, l[0])["host"] != "ctl" {
			t.Errorf("binary filter: %s", r.Raw)
		}
		r = e.do("GET", "/v2.1/os-services?binary=nova-osapi_compute", admin, "", nil)
		if l := list(t, r.Body["services"]); len(l) != 0 {
			t.Errorf("API rows must stay hidden: %s", r.Raw)
		}
	})
}

func TestServicesAuthAndVersions(t *testing.T) {
	e := newEnv(t, memBackend)
	e.do("GET", "/v2.1/os-services", "", "", nil).wantFault(t, 401, "The request you have made requires authentication.")
	e.do("GET", "/v2.1/os-services", alice, "", nil).wantFault(t, 403, "Policy doesn't allow os_compute_api:os-services:list to be performed.")
	e.do("PUT", "/v2.1/os-services/enable", alice, "", map[string]any{"host": "h", "binary": "nova-compute"}).
		wantFault(t, 403, "Policy doesn't allow os_compute_api:os-services:update to be performed.")
	e.do("DELETE", "/v2.1/os-services/1", alice, "", nil).wantFault(t, 403, "Policy doesn't allow os_compute_api:os-services:delete to be performed.")
	e.do("GET", "/v2.1/os-services", admin, "2.94", nil).wantFault(t, 406, "Version 2.94 is not supported by the API. Minimum is 2.1 and maximum is "+microversion.DefaultMax.String()+".")
	e.do("GET", "/v2.1/os-services", admin, "2.x", nil).wantFault(t, 400, "")
	e.do("POST", "/v2.1/os-services", admin, "", map[string]any{}).wantFault(t, 405, "")
}

func TestServicesUpdateV21(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		c1 := e.addService("c1", registry.BinaryCompute)
		e.addService("ctl", "nova-scheduler")
		body := func(extra ...any) map[string]any {
			m := map[string]any{"host": "c1", "binary": "nova-compute"}
			for i := 0; i < len(extra); i += 2 {
				m[extra[i].(string)] = extra[i+1]
			}
			return m
		}
		get := func() registry.Service {
			s, err := e.services.Get(context.Background(), c1.ID)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}

		r := e.do("PUT", "/v2.1/os-services/disable-log-reason", admin, "2.1", body("disabled_reason", "maintenance"))
		r.want(t, 200)
		if s := obj(t, r.Body["service"]); s["status"] != "disabled" || s["disabled_reason"] != "maintenance" ||
			s["host"] != "c1" || s["binary"] != "nova-compute" || len(s) != 4 {
			t.Errorf("disable-log-reason response %s", r.Raw)
		}
		if s := get(); !s.Disabled || s.DisabledReason != "maintenance" {
			t.Errorf("row after disable-log-reason: %+v", s)
		}
		r = e.do("PUT", "/v2.1/os-services/enable", admin, "2.1", body())
		r.want(t, 200)
		if s := obj(t, r.Body["service"]); s["status"] != "enabled" || len(s) != 3 {
			t.Errorf("enable response %s", r.Raw)
		}
		if s := get(); s.Disabled || s.DisabledReason != "" {
			t.Errorf("enable must clear the reason: %+v", s)
		}
		e.do("PUT", "/v2.1/os-services/disable", admin, "2.1", body()).want(t, 200)
		if !get().Disabled {
			t.Error("disable did not disable")
		}
		r = e.do("PUT", "/v2.1/os-services/force-down", admin, "2.11", body("forced_down", "yes"))
		r.want(t, 200)
		if s := obj(t, r.Body["service"]); s["forced_down"] != true || s["status"] != nil {
			t.Errorf("force-down response %s", r.Raw)
		}
		if !get().ForcedDown {
			t.Error("force-down not stored")
		}
		r = e.do("GET", "/v2.1/os-services?host=c1", admin, "2.11", nil)
		if s := obj(t, list(t, r.Body["services"])[0]); s["state"] != "down" || s["forced_down"] != true {
			t.Errorf("a forced-down service is down: %v", s)
		}

		// errors
		e.do("PUT", "/v2.1/os-services/force-down", admin, "2.10", body()).wantFault(t, 404, "Unknown action")
		e.do("PUT", "/v2.1/os-services/force-down", admin, "2.10", body("forced_down", true)).
			wantFault(t, 400, "Additional properties are not allowed ('forced_down' was unexpected)")
		e.do("PUT", "/v2.1/os-services/force-down", admin, "2.11", body()).wantFault(t, 400, "Missing forced_down field")
		e.do("PUT", "/v2.1/os-services/force-down", admin, "2.11", body("forced_down", "maybe")).wantFault(t, 400, "")
		e.do("PUT", "/v2.1/os-services/reboot", admin, "2.1", body()).wantFault(t, 404, "Unknown action")
		e.do("PUT", "/v2.1/os-services/disable-log-reason", admin, "2.1", body()).wantFault(t, 400, "Missing disabled reason field")
		e.do("PUT", "/v2.1/os-services/disable-log-reason", admin, "2.1", body("disabled_reason", "")).
			wantFault(t, 400, "Invalid input for field/attribute disabled_reason. Value: . '' is too short")
		e.do("PUT", "/v2.1/os-services/enable", admin, "2.1", map[string]any{"host": "c1"}).
			wantFault(t, 400, "'binary' is a required property")
		e.do("PUT", "/v2.1/os-services/enable", admin, "2.1", body("extra", 1)).
			wantFault(t, 400, "Additional properties are not allowed ('extra' was unexpected)")
		e.do("PUT", "/v2.1/os-services/enable", admin, "2.1", map[string]any{"host": "bad host", "binary": "nova-compute"}).
			wantFault(t, 400, "Invalid input for field/attribute host. Value: bad host. 'bad host' does not match '^[a-zA-Z0-9-._]*$'")
		e.do("PUT", "/v2.1/os-services/enable", admin, "2.1", map[string]any{"host": 5, "binary": "nova-compute"}).
			wantFault(t, 400, "Invalid input for field/attribute host. Value: 5. 5 is not of type 'string'")
		e.do("PUT", "/v2.1/os-services/enable", admin, "2.1", map[string]any{"host": "ctl", "binary": "nova-scheduler"}).
			wantFault(t, 400, "Updating a nova-scheduler service is not supported. Only nova-compute services can be updated.")
		e.do("PUT", "/v2.1/os-services/enable", admin, "2.1", map[string]any{"host": "nowhere", "binary": "nova-compute"}).
			wantFault(t, 404, "Could not find binary nova-compute on host nowhere.")
		e.do("PUT", "/v2.1/os-services/enable", admin, "2.1", `{"host": "c1",`).wantFault(t, 400, "Malformed request body")
		e.do("PUT", "/v2.1/os-services/enable", admin, "2.1", `[1]`).wantFault(t, 400, "")
		e.do("PUT", "/v2.1/os-services/enable", admin, "2.1", "").wantFault(t, 400, "None is not of type 'object'")
	})
}

func TestServicesUpdateV253(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		c1 := e.addService("c1", registry.BinaryCompute)
		sch := e.addService("ctl", "nova-scheduler")
		path := "/v2.1/os-services/" + c1.UUID

		r := e.do("PUT", path, admin, "2.53", map[string]any{"status": "disabled", "disabled_reason": "bad disk"})
		r.want(t, 200)
		s := obj(t, r.Body["service"])
		if s["id"] != c1.UUID || s["status"] != "disabled" || s["disabled_reason"] != "bad disk" || s["forced_down"] != false ||
			s["state"] != "up" || s["zone"] != "nova" || len(s) != 9 {
			t.Errorf("2.53 disable response %s", r.Raw)
		}
		r = e.do("PUT", path, admin, "2.53", map[string]any{"status": "enabled"})
		if s := obj(t, r.Body["service"]); s["status"] != "enabled" || s["disabled_reason"] != nil {
			t.Errorf("enabling clears the reason: %s", r.Raw)
		}
		r = e.do("PUT", path, admin, "2.53", map[string]any{"forced_down": true})
		if s := obj(t, r.Body["service"]); s["forced_down"] != true || s["state"] != "down" {
			t.Errorf("forced_down: %s", r.Raw)
		}

		e.do("PUT", "/v2.1/os-services/1", admin, "2.53", map[string]any{"status": "enabled"}).wantFault(t, 400, "Invalid uuid 1")
		e.do("PUT", "/v2.1/os-services/6f1b7d2c-3c53-4b1e-9d0a-1d1a4c9e8f00", admin, "2.53", map[string]any{"status": "enabled"}).
			wantFault(t, 404, "Service 6f1b7d2c-3c53-4b1e-9d0a-1d1a4c9e8f00 could not be found.")
		e.do("PUT", path, admin, "2.53", map[string]any{"status": "enabled", "disabled_reason": "x"}).
			wantFault(t, 400, "Specifying 'disabled_reason' with status 'enabled' is invalid.")
		e.do("PUT", path, admin, "2.53", map[string]any{}).
			wantFault(t, 400, "No updates were requested. Fields 'status' or 'forced_down' should be specified.")
		e.do("PUT", path, admin, "2.53", map[string]any{"disabled_reason": "x"}).
			wantFault(t, 400, "No updates were requested. Fields 'status' or 'forced_down' should be specified.")
		e.do("PUT", path, admin, "2.53", map[string]any{"status": "off"}).
			wantFault(t, 400, "Invalid input for field/attribute status. Value: off. 'off' is not one of ['enabled', 'disabled']")
		e.do("PUT", path, admin, "2.53", map[string]any{"host": "c1"}).
			wantFault(t, 400, "Additional properties are not allowed ('host' was unexpected)")
		e.do("PUT", "/v2.1/os-services/"+sch.UUID, admin, "2.53", map[string]any{"status": "disabled"}).
			wantFault(t, 400, "Updating a nova-scheduler service is not supported. Only nova-compute services can be updated.")
	})
}

func TestServicesDelete(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c1, _ := e.addNode("c1", 4, 4096, 40)
		c2 := e.addService("c2", registry.BinaryCompute)
		sch := e.addService("ctl", "nova-scheduler")
		if _, err := e.compute.CreateInstance(ctx, computedb.Instance{DisplayName: "vm", ProjectID: "p", Host: "c1"}); err != nil {
			t.Fatal(err)
		}

		e.do("DELETE", "/v2.1/os-services/abc", admin, "2.1", nil).wantFault(t, 400, "Invalid input received: id must be an integer")
		e.do("DELETE", "/v2.1/os-services/9999", admin, "2.1", nil).wantFault(t, 404, "Service 9999 not found.")
		e.do("DELETE", "/v2.1/os-services/"+c2.UUID, admin, "2.1", nil).wantFault(t, 400, "")
		e.do("DELETE", "/v2.1/os-services/12", admin, "2.53", nil).wantFault(t, 400, "Invalid uuid 12")
		e.do("DELETE", fmt.Sprintf("/v2.1/os-services/%d", c1.ID), admin, "2.1", nil).
			wantFault(t, 409, "Unable to delete compute service that is hosting instances. Migrate or delete the instances first.")

		if _, err := e.compute.UpsertNode(ctx, computedb.Node{Host: "c2", HypervisorHostname: "c2.node"}); err != nil {
			t.Fatal(err)
		}
		e.do("DELETE", fmt.Sprintf("/v2.1/os-services/%d", sch.ID), admin, "2.1", nil).want(t, 204)
		e.do("DELETE", "/v2.1/os-services/"+c2.UUID, admin, "2.53", nil).want(t, 204)
		nodes, err := e.compute.ListNodes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if n.Host == "c2" {
				t.Errorf("the compute node of the deleted service c2 is still there: %+v", n)
			}
		}
		e.do("DELETE", "/v2.1/os-services/"+c2.UUID, admin, "2.53", nil).wantFault(t, 404, "Service "+c2.UUID+" not found.")
		r := e.do("GET", "/v2.1/os-services", admin, "2.1", nil)
		if l := list(t, r.Body["services"]); len(l) != 1 || obj(t, l[0])["host"] != "c1" {
			t.Errorf("after deletes: %s", r.Raw)
		}
		// the hypervisor of a deleted compute service disappears with it
		if _, err := e.compute.UpsertNode(ctx, computedb.Node{Host: "c2", HypervisorHostname: "c2.node"}); err != nil {
			t.Fatal(err)
		}
		r = e.do("GET", "/v2.1/os-hypervisors", admin, "2.1", nil)
		if l := list(t, r.Body["hypervisors"]); len(l) != 1 {
			t.Errorf("hypervisors after service delete: %s", r.Raw)
		}
	})
}
