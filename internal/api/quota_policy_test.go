package api

import "testing"

// The quota, limits, usage and server group routes check nova's rules on
// nova's targets: a reader of proj-a reads its quotas, usage and groups but
// (with the new defaults) creates no group; a policy file's rule replaces
// the default.
func TestQuotaAndServerGroupPolicies(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e, _, _ := policyEnv(t, b, "enforce_new_defaults = true\n",
				`"os_compute_api:os-quota-sets:defaults": "!"`+"\n"+`"os_compute_api:limits": "role:member"`+"\n")
			e.do("GET", "/v2.1/os-quota-sets/proj-a", reader, "", nil).want(t, 200)
			e.do("GET", "/v2.1/os-quota-sets/proj-a/detail", reader, "", nil).want(t, 200)
			e.do("GET", "/v2.1/os-quota-sets/proj-b", reader, "", nil).want(t, 403)
			e.do("GET", "/v2.1/os-quota-sets/proj-a/defaults", reader, "", nil).want(t, 403) // the file's "!"
			e.do("PUT", "/v2.1/os-quota-sets/proj-a", member, "", map[string]any{"quota_set": map[string]any{"cores": 1}}).want(t, 403)
			e.do("GET", "/v2.1/limits", reader, "", nil).want(t, 403) // the file's role:member
			e.do("GET", "/v2.1/limits", member, "", nil).want(t, 200)
			e.do("GET", "/v2.1/os-simple-tenant-usage/proj-a", reader, "", nil).want(t, 200)
			e.do("GET", "/v2.1/os-simple-tenant-usage", reader, "", nil).want(t, 403)
			e.do("POST", "/v2.1/os-server-groups", reader, "", sgBody("g", "affinity")).want(t, 403)
			r := e.do("POST", "/v2.1/os-server-groups", member, "", sgBody("g", "affinity"))
			r.want(t, 200)
			id := obj(t, r.Body["server_group"])["id"].(string)
			e.do("GET", "/v2.1/os-server-groups/"+id, reader, "", nil).want(t, 200)
			e.do("GET", "/v2.1/os-server-groups/"+id, readerB, "", nil).want(t, 403)
			e.do("DELETE", "/v2.1/os-server-groups/"+id, reader, "", nil).want(t, 403)
			e.do("GET", "/v2.1/os-server-groups", reader, "", nil).want(t, 200)
		})
	}
}
