package api

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

func TestVersions(t *testing.T) {
	e := newEnv(t, memBackend)
	r := e.do("GET", "/", "", "", nil)
	r.want(t, 200)
	vs := list(t, r.Body["versions"])
	if len(vs) != 2 || obj(t, vs[0])["id"] != "v2.0" {
		t.Fatalf("versions %s: want v2.0 then v2.1, as nova", r.Raw)
	}
	v := obj(t, vs[1])
	if v["id"] != "v2.1" || v["status"] != "CURRENT" || v["version"] != microversion.DefaultMax.String() || v["min_version"] != "2.1" ||
		v["updated"] != "2013-07-23T11:33:21Z" {
		t.Errorf("versions %s", r.Raw)
	}
	if l := obj(t, list(t, v["links"])[0]); l["href"] != "http://example.com/v2.1/" || l["rel"] != "self" {
		t.Errorf("self link %v", l)
	}
	for _, p := range []string{"/v2.1", "/v2.1/"} {
		r = e.do("GET", p, "", "", nil)
		r.want(t, 200)
		doc := obj(t, r.Body["version"])
		if len(list(t, doc["links"])) != 2 || len(list(t, doc["media-types"])) != 1 || doc["version"] != microversion.DefaultMax.String() {
			t.Errorf("%s: %s", p, r.Raw)
		}
	}
	e.do("GET", "/v2.1/nothing", admin, "", nil).wantFault(t, 404, "")
}

func TestFlavors(t *testing.T) {
	e := newEnv(t, memBackend)
	r := e.do("GET", "/v2.1/flavors", alice, "", nil)
	r.want(t, 200)
	fl := list(t, r.Body["flavors"])
	if len(fl) != 5 || obj(t, fl[0])["name"] != "m1.tiny" || len(obj(t, fl[0])) != 3 {
		t.Fatalf("flavors %s", r.Raw)
	}
	r = e.do("GET", "/v2.1/flavors/detail", alice, "", nil)
	d := obj(t, list(t, r.Body["flavors"])[2])
	if d["name"] != "m1.medium" || d["ram"] != float64(4096) || d["vcpus"] != float64(2) || d["disk"] != float64(40) ||
		d["swap"] != "" || d["os-flavor-access:is_public"] != true || d["OS-FLV-EXT-DATA:ephemeral"] != float64(0) {
		t.Errorf("detail %v", d)
	}
	r = e.do("GET", "/v2.1/flavors/3", alice, "", nil)
	if f := obj(t, r.Body["flavor"]); f["id"] != "3" || !strings.HasSuffix(obj(t, list(t, f["links"])[0])["href"].(string), "/v2.1/flavors/3") {
		t.Errorf("show %s", r.Raw)
	}
	e.do("GET", "/v2.1/flavors/99", alice, "", nil).wantFault(t, 404, "Flavor 99 could not be found.")
	e.do("GET", "/v2.1/flavors", "", "", nil).wantFault(t, 401, "")
}

func TestHypervisors(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		s1, n1 := e.addNode("c1", 4, 8192, 100)
		s2, n2 := e.addNode("c2", 8, 16384, 200)
		e.makeDown(s2)

		r := e.do("GET", "/v2.1/os-hypervisors", admin, "", nil)
		r.want(t, 200)
		l := list(t, r.Body["hypervisors"])
		if len(l) != 2 {
			t.Fatalf("list %s", r.Raw)
		}
		h := obj(t, l[0])
		got := keys(h)
		slices.Sort(got)
		if !slices.Equal(got, []string{"hypervisor_hostname", "id", "state", "status"}) || h["id"] != float64(n1.ID) ||
			h["state"] != "up" || h["status"] != "enabled" || h["hypervisor_hostname"] != "c1.node" {
			t.Errorf("brief %v", h)
		}
		if obj(t, l[1])["state"] != "down" {
			t.Errorf("c2 is down: %v", l[1])
		}

		r = e.do("GET", "/v2.1/os-hypervisors/detail", admin, "2.28", nil)
		d := obj(t, list(t, r.Body["hypervisors"])[0])
		if d["vcpus"] != float64(4) || d["memory_mb"] != float64(8192) || d["hypervisor_type"] != "fake" ||
			obj(t, d["cpu_info"])["arch"] != "x86_64" || obj(t, d["service"])["id"] != float64(s1.ID) || obj(t, d["service"])["host"] != "c1" {
			t.Errorf("detail %v", d)
		}
		r = e.do("GET", "/v2.1/os-hypervisors/detail", admin, "2.1", nil)
		if ci := obj(t, list(t, r.Body["hypervisors"])[0])["cpu_info"]; ci != `{"arch": "x86_64"}` {
			t.Errorf("cpu_info before 2.28 is the text: %v", ci)
		}
		r = e.do("GET", "/v2.1/os-hypervisors/detail", admin, "2.53", nil)
		if d := obj(t, list(t, r.Body["hypervisors"])[1]); d["id"] != n2.UUID || obj(t, d["service"])["id"] != s2.UUID {
			t.Errorf("2.53 ids %v", d)
		}

		// paging from 2.33
		r = e.do("GET", "/v2.1/os-hypervisors?limit=1", admin, "2.33", nil)
		if l := list(t, r.Body["hypervisors"]); len(l) != 1 {
			t.Errorf("limit %s", r.Raw)
		}
		if next := obj(t, list(t, r.Body["hypervisors_links"])[0]); !strings.Contains(next["href"].(string), "marker=") {
			t.Errorf("next %v", next)
		}
		r = e.do("GET", "/v2.1/os-hypervisors?marker="+n1.UUID, admin, "2.53", nil)
		if l := list(t, r.Body["hypervisors"]); len(l) != 1 || obj(t, l[0])["id"] != n2.UUID {
			t.Errorf("marker %s", r.Raw)
		}
		e.do("GET", "/v2.1/os-hypervisors?marker=77", admin, "2.33", nil).wantFault(t, 400, "marker [77] not found")

		// show
		r = e.do("GET", "/v2.1/os-hypervisors/"+itoa(n1.ID), admin, "", nil)
		if h := obj(t, r.Body["hypervisor"]); h["id"] != float64(n1.ID) || h["vcpus"] != float64(4) {
			t.Errorf("show %s", r.Raw)
		}
		r = e.do("GET", "/v2.1/os-hypervisors/"+n2.UUID, admin, "2.53", nil)
		if h := obj(t, r.Body["hypervisor"]); h["id"] != n2.UUID {
			t.Errorf("show 2.53 %s", r.Raw)
		}
		e.do("GET", "/v2.1/os-hypervisors/999", admin, "", nil).wantFault(t, 404, "Hypervisor with ID '999' could not be found.")
		e.do("GET", "/v2.1/os-hypervisors/abc", admin, "", nil).wantFault(t, 404, "Hypervisor with ID 'abc' could not be found.")
		e.do("GET", "/v2.1/os-hypervisors/abc", admin, "2.53", nil).wantFault(t, 400, "Invalid uuid abc")
		e.do("GET", "/v2.1/os-hypervisors", alice, "", nil).wantFault(t, 403, "Policy doesn't allow os_compute_api:os-hypervisors:list to be performed.")
		e.do("GET", "/v2.1/os-hypervisors/detail", alice, "", nil).wantFault(t, 403, "")
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
