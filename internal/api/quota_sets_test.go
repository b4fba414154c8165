package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/pgtest"
	"github.com/gonova/gonova/pkg/registry/pgstore"
	"github.com/gonova/gonova/pkg/wsgi/auth"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

func maxV293(d *Deps, _ *computeapi.Options) {
	d.MaxMicroversion = microversion.Version{Major: 2, Minor: 93}
}

func runBoth293(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) { f(t, newEnv(t, b, maxV293)) })
	}
}

var allQuotaKeys = []string{"cores", "fixed_ips", "floating_ips", "id", "injected_file_content_bytes", "injected_file_path_bytes",
	"injected_files", "instances", "key_pairs", "metadata_items", "ram", "security_group_rules", "security_groups",
	"server_group_members", "server_groups"}

func sortedKeysOf(m map[string]any) []string {
	k := keys(m)
	slices.Sort(k)
	return k
}

func without(all []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(all), func(k string) bool { return slices.Contains(drop, k) })
}

func TestQuotaSetsShowAndDefaultsByMicroversion(t *testing.T) {
	runBoth293(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			version string
			want    []string
		}{
			{"2.1", allQuotaKeys},
			{"2.35", allQuotaKeys},
			{"2.36", without(allQuotaKeys, "fixed_ips", "floating_ips", "security_group_rules", "security_groups")},
			{"2.57", without(allQuotaKeys, "fixed_ips", "floating_ips", "security_group_rules", "security_groups",
				"injected_files", "injected_file_content_bytes", "injected_file_path_bytes")},
		} {
			for _, path := range []string{"/v2.1/os-quota-sets/proj-a", "/v2.1/os-quota-sets/proj-a/defaults"} {
				r := e.do("GET", path, alice, c.version, nil)
				r.want(t, 200)
				qs := obj(t, r.Body["quota_set"])
				if got := sortedKeysOf(qs); !slices.Equal(got, c.want) {
					t.Errorf("%s at %s: keys %v\n want %v", path, c.version, got, c.want)
				}
				if qs["id"] != "proj-a" || qs["instances"] != 10.0 || qs["cores"] != 20.0 || qs["ram"] != 51200.0 ||
					qs["key_pairs"] != 100.0 || qs["server_groups"] != 10.0 || qs["server_group_members"] != 10.0 || qs["metadata_items"] != 128.0 {
					t.Errorf("%s at %s: %s", path, c.version, r.Raw)
				}
			}
		}
		r := e.do("GET", "/v2.1/os-quota-sets/proj-a", alice, "2.1", nil)
		if qs := obj(t, r.Body["quota_set"]); qs["fixed_ips"] != -1.0 || qs["injected_files"] != 5.0 ||
			qs["injected_file_content_bytes"] != 10240.0 || qs["injected_file_path_bytes"] != 255.0 {
			t.Errorf("2.1 show %s", r.Raw)
		}
		// Another project's quotas are the admin's to see.
		e.do("GET", "/v2.1/os-quota-sets/proj-b", alice, "", nil).want(t, 403)
		e.do("GET", "/v2.1/os-quota-sets/proj-b", admin, "", nil).want(t, 200)
		// 2.75 refuses unknown query parameters; before, they are ignored.
		e.do("GET", "/v2.1/os-quota-sets/proj-a?foo=1", alice, "2.74", nil).want(t, 200)
		e.do("GET", "/v2.1/os-quota-sets/proj-a?foo=1", alice, "2.75", nil).wantFault(t, 400,
			"Additional properties are not allowed ('foo' was unexpected)")
	})
}

func TestQuotaSetsUpdateDetailAndDelete(t *testing.T) {
	runBoth293(t, func(t *testing.T, e *env) {
		e.addNode("h1", 64, 1<<20, 1000)
		for i := 0; i < 3; i++ {
			e.do("POST", "/v2.1/servers", alice, "", bootBody(fmt.Sprint("vm", i), "1")).want(t, 202)
		}
		put := func(version, token, query string, body any) resp {
			return e.do("PUT", "/v2.1/os-quota-sets/proj-a"+query, token, version, body)
		}
		put("", alice, "", map[string]any{"quota_set": map[string]any{"instances": 5}}).want(t, 403)
		r := put("2.57", admin, "", map[string]any{"quota_set": map[string]any{"instances": "5", "cores": 8}})
		r.want(t, 200)
		qs := obj(t, r.Body["quota_set"])
		if _, hasID := qs["id"]; hasID || qs["instances"] != 5.0 || qs["cores"] != 8.0 || qs["ram"] != 51200.0 {
			t.Errorf("update body %s", r.Raw)
		}
		put("", admin, "", map[string]any{"quota_set": map[string]any{"instances": 2}}).wantFault(t, 400,
			"Quota limit 2 for instances must be greater than or equal to already used and reserved 3.")
		put("", admin, "", map[string]any{"quota_set": map[string]any{"instances": 2, "force": "True"}}).want(t, 200)
		put("", admin, "", map[string]any{"quota_set": map[string]any{"networks": 2}}).wantFault(t, 400, "The networks quota has been removed")
		put("2.36", admin, "", map[string]any{"quota_set": map[string]any{"networks": 2}}).wantFault(t, 400,
			"Invalid input for field/attribute quota_set. Value: {'networks': 2}. Additional properties are not allowed ('networks' was unexpected)")
		put("2.57", admin, "", map[string]any{"quota_set": map[string]any{"injected_files": 2}}).want(t, 400)
		put("2.56", admin, "", map[string]any{"quota_set": map[string]any{"injected_files": 2}}).want(t, 200)
		put("", admin, "", map[string]any{"quota_set": map[string]any{"cores": -2}}).wantFault(t, 400,
			"Invalid input for field/attribute cores. Value: -2. -2 is less than the minimum of -1")
		put("", admin, "", map[string]any{"quota_set": map[string]any{"cores": "x"}}).wantFault(t, 400,
			"Invalid input for field/attribute cores. Value: x. 'x' does not match '^-?[0-9]+$'")
		put("", admin, "", map[string]any{"quota_set": map[string]any{"cores": 1.5}}).want(t, 400)
		put("", admin, "", map[string]any{"quota_set": map[string]any{"cores": 1 << 31}}).want(t, 400)
		put("", admin, "", map[string]any{"other": 1}).want(t, 400)

		// detail: limit, in_use, reserved.
		r = e.do("GET", "/v2.1/os-quota-sets/proj-a/detail", alice, "", nil)
		r.want(t, 200)
		d := obj(t, r.Body["quota_set"])
		if in := obj(t, d["instances"]); in["limit"] != 2.0 || in["in_use"] != 3.0 || in["reserved"] != 0.0 {
			t.Errorf("detail instances %v", in)
		}
		if c := obj(t, d["cores"]); c["in_use"] != 3.0 || c["limit"] != 8.0 {
			t.Errorf("detail cores %v", c)
		}
		if ram := obj(t, d["ram"]); ram["in_use"] != 1536.0 {
			t.Errorf("detail ram %v", ram)
		}

		// Per user: its own limit, within what the project leaves.
		put("", admin, "?user_id=alice", map[string]any{"quota_set": map[string]any{"key_pairs": 7}}).want(t, 200)
		put("", admin, "?user_id=alice", map[string]any{"quota_set": map[string]any{"cores": 9}}).wantFault(t, 400,
			"Quota limit 9 for cores must be less than or equal to 8.")
		r = e.do("GET", "/v2.1/os-quota-sets/proj-a?user_id=alice", alice, "", nil)
		if qs := obj(t, r.Body["quota_set"]); qs["key_pairs"] != 7.0 || qs["instances"] != 2.0 {
			t.Errorf("user show %s", r.Raw)
		}
		if l, err := e.capiQuotas().Limit(context.Background(), "proj-a", "alice", computedb.ResKeyPairs); err != nil || l != 7 {
			t.Errorf("Limit(key_pairs) = %d, %v", l, err)
		}
		if l, _ := e.capiQuotas().Limit(context.Background(), "proj-a", "bob", computedb.ResKeyPairs); l != 100 {
			t.Errorf("Limit(bob's key_pairs) = %d", l)
		}

		// delete: back to the defaults (202).
		e.do("DELETE", "/v2.1/os-quota-sets/proj-a", alice, "", nil).want(t, 403)
		e.do("DELETE", "/v2.1/os-quota-sets/proj-a?user_id=alice", admin, "", nil).want(t, 202)
		r = e.do("GET", "/v2.1/os-quota-sets/proj-a?user_id=alice", alice, "", nil)
		if qs := obj(t, r.Body["quota_set"]); qs["key_pairs"] != 100.0 || qs["instances"] != 2.0 {
			t.Errorf("after deleting the user's %s", r.Raw)
		}
		e.do("DELETE", "/v2.1/os-quota-sets/proj-a", admin, "", nil).want(t, 202)
		r = e.do("GET", "/v2.1/os-quota-sets/proj-a", alice, "", nil)
		if qs := obj(t, r.Body["quota_set"]); qs["instances"] != 10.0 || qs["cores"] != 20.0 {
			t.Errorf("after delete %s", r.Raw)
		}
	})
}

func (e *env) capiQuotas() interface {
	Limit(ctx context.Context, project, user, resource string) (int, error)
} {
	return e.capi.Quotas()
}

func TestLimitsByMicroversion(t *testing.T) {
	runBoth293(t, func(t *testing.T, e *env) {
		e.addNode("h1", 64, 1<<20, 1000)
		e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "2")).want(t, 202)
		r := e.do("GET", "/v2.1/limits", alice, "2.1", nil)
		r.want(t, 200)
		l := obj(t, r.Body["limits"])
		if rate := list(t, l["rate"]); len(rate) != 0 {
			t.Errorf("rate %v", rate)
		}
		abs := obj(t, l["absolute"])
		want := map[string]float64{"maxTotalInstances": 10, "maxTotalCores": 20, "maxTotalRAMSize": 51200, "maxServerMeta": 128,
			"maxImageMeta": 128, "maxTotalKeypairs": 100, "maxServerGroups": 10, "maxServerGroupMembers": 10, "maxPersonality": 5,
			"maxPersonalitySize": 10240, "maxTotalFloatingIps": -1, "maxSecurityGroups": -1, "maxSecurityGroupRules": -1,
			"totalInstancesUsed": 1, "totalCoresUsed": 1, "totalRAMUsed": 2048, "totalServerGroupsUsed": 0,
			"totalFloatingIpsUsed": 0, "totalSecurityGroupsUsed": 0}
		if len(abs) != len(want) {
			t.Errorf("absolute %v", sortedKeysOf(abs))
		}
		for k, v := range want {
			if abs[k] != v {
				t.Errorf("%s = %v, want %v", k, abs[k], v)
			}
		}
		for _, c := range []struct {
			version string
			gone    []string
		}{
			{"2.36", []string{"maxTotalFloatingIps", "maxSecurityGroups", "maxSecurityGroupRules", "totalFloatingIpsUsed", "totalSecurityGroupsUsed"}},
			{"2.39", []string{"maxImageMeta"}},
			{"2.57", []string{"maxPersonality", "maxPersonalitySize"}},
		} {
			abs := obj(t, obj(t, e.do("GET", "/v2.1/limits", alice, c.version, nil).Body["limits"])["absolute"])
			for _, k := range c.gone {
				if _, ok := abs[k]; ok {
					t.Errorf("%s still has %s", c.version, k)
				}
			}
			if abs["maxTotalInstances"] != 10.0 {
				t.Errorf("%s: %v", c.version, abs)
			}
		}
		if abs := obj(t, obj(t, e.do("GET", "/v2.1/limits", alice, "2.38", nil).Body["limits"])["absolute"]); abs["maxImageMeta"] != 128.0 {
			t.Errorf("2.38 lost maxImageMeta: %v", abs)
		}
		// Another project's: admin only.
		e.do("GET", "/v2.1/limits?tenant_id=proj-b", alice, "", nil).want(t, 403)
		abs = obj(t, obj(t, e.do("GET", "/v2.1/limits?tenant_id=proj-a", admin, "", nil).Body["limits"])["absolute"])
		if abs["totalInstancesUsed"] != 1.0 {
			t.Errorf("admin's view of proj-a %v", abs)
		}
		e.do("GET", "/v2.1/limits?x=1", alice, "2.75", nil).want(t, 400)
		e.do("GET", "/v2.1/limits?x=1", alice, "2.74", nil).want(t, 200)
	})
}

func TestServerCreateOverQuotaIsNovas403(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("h1", 64, 1<<20, 1000)
		e.do("PUT", "/v2.1/os-quota-sets/proj-a", admin, "", map[string]any{"quota_set": map[string]any{"instances": 2}}).want(t, 200)
		e.do("POST", "/v2.1/servers", alice, "", bootBody("a", "1")).want(t, 202)
		e.do("POST", "/v2.1/servers", alice, "", bootBody("b", "1")).want(t, 202)
		r := e.do("POST", "/v2.1/servers", alice, "", bootBody("c", "1"))
		r.wantFault(t, 403, "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances")
		if string(r.Raw) != `{"forbidden":{"code":403,"message":"Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"}}` {
			t.Errorf("body %s", r.Raw)
		}
		e.do("POST", "/v2.1/servers", bob, "", bootBody("b1", "1")).want(t, 202) // another project
		e.do("PUT", "/v2.1/os-quota-sets/proj-a", admin, "", map[string]any{"quota_set": map[string]any{"instances": 10, "cores": 3, "ram": 4000}}).want(t, 200)
		// m1.medium: 2 vcpus, 4096 MB, over both.
		e.do("POST", "/v2.1/servers", alice, "", bootBody("m", "3")).wantFault(t, 403,
			"Quota exceeded for cores, ram: Requested 2, 4096, but already used 2, 1024 of 3, 4000 cores, ram")
	})
}

// twoRouters are two nova-api processes on one Postgres: each its own
// pool, stores, compute API and router.
func twoRouters(t *testing.T) ([]http.Handler, *env) {
	url := pgtest.NewDatabase(t)
	var handlers []http.Handler
	var first *env
	for i := 0; i < 2; i++ {
		pool := pgtest.OpenPool(t, url)
		cdb := computedb.NewPG(pool)
		reg := pgstore.New(pool)
		capi, err := computeapi.New(computeapi.Options{Services: reg, Compute: cdb, RPC: &fakeCompute{}, RPCTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		h, err := NewRouter(Deps{Services: reg, Compute: cdb, ComputeAPI: capi, Auth: auth.NoAuth{}, Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		handlers = append(handlers, h)
		if first == nil {
			first = &env{t: t, handler: h, services: reg, compute: cdb, pool: pool, capi: capi}
			if _, err := computedb.CreateDefaultFlavors(context.Background(), cdb); err != nil {
				t.Fatal(err)
			}
		}
	}
	return handlers, first
}

// race sends n POST /servers of body(i) at once, alternating between
// handlers, and counts the answers by status.
func race(t *testing.T, handlers []http.Handler, n int, body func(i int) any) map[int]int {
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/v2.1/servers", jsonReader(t, body(i)))
			req.Header.Set("X-Auth-Token", alice)
			req.Header.Set("Content-Type", "application/json")
			handlers[i%len(handlers)].ServeHTTP(rec, req)
			mu.Lock()
			codes[rec.Code]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	return codes
}

// Creates raced through one router (both stores) and through two on one
// Postgres never pass the project's quota.
func TestServerCreateQuotaRaces(t *testing.T) {
	check := func(t *testing.T, handlers []http.Handler, e *env) {
		e.do("PUT", "/v2.1/os-quota-sets/proj-a", admin, "", map[string]any{"quota_set": map[string]any{"instances": 10}}).want(t, 200)
		codes := race(t, handlers, 30, func(i int) any { return bootBody(fmt.Sprint("r", i), "1") })
		if codes[202] != 10 || codes[403] != 20 {
			t.Fatalf("answers %v, want 10 x 202 and 20 x 403", codes)
		}
		r := e.do("GET", "/v2.1/os-quota-sets/proj-a/detail", alice, "", nil)
		if in := obj(t, obj(t, r.Body["quota_set"])["instances"]); in["in_use"] != 10.0 {
			t.Fatalf("in use %v", in)
		}
	}
	for _, b := range backends {
		t.Run("one_router_"+string(b), func(t *testing.T) {
			e := newEnv(t, b)
			check(t, []http.Handler{e.handler}, e)
		})
	}
	t.Run("two_routers_pg", func(t *testing.T) {
		handlers, e := twoRouters(t)
		check(t, handlers, e)
	})
}

// Members of one anti-affinity group created at once through two routers
// on one Postgres take one host each: the others go to ERROR.
func TestServerGroupAntiAffinityAcrossTwoRouters(t *testing.T) {
	handlers, e := twoRouters(t)
	e.addNode("h1", 64, 1<<20, 1000)
	e.addNode("h2", 64, 1<<20, 1000)
	r := e.do("POST", "/v2.1/os-server-groups", alice, "", sgBody("anti", "anti-affinity"))
	r.want(t, 200)
	group := obj(t, r.Body["server_group"])["id"].(string)
	codes := race(t, handlers, 6, func(i int) any {
		b := bootBody(fmt.Sprint("m", i), "1")
		b["os:scheduler_hints"] = map[string]any{"group": group}
		return b
	})
	if codes[202] != 6 {
		t.Fatalf("answers %v", codes)
	}
	list, err := e.compute.ListInstances(context.Background(), computedb.InstanceFilter{ProjectID: "proj-a"})
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]int{}
	for _, in := range list {
		hosts[in.Host]++
		if in.Host == "" && (in.VMState != "error" || in.Fault == nil || in.Fault.Message != "No valid host was found. There are not enough hosts available.") {
			t.Errorf("unplaced member %+v", in)
		}
	}
	if hosts["h1"] != 1 || hosts["h2"] != 1 || hosts[""] != 4 {
		t.Fatalf("members by host %v", hosts)
	}
}

func jsonReader(t testing.TB, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}
