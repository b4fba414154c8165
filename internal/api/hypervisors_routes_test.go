package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gonova/gonova/internal/computedb"
)

// statistics, uptime, search and servers, each to its last version; the
// 2.53 query parameters; paging links as nova's.
func TestHypervisorRoutes(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e := newEnv(t, b, maxNova)
			s1, n1 := e.infraNode("c1")
			_, n2 := e.infraNode("c2")
			s3, n3 := e.infraNode("no-uptime")
			e.makeDown(s1)

			r := e.do("GET", "/v2.1/os-hypervisors/statistics", admin, "2.87", nil)
			r.want(t, 200)
			st := obj(t, r.Body["hypervisor_statistics"])
			if st["count"] != 3.0 || st["vcpus"] != 24.0 || st["memory_mb_used"] != 3*2560.0 || st["running_vms"] != 6.0 ||
				st["disk_available_least"] != 3*85.0 || len(st) != 12 {
				t.Fatalf("statistics %s", r.Raw)
			}
			if _, err := e.services.Update(context.Background(), s3.ID, registryUpdate(ptr(true), nil)); err != nil {
				t.Fatal(err)
			}
			if st := obj(t, e.do("GET", "/v2.1/os-hypervisors/statistics", admin, "2.1", nil).Body["hypervisor_statistics"]); st["count"] != 2.0 {
				t.Fatalf("statistics count a disabled service's node: %v", st)
			}
			e.do("GET", "/v2.1/os-hypervisors/statistics", admin, "2.88", nil).wantFault(t, 404, "The resource could not be found.")
			e.do("GET", "/v2.1/os-hypervisors/statistics", alice, "2.1", nil).want(t, 403)

			// uptime: c1's compute is down (400), no-uptime's driver has none (501).
			e.do("GET", fmt.Sprintf("/v2.1/os-hypervisors/%d/uptime", n1.ID), admin, "2.1", nil).
				wantFault(t, 400, "Compute service of c1 is unavailable at this time.")
			r = e.do("GET", fmt.Sprintf("/v2.1/os-hypervisors/%d/uptime", n2.ID), admin, "2.1", nil)
			r.want(t, 200)
			if h := obj(t, r.Body["hypervisor"]); h["uptime"] != fakeUptime || h["id"] != float64(n2.ID) || len(h) != 5 {
				t.Fatalf("uptime %s", r.Raw)
			}
			e.do("GET", fmt.Sprintf("/v2.1/os-hypervisors/%d/uptime", n3.ID), admin, "2.1", nil).
				wantFault(t, 501, "The requested functionality is not supported.")
			e.do("GET", "/v2.1/os-hypervisors/"+n2.UUID+"/uptime", admin, "2.87", nil).want(t, 200)
			e.do("GET", "/v2.1/os-hypervisors/"+n2.UUID+"/uptime", admin, "2.88", nil).want(t, 404)
			r = e.do("GET", "/v2.1/os-hypervisors/"+n2.UUID, admin, "2.88", nil)
			if h := obj(t, r.Body["hypervisor"]); h["uptime"] != fakeUptime {
				t.Fatalf("2.88 show %s", r.Raw)
			}
			if h := obj(t, e.do("GET", "/v2.1/os-hypervisors/"+n1.UUID, admin, "2.88", nil).Body["hypervisor"]); h["uptime"] != nil {
				t.Fatalf("2.88 uptime of a down compute %v: want null", h)
			}

			// search and servers before 2.53.
			in, err := e.compute.CreateInstance(context.Background(), computedb.Instance{DisplayName: "vm", ProjectID: "p", Host: "c2"})
			if err != nil {
				t.Fatal(err)
			}
			r = e.do("GET", "/v2.1/os-hypervisors/C_.exa/search", admin, "2.52", nil)
			r.want(t, 200)
			if l := list(t, r.Body["hypervisors"]); len(l) != 2 || len(obj(t, l[0])) != 4 {
				t.Fatalf("search %s", r.Raw)
			}
			r = e.do("GET", "/v2.1/os-hypervisors/c2/servers", admin, "2.1", nil)
			if l := list(t, r.Body["hypervisors"]); len(l) != 1 || obj(t, list(t, obj(t, l[0])["servers"])[0])["uuid"] != in.UUID {
				t.Fatalf("servers %s", r.Raw)
			}
			e.do("GET", "/v2.1/os-hypervisors/zzz/search", admin, "2.1", nil).wantFault(t, 404, "No hypervisor matching 'zzz' could be found.")
			e.do("GET", "/v2.1/os-hypervisors/c2/search", admin, "2.53", nil).want(t, 404)
			e.do("GET", "/v2.1/os-hypervisors/c2/servers", admin, "2.53", nil).want(t, 404)
			e.do("GET", "/v2.1/os-hypervisors/c2/servers", alice, "2.1", nil).want(t, 403)

			// 2.53 query parameters.
			r = e.do("GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=c2&with_servers=true", admin, "2.53", nil)
			r.want(t, 200)
			if l := list(t, r.Body["hypervisors"]); len(l) != 1 || len(list(t, obj(t, l[0])["servers"])) != 1 {
				t.Fatalf("pattern %s", r.Raw)
			}
			if _, ok := r.Body["hypervisors_links"]; ok {
				t.Error("links with a pattern")
			}
			r = e.do("GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=c1&with_servers=true", admin, "2.75", nil)
			if s, ok := obj(t, list(t, r.Body["hypervisors"])[0])["servers"]; !ok || len(list(t, s)) != 0 {
				t.Fatalf("2.75 servers [] %s", r.Raw)
			}
			e.do("GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=c1&limit=1", admin, "2.53", nil).
				wantFault(t, 400, "Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.")
			e.do("GET", "/v2.1/os-hypervisors?hypervisor_hostname_pattern=nope", admin, "2.53", nil).
				wantFault(t, 404, "No hypervisor matching 'nope' could be found.")
			e.do("GET", "/v2.1/os-hypervisors?foo=1", admin, "2.53", nil).wantFault(t, 400, "Additional properties are not allowed ('foo' was unexpected)")
			e.do("GET", "/v2.1/os-hypervisors?foo=1", admin, "2.52", nil).want(t, 200)
			e.do("GET", "/v2.1/os-hypervisors?with_servers=maybe", admin, "2.53", nil).want(t, 400)
			e.do("GET", "/v2.1/os-hypervisors?limit=1&limit=2", admin, "2.53", nil).
				wantFault(t, 400, "Invalid input for query parameters limit. Value: ['1', '2']. ['1', '2'] is too long")
			e.do("GET", "/v2.1/os-hypervisors/"+n2.UUID+"?with_servers=1&x=2", admin, "2.53", nil).
				wantFault(t, 400, "Additional properties are not allowed ('x' was unexpected)")

			// Links: when the page is full, with the request's parameters.
			r = e.do("GET", "/v2.1/os-hypervisors/detail?limit=2", admin, "2.53", nil)
			links := list(t, r.Body["hypervisors_links"])
			href := obj(t, links[0])["href"].(string)
			if len(list(t, r.Body["hypervisors"])) != 2 || !strings.Contains(href, "/v2.1/os-hypervisors/detail?") ||
				!strings.Contains(href, "limit=2") || !strings.Contains(href, "marker="+n2.UUID) {
				t.Fatalf("links %s", r.Raw)
			}
			r = e.do("GET", "/v2.1/os-hypervisors?limit=3", admin, "2.53", nil)
			if _, ok := r.Body["hypervisors_links"]; !ok {
				t.Errorf("a full page of 3 has a next link in nova: %s", r.Raw)
			}
			r = e.do("GET", "/v2.1/os-hypervisors?limit=4", admin, "2.53", nil)
			if _, ok := r.Body["hypervisors_links"]; ok {
				t.Errorf("a short page has no next link: %s", r.Raw)
			}
		})
	}
}

// os-hosts to 2.42: the enabled services but the API ones with their zone,
// a host's resources, and nova's 501 for what gonova's computes (as
// libvirt's) do not do.
func TestOSHosts(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.infraNode("c1")
		e.addService("cond", "nova-conductor")
		e.addService("api", "nova-osapi_compute")
		r := e.do("POST", "/v2.1/os-aggregates", admin, "2.1", map[string]any{"aggregate": map[string]any{"name": "a", "availability_zone": "az1"}})
		id := int(obj(t, r.Body["aggregate"])["id"].(float64))
		e.do("POST", aggPath(id)+"/action", admin, "2.1", map[string]any{"add_host": map[string]any{"host": "c1"}}).want(t, 200)

		r = e.do("GET", "/v2.1/os-hosts", admin, "2.42", nil)
		r.want(t, 200)
		hosts := list(t, r.Body["hosts"])
		if len(hosts) != 2 || obj(t, hosts[0])["host_name"] != "c1" || obj(t, hosts[0])["service"] != "compute" ||
			obj(t, hosts[0])["zone"] != "az1" || obj(t, hosts[1])["zone"] != "internal" {
			t.Fatalf("hosts %s", r.Raw)
		}
		r = e.do("GET", "/v2.1/os-hosts?zone=az1", admin, "2.1", nil)
		if len(list(t, r.Body["hosts"])) != 1 {
			t.Fatalf("zone filter %s", r.Raw)
		}
		for _, p := range []string{"proj-a", "proj-a", "proj-b"} {
			if _, err := e.compute.CreateInstance(context.Background(), computedb.Instance{ProjectID: p, Host: "c1", VCPUs: 1, MemoryMB: 512, RootGB: 1}); err != nil {
				t.Fatal(err)
			}
		}
		r = e.do("GET", "/v2.1/os-hosts/c1", admin, "2.1", nil)
		r.want(t, 200)
		res := list(t, r.Body["host"])
		if len(res) != 5 {
			t.Fatalf("show %s", r.Raw)
		}
		total, usedMax, projA := obj(t, obj(t, res[0])["resource"]), obj(t, obj(t, res[2])["resource"]), obj(t, obj(t, res[3])["resource"])
		if total["project"] != "(total)" || total["cpu"] != 8.0 || usedMax["project"] != "(used_max)" || usedMax["memory_mb"] != 1536.0 ||
			projA["project"] != "proj-a" || projA["cpu"] != 2.0 || projA["disk_gb"] != 2.0 {
			t.Fatalf("show %s", r.Raw)
		}
		e.do("GET", "/v2.1/os-hosts/nope", admin, "2.1", nil).wantFault(t, 404, "Host 'nope' is not mapped to any cell")
		e.do("PUT", "/v2.1/os-hosts/c1", admin, "2.1", map[string]any{"status": "enable"}).wantFault(t, 501, "The requested functionality is not supported.")
		e.do("PUT", "/v2.1/os-hosts/c1", admin, "2.1", map[string]any{"status": "on"}).want(t, 400)
		e.do("PUT", "/v2.1/os-hosts/c1", admin, "2.1", map[string]any{"x": "on"}).want(t, 400)
		if r := e.do("PUT", "/v2.1/os-hosts/zz", admin, "2.1", map[string]any{}); r.Code != 200 || r.Body["host"] != "zz" {
			t.Fatalf("empty update %d %s", r.Code, r.Raw)
		}
		e.do("GET", "/v2.1/os-hosts/c1/reboot", admin, "2.1", nil).want(t, 501)
		e.do("GET", "/v2.1/os-hosts/nope/startup", admin, "2.1", nil).want(t, 404)
		for _, p := range []string{"/v2.1/os-hosts", "/v2.1/os-hosts/c1", "/v2.1/os-hosts/c1/shutdown"} {
			e.do("GET", p, admin, "2.43", nil).wantFault(t, 404, "The resource could not be found.")
			e.do("GET", p, alice, "2.1", nil).want(t, 403)
		}
	})
}
