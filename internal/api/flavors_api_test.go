package api

import (
	"strings"
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// newEnv93 is newEnv serving every microversion up to nova 26's 2.93.
func newEnv93(t *testing.T, b backend) *env {
	return newEnv(t, b, func(d *Deps, _ *computeapi.Options) { d.MaxMicroversion = microversion.MustParse("2.93") })
}

func runBoth93(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) { f(t, newEnv93(t, b)) })
	}
}

func flavorBody(name string, more map[string]any) map[string]any {
	f := map[string]any{"name": name, "ram": 256, "vcpus": 2, "disk": 5}
	for k, v := range more {
		f[k] = v
	}
	return map[string]any{"flavor": f}
}

func ids(t *testing.T, v any) string {
	t.Helper()
	var out []string
	for _, x := range list(t, v) {
		out = append(out, obj(t, x)["id"].(string))
	}
	return strings.Join(out, ",")
}

func TestFlavorCreateShowDelete(t *testing.T) {
	runBoth93(t, func(t *testing.T, e *env) {
		// Validation before policy: alice's malformed body is a 400, her
		// valid one a 403.
		e.do("POST", "/v2.1/flavors", alice, "", flavorBody("x", map[string]any{"ram": 0})).
			wantFault(t, 400, "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1")
		e.do("POST", "/v2.1/flavors", alice, "", flavorBody("x", nil)).
			wantFault(t, 403, refused("os_compute_api:os-flavor-manage:create"))
		e.do("POST", "/v2.1/flavors", admin, "", map[string]any{"flavor": map[string]any{"name": "x", "ram": 1, "vcpus": 1}}).
			wantFault(t, 400, "Invalid input for field/attribute flavor. Value: {'name': 'x', 'ram': 1, 'vcpus': 1}. 'disk' is a required property")
		e.do("POST", "/v2.1/flavors", admin, "2.53", flavorBody("x", map[string]any{"description": "d"})).wantFault(t, 400, "")
		e.do("POST", "/v2.1/flavors", admin, "", flavorBody("x", map[string]any{"rxtx_factor": 0})).wantFault(t, 400, "")
		e.do("POST", "/v2.1/flavors", admin, "", flavorBody("x", map[string]any{"id": " a"})).wantFault(t, 400, "")
		e.do("POST", "/v2.1/flavors", admin, "", flavorBody("x", map[string]any{"ram": "2147483648"})).wantFault(t, 400, "")

		r := e.do("POST", "/v2.1/flavors", admin, "", flavorBody("auto", map[string]any{"rxtx_factor": 1.5, "swap": 0}))
		r.want(t, 200)
		f := obj(t, r.Body["flavor"])
		if len(f["id"].(string)) != 36 || f["rxtx_factor"] != 1.5 || f["swap"] != "" || f["ram"] != float64(256) ||
			f["os-flavor-access:is_public"] != true || f["OS-FLV-DISABLED:disabled"] != false {
			t.Fatalf("created %s", r.Raw)
		}
		if _, ok := f["description"]; ok {
			t.Fatalf("description before 2.55: %s", r.Raw)
		}
		r = e.do("POST", "/v2.1/flavors", admin, "2.75", flavorBody("given", map[string]any{"id": 42, "description": "mine", "swap": 0}))
		r.want(t, 200)
		f = obj(t, r.Body["flavor"])
		if f["id"] != "42" || f["description"] != "mine" || f["swap"] != float64(0) {
			t.Fatalf("created at 2.75 %s", r.Raw)
		}
		if specs, ok := f["extra_specs"].(map[string]any); !ok || len(specs) != 0 {
			t.Fatalf("extra_specs at 2.61+ %s", r.Raw)
		}
		e.do("POST", "/v2.1/flavors", admin, "", flavorBody("given", nil)).wantFault(t, 409, "Flavor with name given already exists.")
		e.do("POST", "/v2.1/flavors", admin, "", flavorBody("other", map[string]any{"id": "42"})).wantFault(t, 409, "Flavor with ID 42 already exists.")

		// 2.55 update: the description only.
		e.do("PUT", "/v2.1/flavors/42", admin, "2.54", map[string]any{"flavor": map[string]any{"description": "x"}}).wantFault(t, 404, "")
		e.do("PUT", "/v2.1/flavors/42", admin, "2.55", map[string]any{"flavor": map[string]any{"name": "x"}}).wantFault(t, 400, "")
		e.do("PUT", "/v2.1/nope", admin, "2.55", nil).wantFault(t, 404, "")
		e.do("PUT", "/v2.1/flavors/nope", admin, "2.55", map[string]any{"flavor": map[string]any{"description": "x"}}).wantFault(t, 404, "Flavor nope could not be found.")
		r = e.do("PUT", "/v2.1/flavors/42", admin, "2.55", map[string]any{"flavor": map[string]any{"description": nil}})
		r.want(t, 200)
		if f := obj(t, r.Body["flavor"]); f["description"] != nil {
			t.Fatalf("update %s", r.Raw)
		}

		// A server keeps its flavor after the flavor is gone.
		e.addNode("c1", 8, 16384, 200)
		r = e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "42"))
		r.want(t, 202)
		server := obj(t, r.Body["server"])["id"].(string)
		e.do("DELETE", "/v2.1/flavors/42", alice, "", nil).wantFault(t, 403, "")
		e.do("DELETE", "/v2.1/flavors/42", admin, "", nil).want(t, 202)
		e.do("DELETE", "/v2.1/flavors/42", admin, "", nil).wantFault(t, 404, "Flavor 42 could not be found.")
		e.do("GET", "/v2.1/flavors/42", alice, "", nil).wantFault(t, 404, "Flavor 42 could not be found.")
		r = e.do("GET", "/v2.1/servers/"+server, alice, "2.47", nil)
		r.want(t, 200)
		fl := obj(t, obj(t, r.Body["server"])["flavor"])
		if fl["original_name"] != "given" || fl["ram"] != float64(256) || fl["vcpus"] != float64(2) || fl["disk"] != float64(5) {
			t.Fatalf("server flavor %v", fl)
		}
		e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "42")).wantFault(t, 400, "Invalid flavorRef provided.")
	})
}

func TestFlavorListFiltersAndPages(t *testing.T) {
	runBoth93(t, func(t *testing.T, e *env) {
		e.do("POST", "/v2.1/flavors", admin, "", flavorBody("private", map[string]any{"id": "p1", "os-flavor-access:is_public": false})).want(t, 200)
		r := e.do("GET", "/v2.1/flavors", alice, "", nil)
		if got := ids(t, r.Body["flavors"]); got != "1,2,3,4,5" {
			t.Fatalf("alice lists %s", got)
		}
		if got := ids(t, e.do("GET", "/v2.1/flavors?is_public=none", admin, "", nil).Body["flavors"]); got != "1,2,3,4,5,p1" {
			t.Fatalf("admin is_public=none lists %s", got)
		}
		if got := ids(t, e.do("GET", "/v2.1/flavors?is_public=false", admin, "", nil).Body["flavors"]); got != "p1" {
			t.Fatalf("admin is_public=false lists %s", got)
		}
		// A user's is_public is ignored: public ones and its own.
		if got := ids(t, e.do("GET", "/v2.1/flavors?is_public=false", alice, "", nil).Body["flavors"]); got != "1,2,3,4,5" {
			t.Fatalf("alice is_public=false lists %s", got)
		}
		e.do("GET", "/v2.1/flavors?is_public=maybe", admin, "", nil).wantFault(t, 400, "Invalid is_public filter [maybe]")
		if got := ids(t, e.do("GET", "/v2.1/flavors/detail?minRam=4096&minDisk=80", alice, "", nil).Body["flavors"]); got != "4,5" {
			t.Fatalf("minRam/minDisk lists %s", got)
		}
		e.do("GET", "/v2.1/flavors?minRam=big", alice, "", nil).wantFault(t, 400, "Invalid minRam filter [big]")
		if got := ids(t, e.do("GET", "/v2.1/flavors?sort_key=memory_mb&sort_dir=desc", alice, "", nil).Body["flavors"]); got != "5,4,3,2,1" {
			t.Fatalf("sorted %s", got)
		}
		e.do("GET", "/v2.1/flavors?sort_key=nope", alice, "", nil).wantFault(t, 400, "")
		e.do("GET", "/v2.1/flavors?sort_dir=up", alice, "", nil).wantFault(t, 400, "")
		r = e.do("GET", "/v2.1/flavors?limit=2&marker=1", alice, "", nil)
		if got := ids(t, r.Body["flavors"]); got != "2,3" {
			t.Fatalf("page %s", got)
		}
		next := obj(t, list(t, r.Body["flavors_links"])[0])["href"].(string)
		if !strings.Contains(next, "marker=3") || !strings.Contains(next, "/v2.1/flavors?") {
			t.Fatalf("next %s", next)
		}
		e.do("GET", "/v2.1/flavors?marker=p1", alice, "", nil).wantFault(t, 400, "marker [p1] not found")
		if got := ids(t, e.do("GET", "/v2.1/flavors?limit=0", alice, "", nil).Body["flavors"]); got != "" {
			t.Fatalf("limit=0 lists %s", got)
		}
		// Unknown parameters: ignored before 2.75, refused from.
		e.do("GET", "/v2.1/flavors?foo=1", alice, "2.74", nil).want(t, 200)
		e.do("GET", "/v2.1/flavors?foo=1", alice, "2.75", nil).wantFault(t, 400, "Additional properties are not allowed ('foo' was unexpected)")
		// 2.55 description in the brief list; 2.61 extra specs in detail.
		r = e.do("GET", "/v2.1/flavors", alice, "2.55", nil)
		if f := obj(t, list(t, r.Body["flavors"])[0]); len(f) != 4 || f["description"] != nil {
			t.Fatalf("2.55 brief %v", f)
		}
		r = e.do("GET", "/v2.1/flavors/detail", alice, "2.61", nil)
		if f := obj(t, list(t, r.Body["flavors"])[0]); f["extra_specs"] == nil || f["swap"] != "" {
			t.Fatalf("2.61 detail %v", f)
		}
		if f := obj(t, e.do("GET", "/v2.1/flavors/1", alice, "2.75", nil).Body["flavor"]); f["swap"] != float64(0) || f["rxtx_factor"] != 1.0 {
			t.Fatalf("2.75 show %v", f)
		}
	})
}

func TestFlavorExtraSpecs(t *testing.T) {
	runBoth93(t, func(t *testing.T, e *env) {
		base := "/v2.1/flavors/1/os-extra_specs"
		e.do("POST", base, alice, "", map[string]any{"extra_specs": map[string]any{"a": "b"}}).wantFault(t, 403, "")
		e.do("POST", base, alice, "", map[string]any{"extra_specs": map[string]any{"a/b": "b"}}).wantFault(t, 400, "")
		e.do("POST", "/v2.1/flavors/99/os-extra_specs", admin, "", map[string]any{"specs": map[string]any{}}).wantFault(t, 400, "")
		e.do("POST", "/v2.1/flavors/99/os-extra_specs", admin, "", map[string]any{"extra_specs": map[string]any{"a": "b"}}).wantFault(t, 404, "Flavor 99 could not be found.")
		r := e.do("POST", base, admin, "", map[string]any{"extra_specs": map[string]any{"hw:cpu_policy": "dedicated", "n": 4, "hw:nope": "x"}})
		r.want(t, 200)
		if specs := obj(t, r.Body["extra_specs"]); specs["n"] != float64(4) {
			t.Fatalf("create echoes %s", r.Raw)
		}
		r = e.do("GET", base, alice, "", nil)
		if specs := obj(t, r.Body["extra_specs"]); specs["n"] != "4" || specs["hw:cpu_policy"] != "dedicated" || len(specs) != 3 {
			t.Fatalf("index %s", r.Raw)
		}
		if r = e.do("GET", base+"/hw:cpu_policy", alice, "", nil); r.Body["hw:cpu_policy"] != "dedicated" {
			t.Fatalf("show %s", r.Raw)
		}
		e.do("GET", base+"/missing", alice, "", nil).wantFault(t, 404, "Flavor 1 has no extra specs with key missing.")
		e.do("PUT", base+"/hw:cpu_policy", admin, "", map[string]any{"hw:cpu_policy": "shared", "x": "y"}).wantFault(t, 400, "")
		e.do("PUT", base+"/hw:cpu_policy", admin, "", map[string]any{"other": "shared"}).wantFault(t, 400, "Request body and URI mismatch")
		e.do("PUT", base+"/hw:cpu_policy", admin, "", map[string]any{"hw:cpu_policy": "shared"}).want(t, 200)
		// 2.86 validates the namespaces nova knows.
		for spec, msg := range map[string]string{
			"hw:cpu_policy=bogus":   "Validation failed; 'bogus' is not one of: dedicated, shared, mixed.",
			"hw:numa_nodes=0":       "Validation failed; '0' is less than the min value of '1'.",
			"hw:numa_nodes=two":     "Validation failed; 'two' is not a valid integer value.",
			"hw_rng:allowed=maybe":  "Validation failed; 'maybe' is not a valid boolean-like value.",
			"hw:unknown=1":          "Validation failed; extra spec 'hw:unknown' does not appear to be a valid extra spec.",
			"quota:cpu_shares=-1":   "Validation failed; '-1' is less than the min value of '0'.",
			"hw:mem_page_size=huge": "Validation failed; 'huge' is not of the format '(large|small|any|\\d+([kKMGT]i?)?(b|bit|B)?)'.",
		} {
			k, v, _ := strings.Cut(spec, "=")
			e.do("POST", base, admin, "2.86", map[string]any{"extra_specs": map[string]any{k: v}}).wantFault(t, 400, msg)
			e.do("POST", base, admin, "2.85", map[string]any{"extra_specs": map[string]any{k: v}}).want(t, 200)
		}
		for _, ok := range []map[string]any{{"mine:thing": "x"}, {"plain": "x"}, {"hw:numa_cpus.0": "0-3,^2"}, {"hw:numa_mem.1": 1024},
			{"resources:VCPU": "2"}, {"trait:HW_CPU_X86_AVX": "required"}, {"quota:disk_read_bytes_sec": "100"}, {"hw:mem_page_size": "2MB"}} {
			e.do("POST", base, admin, "2.86", map[string]any{"extra_specs": ok}).want(t, 200)
		}
		// The flavor body shows them from 2.61; a server boots with a copy.
		if f := obj(t, e.do("GET", "/v2.1/flavors/1", alice, "2.61", nil).Body["flavor"]); obj(t, f["extra_specs"])["mine:thing"] != "x" {
			t.Fatalf("2.61 flavor %v", f)
		}
		e.do("DELETE", base+"/mine:thing", alice, "", nil).wantFault(t, 403, "")
		e.do("DELETE", base+"/mine:thing", admin, "", nil).want(t, 200)
		e.do("DELETE", base+"/mine:thing", admin, "", nil).wantFault(t, 404, "Flavor 1 has no extra specs with key mine:thing.")
		e.addNode("c1", 8, 16384, 200)
		server := e.boot(t, alice, "vm")
		r = e.do("GET", "/v2.1/servers/"+server, alice, "2.47", nil)
		if specs := obj(t, obj(t, obj(t, r.Body["server"])["flavor"])["extra_specs"]); specs["plain"] != "x" {
			t.Fatalf("server flavor specs %s", r.Raw)
		}
	})
}

func TestFlavorAccess(t *testing.T) {
	runBoth93(t, func(t *testing.T, e *env) {
		e.do("POST", "/v2.1/flavors", admin, "", flavorBody("private", map[string]any{"id": "p1", "os-flavor-access:is_public": false})).want(t, 200)
		add := map[string]any{"addTenantAccess": map[string]any{"tenant": "proj-a"}}
		e.do("GET", "/v2.1/flavors/p1", alice, "", nil).wantFault(t, 404, "Flavor p1 could not be found.")
		e.do("POST", "/v2.1/flavors/p1/action", alice, "", add).wantFault(t, 403, "")
		e.do("POST", "/v2.1/flavors/p1/action", admin, "", map[string]any{"addTenantAccess": map[string]any{}}).wantFault(t, 400, "")
		e.do("POST", "/v2.1/flavors/zz/action", admin, "", map[string]any{"addTenantAccess": map[string]any{"tenant": ""}}).wantFault(t, 400, "")
		e.do("POST", "/v2.1/flavors/p1/action", admin, "", map[string]any{"frob": 1}).wantFault(t, 400, "There is no such action: frob")
		r := e.do("POST", "/v2.1/flavors/p1/action", admin, "", add)
		r.want(t, 200)
		acc := obj(t, list(t, r.Body["flavor_access"])[0])
		if acc["flavor_id"] != "p1" || acc["tenant_id"] != "proj-a" {
			t.Fatalf("add %s", r.Raw)
		}
		r = e.do("POST", "/v2.1/flavors/p1/action", admin, "", add)
		if r.wantFault(t, 409, ""); !strings.Contains(string(r.Raw), "Flavor access already exists for flavor") {
			t.Fatalf("second add %s", r.Raw)
		}
		// alice's project now sees it, bob's does not.
		e.do("GET", "/v2.1/flavors/p1", alice, "", nil).want(t, 200)
		if got := ids(t, e.do("GET", "/v2.1/flavors", alice, "", nil).Body["flavors"]); got != "1,2,3,4,5,p1" {
			t.Fatalf("alice lists %s", got)
		}
		e.do("GET", "/v2.1/flavors/p1", bob, "", nil).wantFault(t, 404, "")
		e.addNode("c1", 8, 16384, 200)
		e.do("POST", "/v2.1/servers", bob, "", bootBody("vm", "p1")).wantFault(t, 400, "Invalid flavorRef provided.")
		e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "p1")).want(t, 202)
		r = e.do("GET", "/v2.1/flavors/p1/os-flavor-access", admin, "", nil)
		if len(list(t, r.Body["flavor_access"])) != 1 {
			t.Fatalf("access %s", r.Raw)
		}
		e.do("GET", "/v2.1/flavors/1/os-flavor-access", admin, "", nil).wantFault(t, 404, "Access list not available for public flavors.")
		e.do("POST", "/v2.1/flavors/1/action", admin, "2.7", add).wantFault(t, 409, "Can not add access to a public flavor.")
		rm := map[string]any{"removeTenantAccess": map[string]any{"tenant": "proj-a"}}
		r = e.do("POST", "/v2.1/flavors/p1/action", admin, "", rm)
		if r.want(t, 200); len(list(t, r.Body["flavor_access"])) != 0 {
			t.Fatalf("remove %s", r.Raw)
		}
		r = e.do("POST", "/v2.1/flavors/p1/action", admin, "", rm)
		if r.wantFault(t, 404, ""); !strings.Contains(string(r.Raw), "Flavor access not found for") {
			t.Fatalf("second remove %s", r.Raw)
		}
		e.do("GET", "/v2.1/flavors/p1", alice, "", nil).wantFault(t, 404, "")
	})
}
