package api

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

var reservationRE = regexp.MustCompile(`^r-[0-9a-z]{8}$`)

// multiBody is a boot of min..max servers of flavor (0 leaves a count out).
func multiBody(name, flavor string, minCount, maxCount int, extra ...any) map[string]any {
	b := bootBody(name, flavor)
	s := b["server"].(map[string]any)
	if minCount > 0 {
		s["min_count"] = minCount
	}
	if maxCount > 0 {
		s["max_count"] = maxCount
	}
	for i := 0; i < len(extra); i += 2 {
		s[extra[i].(string)] = extra[i+1]
	}
	return b
}

// listed is a list's servers (detail) by name.
func listed(t *testing.T, e *env, query, token, version string) map[string]map[string]any {
	t.Helper()
	r := e.do("GET", "/v2.1/servers/detail?"+query, token, version, nil)
	r.want(t, 200)
	out := map[string]map[string]any{}
	for _, s := range list(t, r.Body["servers"]) {
		m := obj(t, s)
		out[m["name"].(string)] = m
	}
	return out
}

func withMax293(d *Deps, _ *computeapi.Options) { d.MaxMicroversion = microversion.MustParse("2.93") }

func TestServerMultipleCreate(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e := newEnv(t, b, withMax293)
			e.addNode("c1", 64, 1<<20, 10000)
			e.addNode("c2", 64, 1<<20, 10000)

			r := e.do("POST", "/v2.1/servers", alice, "", multiBody("web", "1", 2, 3, "metadata", map[string]any{"role": "web"}))
			r.want(t, 202)
			first := obj(t, r.Body["server"])
			id := first["id"].(string)
			if r.Header.Get("Location") != "http://example.com/v2.1/servers/"+id || first["adminPass"] == "" {
				t.Errorf("first server: %s, Location %q", r.Raw, r.Header.Get("Location"))
			}
			// max_count servers, named name-1.., one reservation, launch_index 0..
			shown := e.do("GET", "/v2.1/servers/"+id, admin, "2.3", nil)
			shown.want(t, 200)
			s := obj(t, shown.Body["server"])
			resv, _ := s["OS-EXT-SRV-ATTR:reservation_id"].(string)
			if s["name"] != "web-1" || !reservationRE.MatchString(resv) || s["OS-EXT-SRV-ATTR:launch_index"] != float64(0) {
				t.Fatalf("first server shown: %s", shown.Raw)
			}
			got := listed(t, e, "reservation_id="+resv, admin, "2.3")
			if len(got) != 0 {
				t.Errorf("an admin's own project lists alice's servers: %v", keys(anyMap(got)))
			}
			got = listed(t, e, "all_tenants=1&reservation_id="+resv, admin, "2.3")
			if len(got) != 3 {
				t.Fatalf("reservation %s lists %v", resv, keys(anyMap(got)))
			}
			hosts := map[any]bool{}
			for i := range 3 {
				srv, ok := got[fmt.Sprintf("web-%d", i+1)]
				if !ok {
					t.Fatalf("no web-%d in %v", i+1, keys(anyMap(got)))
				}
				if srv["OS-EXT-SRV-ATTR:reservation_id"] != resv || srv["OS-EXT-SRV-ATTR:launch_index"] != float64(i) ||
					srv["status"] != "BUILD" || obj(t, srv["metadata"])["role"] != "web" || srv["tenant_id"] != "proj-a" {
					t.Errorf("web-%d: %v", i+1, srv)
				}
				hosts[srv["OS-EXT-SRV-ATTR:host"]] = true
			}
			if len(hosts) != 2 {
				t.Errorf("hosts %v: the weigher spreads them", hosts)
			}
			if c := e.rpc.Calls(); len(c) != 3 {
				t.Errorf("casts %+v", c)
			}
			// The owner sees them too (a regex filter, as nova's), without the
			// admin's attributes; before 2.3 nobody sees the two.
			if n := len(listed(t, e, "reservation_id="+resv[:6], alice, "")); n != 3 {
				t.Errorf("alice, reservation prefix: %d", n)
			}
			if n := len(listed(t, e, "reservation_id="+resv, bob, "")); n != 0 {
				t.Errorf("bob sees %d of alice's", n)
			}
			if _, ok := listed(t, e, "reservation_id="+resv, alice, "2.93")["web-1"]["OS-EXT-SRV-ATTR:reservation_id"]; ok {
				t.Error("a non-admin sees the reservation id")
			}
			if _, ok := listed(t, e, "all_tenants=1&reservation_id="+resv, admin, "2.2")["web-1"]["OS-EXT-SRV-ATTR:launch_index"]; ok {
				t.Error("launch_index shown before 2.3")
			}
			// sort by launch_index (a valid sort key)
			r = e.do("GET", "/v2.1/servers?reservation_id="+resv+"&sort_key=launch_index&sort_dir=asc", alice, "", nil)
			r.want(t, 200)
			var order []string
			for _, x := range list(t, r.Body["servers"]) {
				order = append(order, obj(t, x)["name"].(string))
			}
			if strings.Join(order, ",") != "web-1,web-2,web-3" {
				t.Errorf("by launch_index: %v", order)
			}

			// return_reservation_id: nova's body, 202, no Location.
			r = e.do("POST", "/v2.1/servers", alice, "", multiBody("db", "1", 2, 0, "return_reservation_id", true))
			r.want(t, 202)
			rid, _ := r.Body["reservation_id"].(string)
			if len(r.Body) != 1 || !reservationRE.MatchString(rid) || rid == resv || r.Header.Get("Location") != "" {
				t.Fatalf("reservation answer %s, Location %q", r.Raw, r.Header.Get("Location"))
			}
			if got := listed(t, e, "reservation_id="+rid, alice, ""); len(got) != 2 || got["db-1"] == nil || got["db-2"] == nil {
				t.Errorf("reservation %s lists %v", rid, keys(anyMap(got)))
			}
			// "true" as a string is a boolean for nova too; one server keeps its name.
			r = e.do("POST", "/v2.1/servers", alice, "", multiBody("one", "1", 0, 0, "return_reservation_id", "true"))
			r.want(t, 202)
			if got := listed(t, e, "reservation_id="+r.Body["reservation_id"].(string), alice, ""); len(got) != 1 || got["one"] == nil {
				t.Errorf("single create with reservation: %v", keys(anyMap(got)))
			}
		})
	}
}

// nova schedules max_count servers: when fewer fit, every server of the
// request is ERROR with NoValidHost (min_count or not), the answer is still
// 202, and no claim is left on any host.
func TestServerMultipleCreateNoValidHost(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 64, 4096, 10000) // room for two of m1.small (2048 MB)
		// The ERROR instances count in the quota, as nova's: lift it.
		e.do("PUT", "/v2.1/os-quota-sets/proj-a", admin, "", map[string]any{"quota_set": map[string]any{"instances": -1, "cores": -1, "ram": -1}}).want(t, 200)
		for i, c := range []struct{ min, max int }{{3, 3}, {1, 3}, {2, 4}} {
			r := e.do("POST", "/v2.1/servers", alice, "", multiBody(fmt.Sprintf("nv%d", i), "2", c.min, c.max, "return_reservation_id", true))
			r.want(t, 202)
			got := listed(t, e, "reservation_id="+r.Body["reservation_id"].(string), alice, "")
			if len(got) != c.max {
				t.Fatalf("%d..%d: %d servers", c.min, c.max, len(got))
			}
			for name, s := range got {
				f, _ := s["fault"].(map[string]any)
				if s["status"] != "ERROR" || f == nil || f["message"] != "No valid host was found. There are not enough hosts available." ||
					f["code"] != float64(500) || s["hostId"] != "" {
					t.Errorf("%d..%d: %s is %v", c.min, c.max, name, s)
				}
			}
			nodes, err := e.compute.ListNodes(context.Background())
			if err != nil || nodes[0].MemoryMBUsed != 0 || nodes[0].VCPUsUsed != 0 {
				t.Fatalf("%d..%d: claims left %+v %v", c.min, c.max, nodes, err)
			}
		}
		if c := e.rpc.Calls(); len(c) != 0 {
			t.Errorf("casts of failed requests: %+v", c)
		}
		// and two fit
		r := e.do("POST", "/v2.1/servers", alice, "", multiBody("fits", "2", 2, 0))
		r.want(t, 202)
		if got := listed(t, e, "name=^fits-", alice, ""); len(got) != 2 || got["fits-1"]["status"] != "BUILD" || got["fits-2"]["status"] != "BUILD" {
			t.Errorf("two that fit: %v", got)
		}
	})
}

func anyMap[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
