package api

import (
	"context"
	"slices"
	"testing"
)

func sgBody(name string, policies ...string) map[string]any {
	if policies == nil {
		policies = []string{}
	}
	return map[string]any{"server_group": map[string]any{"name": name, "policies": policies}}
}

func sgBody264(name, policy string, rules map[string]any) map[string]any {
	g := map[string]any{"name": name, "policy": policy}
	if rules != nil {
		g["rules"] = rules
	}
	return map[string]any{"server_group": g}
}

func TestServerGroupsCRUDByMicroversion(t *testing.T) {
	runBoth293(t, func(t *testing.T, e *env) {
		r := e.do("POST", "/v2.1/os-server-groups", alice, "2.1", sgBody("g1", "anti-affinity"))
		r.want(t, 200)
		g := obj(t, r.Body["server_group"])
		id := g["id"].(string)
		if got := sortedKeysOf(g); !slices.Equal(got, []string{"id", "members", "metadata", "name", "policies"}) {
			t.Errorf("2.1 keys %v", got)
		}
		if g["name"] != "g1" || list(t, g["policies"])[0] != "anti-affinity" || len(list(t, g["members"])) != 0 {
			t.Errorf("2.1 body %s", r.Raw)
		}
		g = obj(t, e.do("GET", "/v2.1/os-server-groups/"+id, alice, "2.13", nil).Body["server_group"])
		if g["project_id"] != "proj-a" || g["user_id"] != "alice" {
			t.Errorf("2.13 show %v", g)
		}
		g = obj(t, e.do("GET", "/v2.1/os-server-groups/"+id, alice, "2.64", nil).Body["server_group"])
		if got := sortedKeysOf(g); !slices.Equal(got, []string{"id", "members", "name", "policy", "project_id", "rules", "user_id"}) {
			t.Errorf("2.64 keys %v", got)
		}
		if g["policy"] != "anti-affinity" || len(obj(t, g["rules"])) != 0 {
			t.Errorf("2.64 show %v", g)
		}

		// Validation, per microversion.
		e.do("POST", "/v2.1/os-server-groups", alice, "2.14", sgBody("g", "soft-affinity")).wantFault(t, 400,
			"Invalid input for field/attribute 0. Value: soft-affinity. 'soft-affinity' is not one of ['anti-affinity', 'affinity']")
		e.do("POST", "/v2.1/os-server-groups", alice, "2.15", sgBody("g", "soft-affinity")).want(t, 200)
		e.do("POST", "/v2.1/os-server-groups", alice, "2.15", sgBody("g", "affinity", "anti-affinity")).wantFault(t, 400,
			"Invalid input for field/attribute policies. Value: ['affinity', 'anti-affinity']. ['affinity', 'anti-affinity'] is too long")
		e.do("POST", "/v2.1/os-server-groups", alice, "2.15", sgBody("g")).wantFault(t, 400,
			"Invalid input for field/attribute policies. Value: []. [] is too short")
		e.do("POST", "/v2.1/os-server-groups", alice, "2.64", sgBody("g", "affinity")).wantFault(t, 400,
			"Invalid input for field/attribute server_group. Value: {'name': 'g', 'policies': ['affinity']}. 'policy' is a required property")
		e.do("POST", "/v2.1/os-server-groups", alice, "2.64", sgBody264("g", "affinity", map[string]any{"max_server_per_host": 2})).wantFault(t, 400,
			"Only anti-affinity policy supports rules.")
		e.do("POST", "/v2.1/os-server-groups", alice, "2.64", sgBody264("g", "anti-affinity", map[string]any{"max_server_per_host": 0})).want(t, 400)
		e.do("POST", "/v2.1/os-server-groups", alice, "2.64", sgBody264("g", "anti-affinity", map[string]any{"other": 1})).want(t, 400)
		r = e.do("POST", "/v2.1/os-server-groups", alice, "2.64", sgBody264("g2", "anti-affinity", map[string]any{"max_server_per_host": "3"}))
		r.want(t, 200)
		if rules := obj(t, obj(t, r.Body["server_group"])["rules"]); rules["max_server_per_host"] != 3.0 {
			t.Errorf("rules %s", r.Raw)
		}

		// List: the caller's project; all_projects for an admin.
		e.do("POST", "/v2.1/os-server-groups", bob, "", sgBody("bg", "affinity")).want(t, 200)
		if n := len(list(t, e.do("GET", "/v2.1/os-server-groups", alice, "", nil).Body["server_groups"])); n != 3 {
			t.Errorf("alice lists %d groups", n)
		}
		if n := len(list(t, e.do("GET", "/v2.1/os-server-groups?all_projects=1", alice, "", nil).Body["server_groups"])); n != 3 {
			t.Errorf("all_projects is for admins: alice lists %d", n)
		}
		if n := len(list(t, e.do("GET", "/v2.1/os-server-groups?all_projects=1", admin, "", nil).Body["server_groups"])); n != 4 {
			t.Errorf("admin all_projects lists %d", n)
		}
		page := list(t, e.do("GET", "/v2.1/os-server-groups?limit=1&offset=1", alice, "", nil).Body["server_groups"])
		if len(page) != 1 || obj(t, page[0])["name"] != "g" {
			t.Errorf("limit=1&offset=1: %v", page)
		}
		e.do("GET", "/v2.1/os-server-groups?limit=x", alice, "", nil).wantFault(t, 400,
			"Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'")
		e.do("GET", "/v2.1/os-server-groups?bogus=1", alice, "2.75", nil).want(t, 400)

		// Another project's group: the policy refuses; unknown is 404.
		e.do("GET", "/v2.1/os-server-groups/"+id, bob, "", nil).want(t, 403)
		e.do("DELETE", "/v2.1/os-server-groups/"+id, bob, "", nil).want(t, 403)
		missing := "3c1ae6e8-9e2f-4c41-9f0e-6a8f3b0d2a11"
		e.do("GET", "/v2.1/os-server-groups/"+missing, alice, "", nil).wantFault(t, 404, "Instance group "+missing+" could not be found.")
		e.do("DELETE", "/v2.1/os-server-groups/"+id, alice, "", nil).want(t, 204)
		e.do("GET", "/v2.1/os-server-groups/"+id, alice, "", nil).want(t, 404)
	})
}

func TestServerGroupsQuota(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.do("PUT", "/v2.1/os-quota-sets/proj-a", admin, "", map[string]any{"quota_set": map[string]any{"server_groups": 1, "server_group_members": 1}}).want(t, 200)
		r := e.do("POST", "/v2.1/os-server-groups", alice, "", sgBody("g", "affinity"))
		r.want(t, 200)
		id := obj(t, r.Body["server_group"])["id"].(string)
		e.do("POST", "/v2.1/os-server-groups", alice, "", sgBody("g2", "affinity")).wantFault(t, 403, "Quota exceeded, too many server groups.")
		abs := obj(t, obj(t, e.do("GET", "/v2.1/limits", alice, "", nil).Body["limits"])["absolute"])
		if abs["totalServerGroupsUsed"] != 1.0 || abs["maxServerGroups"] != 1.0 {
			t.Errorf("limits %v", abs)
		}
		e.addNode("h1", 64, 1<<20, 1000)
		body := bootBody("m1", "1")
		body["os:scheduler_hints"] = map[string]any{"group": id}
		e.do("POST", "/v2.1/servers", alice, "", body).want(t, 202)
		e.do("POST", "/v2.1/servers", alice, "", body).wantFault(t, 403, "Quota exceeded, too many servers in group")
		body["os:scheduler_hints"] = map[string]any{"group": "nope"}
		e.do("POST", "/v2.1/servers", alice, "", body).wantFault(t, 400,
			"Invalid input for field/attribute group. Value: nope. 'nope' is not a 'uuid'")
		missing := "3c1ae6e8-9e2f-4c41-9f0e-6a8f3b0d2a11"
		body["os:scheduler_hints"] = map[string]any{"group": missing}
		e.do("POST", "/v2.1/servers", alice, "", body).wantFault(t, 400, "Instance group "+missing+" could not be found.")
	})
}

func TestServerGroupPoliciesPlaceMembers(t *testing.T) {
	runBoth293(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.addNode("h1", 64, 1<<20, 1000)
		e.addNode("h2", 64, 1<<20, 1000)
		e.do("PUT", "/v2.1/os-quota-sets/proj-a", admin, "", map[string]any{"quota_set": map[string]any{"instances": -1, "cores": -1}}).want(t, 200)
		boot := func(group, name string) (string, string, string) {
			t.Helper()
			body := bootBody(name, "1")
			body["os:scheduler_hints"] = map[string]any{"group": group}
			r := e.do("POST", "/v2.1/servers", alice, "", body)
			r.want(t, 202)
			id := obj(t, r.Body["server"])["id"].(string)
			in, err := e.compute.GetInstance(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			msg := ""
			if in.Fault != nil {
				msg = in.Fault.Message
			}
			return id, in.Host, msg
		}
		group := func(policy string, rules map[string]any) string {
			r := e.do("POST", "/v2.1/os-server-groups", alice, "2.64", sgBody264(policy, policy, rules))
			r.want(t, 200)
			return obj(t, r.Body["server_group"])["id"].(string)
		}

		anti := group("anti-affinity", nil)
		_, h1, _ := boot(anti, "a1")
		_, h2, _ := boot(anti, "a2")
		if h1 == "" || h2 == "" || h1 == h2 {
			t.Fatalf("anti-affinity members on %q and %q", h1, h2)
		}
		id3, h3, fault := boot(anti, "a3")
		if h3 != "" || fault != "No valid host was found. There are not enough hosts available." {
			t.Fatalf("third anti-affinity member on 2 hosts: host %q fault %q", h3, fault)
		}
		if in, _ := e.compute.GetInstance(ctx, id3); in.VMState != "error" {
			t.Fatalf("NoValidHost member %+v", in)
		}
		g := obj(t, e.do("GET", "/v2.1/os-server-groups/"+anti, alice, "", nil).Body["server_group"])
		if len(list(t, g["members"])) != 3 {
			t.Errorf("members %v", g["members"])
		}

		two := group("anti-affinity", map[string]any{"max_server_per_host": 2})
		hosts := map[string]int{}
		for _, n := range []string{"t1", "t2", "t3", "t4"} {
			_, h, _ := boot(two, n)
			hosts[h]++
		}
		if hosts["h1"] != 2 || hosts["h2"] != 2 {
			t.Errorf("max_server_per_host 2: %v", hosts)
		}

		aff := group("affinity", nil)
		first, hf, _ := boot(aff, "f1")
		for _, n := range []string{"f2", "f3"} {
			if _, h, _ := boot(aff, n); h != hf {
				t.Errorf("affinity member on %q, first on %q", h, hf)
			}
		}
		soft := group("soft-anti-affinity", nil)
		_, s1, _ := boot(soft, "s1")
		_, s2, _ := boot(soft, "s2")
		_, s3, _ := boot(soft, "s3")
		if s1 == s2 || s3 == "" {
			t.Errorf("soft-anti-affinity on %q %q %q", s1, s2, s3)
		}
		softAff := group("soft-affinity", nil)
		_, p1, _ := boot(softAff, "p1")
		if _, p2, _ := boot(softAff, "p2"); p2 != p1 {
			t.Errorf("soft-affinity on %q then %q", p1, p2)
		}

		// 2.71: the group in server show.
		r := e.do("GET", "/v2.1/servers/"+first, alice, "2.71", nil)
		if sg := list(t, obj(t, r.Body["server"])["server_groups"]); len(sg) != 1 || sg[0] != aff {
			t.Errorf("2.71 server_groups %v", sg)
		}
		if _, ok := obj(t, e.do("GET", "/v2.1/servers/"+first, alice, "2.70", nil).Body["server"])["server_groups"]; ok {
			t.Error("server_groups before 2.71")
		}
		r = e.do("POST", "/v2.1/servers", alice, "", bootBody("lone", "1"))
		lone := obj(t, r.Body["server"])["id"].(string)
		if sg := list(t, obj(t, e.do("GET", "/v2.1/servers/"+lone, alice, "2.71", nil).Body["server"])["server_groups"]); len(sg) != 0 {
			t.Errorf("a server of no group: %v", sg)
		}
	})
}
