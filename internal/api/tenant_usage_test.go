package api

import (
	"context"
	"math"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/computedb"
)

func TestSimpleTenantUsage(t *testing.T) {
	runBoth293(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.addNode("h1", 64, 1<<20, 1000)
		now := time.Now().UTC()
		boot := func(token, name, flavor string, launched time.Duration) string {
			t.Helper()
			r := e.do("POST", "/v2.1/servers", token, "", bootBody(name, flavor))
			r.want(t, 202)
			id := obj(t, r.Body["server"])["id"].(string)
			at := now.Add(-launched)
			if _, err := e.compute.UpdateInstance(ctx, id, computedb.InstanceUpdate{LaunchedAt: &at}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		a1 := boot(alice, "a1", "1", 10*time.Hour) // m1.tiny: 1 vcpu, 512 MB, 1 GB
		a2 := boot(alice, "a2", "2", 3*time.Hour)  // m1.small: 1 vcpu, 2048 MB, 20 GB
		boot(bob, "b1", "1", 1*time.Hour)
		ended := now.Add(-2 * time.Hour)
		if _, err := e.compute.UpdateInstance(ctx, a2, computedb.InstanceUpdate{TerminatedAt: &ended}); err != nil {
			t.Fatal(err)
		}
		start := now.Add(-5 * time.Hour).Format("2006-01-02T15:04:05")
		end := now.Add(time.Hour).Format("2006-01-02T15:04:05.000000")
		q := "?start=" + url.QueryEscape(start) + "&end=" + url.QueryEscape(end)

		r := e.do("GET", "/v2.1/os-simple-tenant-usage/proj-a"+q, alice, "", nil)
		r.want(t, 200)
		u := obj(t, r.Body["tenant_usage"])
		near := func(name string, got any, want float64) {
			t.Helper()
			if f, ok := got.(float64); !ok || math.Abs(f-want) > 0.01+want*0.001 {
				t.Errorf("%s = %v, want %v", name, got, want)
			}
		}
		// a1: 5 h in the window (start..now, the end capped at now); a2: 1 h (start..terminated).
		near("total_hours", u["total_hours"], 6)
		near("total_vcpus_usage", u["total_vcpus_usage"], 6)
		near("total_memory_mb_usage", u["total_memory_mb_usage"], 5*512+1*2048)
		near("total_local_gb_usage", u["total_local_gb_usage"], 5*1+1*20)
		if u["tenant_id"] != "proj-a" || !strings.HasPrefix(u["start"].(string), start) || len(u["stop"].(string)) != 26 {
			t.Errorf("usage %s", r.Raw)
		}
		servers := list(t, u["server_usages"])
		if len(servers) != 2 {
			t.Fatalf("server_usages %v", servers)
		}
		for _, s := range servers {
			s := obj(t, s)
			switch s["instance_id"] {
			case a1:
				if s["state"] != "building" || s["ended_at"] != nil || s["flavor"] != "m1.tiny" || s["name"] != "a1" || s["vcpus"] != 1.0 ||
					s["memory_mb"] != 512.0 || s["local_gb"] != 1.0 || math.Abs(s["uptime"].(float64)-36000) > 5 {
					t.Errorf("a1 usage %v", s)
				}
			case a2:
				if s["state"] != "terminated" || s["ended_at"] == nil || s["uptime"] != 3600.0 || s["flavor"] != "m1.small" {
					t.Errorf("a2 usage %v", s)
				}
			default:
				t.Errorf("unexpected %v", s)
			}
		}
		e.do("GET", "/v2.1/os-simple-tenant-usage/proj-b"+q, alice, "", nil).want(t, 403)
		if u := obj(t, e.do("GET", "/v2.1/os-simple-tenant-usage/proj-x"+q, admin, "", nil).Body["tenant_usage"]); len(u) != 0 {
			t.Errorf("a project with no servers: %v", u)
		}

		// index: admin only, every project; server_usages with detailed=1.
		e.do("GET", "/v2.1/os-simple-tenant-usage"+q, alice, "", nil).want(t, 403)
		all := list(t, e.do("GET", "/v2.1/os-simple-tenant-usage"+q, admin, "", nil).Body["tenant_usages"])
		if len(all) != 2 || obj(t, all[0])["tenant_id"] != "proj-a" || obj(t, all[1])["tenant_id"] != "proj-b" {
			t.Fatalf("index %v", all)
		}
		if _, ok := obj(t, all[0])["server_usages"]; ok {
			t.Error("server_usages without detailed=1")
		}
		all = list(t, e.do("GET", "/v2.1/os-simple-tenant-usage"+q+"&detailed=1", admin, "", nil).Body["tenant_usages"])
		if len(list(t, obj(t, all[0])["server_usages"])) != 2 {
			t.Errorf("detailed %v", all)
		}

		// 2.40: pages of servers with a next link.
		r = e.do("GET", "/v2.1/os-simple-tenant-usage"+q+"&detailed=1&limit=2", admin, "2.40", nil)
		links := list(t, r.Body["tenant_usages_links"])
		href := obj(t, links[0])["href"].(string)
		if !strings.Contains(href, "marker=") || obj(t, links[0])["rel"] != "next" {
			t.Fatalf("links %v", links)
		}
		next, _ := url.Parse(href)
		r = e.do("GET", next.RequestURI(), admin, "2.40", nil)
		page := list(t, r.Body["tenant_usages"])
		if len(page) != 1 || obj(t, page[0])["tenant_id"] != "proj-b" {
			t.Fatalf("second page %s", r.Raw)
		}
		if _, ok := r.Body["tenant_usages_links"]; ok {
			t.Error("a last, short page has a next link")
		}
		e.do("GET", "/v2.1/os-simple-tenant-usage"+q+"&limit=2", admin, "2.39", nil).want(t, 200) // ignored before 2.40
		e.do("GET", "/v2.1/os-simple-tenant-usage"+q+"&marker=3c1ae6e8-9e2f-4c41-9f0e-6a8f3b0d2a11", admin, "2.40", nil).wantFault(t, 400,
			"Marker 3c1ae6e8-9e2f-4c41-9f0e-6a8f3b0d2a11 could not be found.")
		e.do("GET", "/v2.1/os-simple-tenant-usage?start=yesterday", admin, "", nil).wantFault(t, 400,
			"Invalid datetime string: Datetime is in invalid format")
		e.do("GET", "/v2.1/os-simple-tenant-usage?start="+url.QueryEscape(end)+"&end="+url.QueryEscape(start), admin, "", nil).wantFault(t, 400,
			"Invalid start time. The start time cannot occur after the end time.")
		e.do("GET", "/v2.1/os-simple-tenant-usage?x=1", admin, "2.75", nil).want(t, 400)
		e.do("GET", "/v2.1/os-simple-tenant-usage", admin, "", nil).want(t, 200)
	})
}
