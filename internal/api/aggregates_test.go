package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gonova/gonova/internal/computedb"
)

func aggPath(id any) string { return fmt.Sprintf("/v2.1/os-aggregates/%v", id) }

// The os-aggregates routes on both stores: CRUD, hosts, metadata, nova's
// shapes and refusals.
func TestAggregatesCRUD(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 4, 4096, 40)
		e.addNode("c2", 4, 4096, 40)

		r := e.do("POST", "/v2.1/os-aggregates", admin, "2.1", map[string]any{"aggregate": map[string]any{"name": "agg1", "availability_zone": "az1"}})
		r.want(t, 200)
		a := obj(t, r.Body["aggregate"])
		if a["name"] != "agg1" || a["availability_zone"] != "az1" || a["deleted"] != false || a["deleted_at"] != nil ||
			a["updated_at"] != nil || a["created_at"] == nil {
			t.Fatalf("created %s", r.Raw)
		}
		for _, k := range []string{"hosts", "metadata", "uuid"} {
			if _, ok := a[k]; ok {
				t.Errorf("create at 2.1 shows %q: %s", k, r.Raw)
			}
		}
		id := int(a["id"].(float64))
		e.do("POST", "/v2.1/os-aggregates", admin, "2.1", map[string]any{"aggregate": map[string]any{"name": " agg1 "}}).
			wantFault(t, 400, "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.")
		e.do("POST", "/v2.1/os-aggregates", admin, "2.1", map[string]any{"aggregate": map[string]any{"name": "agg1"}}).
			wantFault(t, 409, "Aggregate agg1 already exists.")

		r = e.do("GET", aggPath(id), admin, "2.41", nil)
		r.want(t, 200)
		a = obj(t, r.Body["aggregate"])
		if uuid.Validate(fmt.Sprint(a["uuid"])) != nil || len(list(t, a["hosts"])) != 0 || obj(t, a["metadata"])["availability_zone"] != "az1" {
			t.Fatalf("show at 2.41 %s", r.Raw)
		}
		if _, ok := obj(t, e.do("GET", aggPath(id), admin, "2.40", nil).Body["aggregate"])["uuid"]; ok {
			t.Error("uuid shown before 2.41")
		}

		r = e.do("POST", aggPath(id)+"/action", admin, "2.1", map[string]any{"add_host": map[string]any{"host": "c1"}})
		r.want(t, 200)
		if hosts := list(t, obj(t, r.Body["aggregate"])["hosts"]); len(hosts) != 1 || hosts[0] != "c1" {
			t.Fatalf("add_host %s", r.Raw)
		}
		e.do("POST", aggPath(id)+"/action", admin, "2.1", map[string]any{"add_host": map[string]any{"host": "c1"}}).
			wantFault(t, 409, fmt.Sprintf("Aggregate %d already has host c1.", id))
		e.do("POST", aggPath(id)+"/action", admin, "2.1", map[string]any{"add_host": map[string]any{"host": "nope"}}).
			wantFault(t, 404, "Compute host nope could not be found.")
		e.do("POST", aggPath(999)+"/action", admin, "2.1", map[string]any{"add_host": map[string]any{"host": "c1"}}).
			wantFault(t, 404, "Aggregate 999 could not be found.")
		e.do("DELETE", aggPath(id), admin, "2.1", nil).
			wantFault(t, 400, fmt.Sprintf("Cannot remove host from aggregate %d. Reason: Host aggregate is not empty.", id))

		r = e.do("POST", aggPath(id)+"/action", admin, "2.1", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"ssd": "true", "gone": nil}}})
		r.want(t, 200)
		if md := obj(t, obj(t, r.Body["aggregate"])["metadata"]); md["ssd"] != "true" || len(md) != 2 {
			t.Fatalf("set_metadata %s", r.Raw)
		}
		r = e.do("PUT", aggPath(id), admin, "2.1", map[string]any{"aggregate": map[string]any{"name": "agg1b"}})
		r.want(t, 200)
		if a := obj(t, r.Body["aggregate"]); a["name"] != "agg1b" || a["updated_at"] == nil {
			t.Fatalf("update %s", r.Raw)
		}
		r = e.do("GET", "/v2.1/os-aggregates", admin, "2.1", nil)
		r.want(t, 200)
		if aggs := list(t, r.Body["aggregates"]); len(aggs) != 1 || obj(t, aggs[0])["name"] != "agg1b" || len(list(t, obj(t, aggs[0])["hosts"])) != 1 {
			t.Fatalf("index %s", r.Raw)
		}

		e.do("POST", aggPath(id)+"/action", admin, "2.1", map[string]any{"remove_host": map[string]any{"host": "c2"}}).
			wantFault(t, 404, fmt.Sprintf("Cannot remove host c2 in aggregate %d", id))
		e.do("POST", aggPath(id)+"/action", admin, "2.1", map[string]any{"remove_host": map[string]any{"host": "c1"}}).want(t, 200)
		r = e.do("DELETE", aggPath(id), admin, "2.1", nil)
		r.want(t, 200)
		if len(r.Raw) != 0 {
			t.Errorf("delete body %q", r.Raw)
		}
		e.do("GET", aggPath(id), admin, "2.1", nil).wantFault(t, 404, fmt.Sprintf("Aggregate %d could not be found.", id))
		e.do("DELETE", aggPath(id), admin, "2.1", nil).wantFault(t, 404, fmt.Sprintf("Aggregate %d could not be found.", id))
	})
}

// Bodies and ids are refused with nova's messages, before any lookup.
func TestAggregatesValidation(t *testing.T) {
	e := newEnv(t, memBackend)
	agg := func(body any) resp { return e.do("POST", "/v2.1/os-aggregates", admin, "2.1", body) }
	agg(map[string]any{}).wantFault(t, 400, "'aggregate' is a required property")
	agg(map[string]any{"aggregate": map[string]any{}}).wantFault(t, 400, "Invalid input for field/attribute aggregate. Value: {}. 'name' is a required property")
	agg(map[string]any{"aggregate": map[string]any{"name": "a", "x": 1}}).wantFault(t, 400, "Invalid input for field/attribute aggregate. Value: {'name': 'a', 'x': 1}. Additional properties are not allowed ('x' was unexpected)")
	agg(map[string]any{"aggregate": map[string]any{"name": "a", "availability_zone": "a:b"}}).
		wantFault(t, 400, "Invalid input for field/attribute availability_zone. Value: a:b. 'a:b' is not valid under any of the given schemas")
	agg(map[string]any{"aggregate": map[string]any{"name": 5}}).wantFault(t, 400, "Invalid input for field/attribute name. Value: 5. 5 is not of type 'string'")
	agg(map[string]any{"aggregate": map[string]any{"name": strings.Repeat("x", 256)}}).want(t, 400)
	agg(map[string]any{"aggregate": map[string]any{"name": "a", "availability_zone": nil}}).want(t, 200)

	e.do("GET", "/v2.1/os-aggregates/abc", admin, "2.1", nil).wantFault(t, 400, "Invalid input received: id must be an integer")
	e.do("GET", "/v2.1/os-aggregates/99999999999999999999", admin, "2.1", nil).want(t, 404)
	e.do("PUT", "/v2.1/os-aggregates/1", admin, "2.1", map[string]any{"aggregate": map[string]any{}}).
		wantFault(t, 400, "Invalid input for field/attribute aggregate. Value: {}. {} is not valid under any of the given schemas")
	e.do("PUT", "/v2.1/os-aggregates/1", admin, "2.1", map[string]any{"aggregate": map[string]any{"availability_zone": nil}}).
		wantFault(t, 400, "Cannot update aggregate 1. Reason: Aggregate a does not support empty named availability zone.")
	e.do("PUT", "/v2.1/os-aggregates/77", admin, "2.1", map[string]any{"aggregate": map[string]any{"name": "x"}}).
		wantFault(t, 404, "Aggregate 77 could not be found.")
	act := func(body any) resp { return e.do("POST", "/v2.1/os-aggregates/1/action", admin, "2.1", body) }
	act(map[string]any{"frob": map[string]any{}}).wantFault(t, 400, "There is no such action: frob")
	act(map[string]any{"add_host": map[string]any{}, "remove_host": map[string]any{}}).wantFault(t, 400, "Malformed message body: too many body keys")
	act(map[string]any{"add_host": map[string]any{"host": "bad host"}}).want(t, 400)
	act(map[string]any{"add_host": map[string]any{}}).wantFault(t, 400, "Invalid input for field/attribute add_host. Value: {}. 'host' is a required property")
	act(map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"k": 1}}}).
		wantFault(t, 400, "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string', 'null'")
	act(map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"bad/key": "v"}}}).
		wantFault(t, 400, "Invalid input for field/attribute metadata. Value: {'bad/key': 'v'}. 'bad/key' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'")
	e.do("PUT", "/v2.1/os-aggregates/1", admin, "2.1", map[string]any{"aggregate": map[string]any{"name": "  "}}).
		wantFault(t, 400, "An invalid 'name' value was provided. The name must be: printable characters with at least one non space character")
	agg(map[string]any{"aggregate": map[string]any{"name": "a"}, "y": 1}).wantFault(t, 400, "Additional properties are not allowed ('y' was unexpected)")
	act(map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"availability_zone": nil}}}).
		wantFault(t, 400, "Cannot update metadata of aggregate 1. Reason: Aggregate a does not support empty named availability zone.")

	// Non-admins are refused by nova's default policy.
	for _, c := range []struct{ method, path string }{{"GET", "/v2.1/os-aggregates"}, {"GET", "/v2.1/os-aggregates/1"},
		{"DELETE", "/v2.1/os-aggregates/1"}} {
		e.do(c.method, c.path, alice, "2.1", nil).want(t, 403)
	}
	e.do("POST", "/v2.1/os-aggregates", alice, "2.1", map[string]any{"aggregate": map[string]any{"name": "b"}}).want(t, 403)
	act2 := e.do("POST", "/v2.1/os-aggregates/1/action", alice, "2.1", map[string]any{"add_host": map[string]any{"host": "h"}})
	act2.want(t, 403)
}

// Availability zones come from aggregates: the services' zone, the zone
// list, the server's zone; nova's conflicts are refused.
func TestAvailabilityZonesFromAggregates(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 4, 4096, 40)
		e.addNode("c2", 4, 4096, 40)
		e.addService("cond1", "nova-conductor")
		e.addService("api1", "nova-osapi_compute")

		r := e.do("GET", "/v2.1/os-availability-zone", alice, "2.1", nil)
		r.want(t, 200)
		if zs := list(t, r.Body["availabilityZoneInfo"]); len(zs) != 1 || obj(t, zs[0])["zoneName"] != "nova" ||
			obj(t, obj(t, zs[0])["zoneState"])["available"] != true || obj(t, zs[0])["hosts"] != nil {
			t.Fatalf("zones %s", r.Raw)
		}

		r = e.do("POST", "/v2.1/os-aggregates", admin, "2.1", map[string]any{"aggregate": map[string]any{"name": "a1", "availability_zone": "az1"}})
		id := int(obj(t, r.Body["aggregate"])["id"].(float64))
		e.do("POST", aggPath(id)+"/action", admin, "2.1", map[string]any{"add_host": map[string]any{"host": "c1"}}).want(t, 200)
		r = e.do("POST", "/v2.1/os-aggregates", admin, "2.1", map[string]any{"aggregate": map[string]any{"name": "a2", "availability_zone": "az2"}})
		id2 := int(obj(t, r.Body["aggregate"])["id"].(float64))
		e.do("POST", aggPath(id2)+"/action", admin, "2.1", map[string]any{"add_host": map[string]any{"host": "c1"}}).
			wantFault(t, 409, fmt.Sprintf("Cannot add host to aggregate %d. Reason: One or more hosts already in availability zone(s) ['az1'].", id2))
		e.do("POST", aggPath(id2)+"/action", admin, "2.1", map[string]any{"add_host": map[string]any{"host": "c2"}}).want(t, 200)
		e.do("PUT", aggPath(id2), admin, "2.1", map[string]any{"aggregate": map[string]any{"availability_zone": "az1"}}).want(t, 200)
		e.do("PUT", aggPath(id2), admin, "2.1", map[string]any{"aggregate": map[string]any{"availability_zone": "az2"}}).want(t, 200)

		r = e.do("GET", "/v2.1/os-services", admin, "2.1", nil)
		zones := map[string]string{}
		for _, s := range list(t, r.Body["services"]) {
			zones[obj(t, s)["host"].(string)] = obj(t, s)["zone"].(string)
		}
		if zones["c1"] != "az1" || zones["c2"] != "az2" || zones["cond1"] != "internal" {
			t.Fatalf("service zones %v", zones)
		}

		r = e.do("GET", "/v2.1/os-availability-zone", alice, "2.1", nil)
		var names []string
		for _, z := range list(t, r.Body["availabilityZoneInfo"]) {
			names = append(names, obj(t, z)["zoneName"].(string))
		}
		if strings.Join(names, ",") != "az1,az2" {
			t.Fatalf("zones %v (%s)", names, r.Raw)
		}
		r = e.do("GET", "/v2.1/os-availability-zone/detail", admin, "2.1", nil)
		r.want(t, 200)
		byName := map[string]map[string]any{}
		for _, z := range list(t, r.Body["availabilityZoneInfo"]) {
			byName[obj(t, z)["zoneName"].(string)] = obj(t, z)
		}
		c1 := obj(t, obj(t, byName["az1"]["hosts"])["c1"])
		cmp := obj(t, c1["nova-compute"])
		if cmp["available"] != true || cmp["active"] != true || cmp["updated_at"] == nil {
			t.Fatalf("az1 detail %v", byName["az1"])
		}
		internal := obj(t, byName["internal"]["hosts"])
		if _, ok := internal["cond1"]; !ok || len(internal) != 1 {
			t.Fatalf("internal zone hosts %v: want the conductor, not the API", internal)
		}
		e.do("GET", "/v2.1/os-availability-zone/detail", alice, "2.1", nil).want(t, 403)

		// A server on c1 shows az1; the zone of a host with instances
		// cannot change.
		in, err := e.compute.CreateInstance(context.Background(), computedb.Instance{DisplayName: "vm", ProjectID: "proj-a", UserID: "alice", Host: "c1", Node: "c1.node"})
		if err != nil {
			t.Fatal(err)
		}
		r = e.do("GET", "/v2.1/servers/"+in.UUID, alice, "2.1", nil)
		if z := obj(t, r.Body["server"])["OS-EXT-AZ:availability_zone"]; z != "az1" {
			t.Fatalf("server zone %v", z)
		}
		e.do("POST", aggPath(id)+"/action", admin, "2.1", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{"availability_zone": "az9"}}}).
			wantFault(t, 400, fmt.Sprintf("Cannot update metadata of aggregate %d. Reason: One or more hosts contain instances in this zone.", id))
	})
}
