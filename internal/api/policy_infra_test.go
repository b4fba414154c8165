package api

import (
	"testing"

	"github.com/gonova/gonova/pkg/wsgi/policy"
)

// Each new route checks its nova policy: non-admins are refused under
// nova's defaults, naming the action; a policy file opens one to a role.
func TestPolicyInfraRoutes(t *testing.T) {
	runBothPolicy(t, "", "", func(t *testing.T, e *env, _ *policy.Enforcer, _ string) {
		e.addNode("c1", 4, 4096, 40)
		agg := map[string]any{"aggregate": map[string]any{"name": "a"}}
		host := func(k string) map[string]any { return map[string]any{k: map[string]any{"host": "c1"}} }
		for _, c := range []struct {
			method, path, version string
			body                  any
			action                string
		}{
			{"GET", "/v2.1/os-hypervisors/statistics", "", nil, "os_compute_api:os-hypervisors:statistics"},
			{"GET", "/v2.1/os-hypervisors/1/uptime", "", nil, "os_compute_api:os-hypervisors:uptime"},
			{"GET", "/v2.1/os-hypervisors/c1/search", "", nil, "os_compute_api:os-hypervisors:search"},
			{"GET", "/v2.1/os-hypervisors/c1/servers", "", nil, "os_compute_api:os-hypervisors:servers"},
			{"GET", "/v2.1/os-availability-zone/detail", "", nil, "os_compute_api:os-availability-zone:detail"},
			{"GET", "/v2.1/os-aggregates", "", nil, "os_compute_api:os-aggregates:index"},
			{"POST", "/v2.1/os-aggregates", "", agg, "os_compute_api:os-aggregates:create"},
			{"GET", "/v2.1/os-aggregates/1", "", nil, "os_compute_api:os-aggregates:show"},
			{"PUT", "/v2.1/os-aggregates/1", "", agg, "os_compute_api:os-aggregates:update"},
			{"DELETE", "/v2.1/os-aggregates/1", "", nil, "os_compute_api:os-aggregates:delete"},
			{"POST", "/v2.1/os-aggregates/1/action", "", host("add_host"), "os_compute_api:os-aggregates:add_host"},
			{"POST", "/v2.1/os-aggregates/1/action", "", host("remove_host"), "os_compute_api:os-aggregates:remove_host"},
			{"POST", "/v2.1/os-aggregates/1/action", "", map[string]any{"set_metadata": map[string]any{"metadata": map[string]any{}}},
				"os_compute_api:os-aggregates:set_metadata"},
			{"GET", "/v2.1/os-hosts", "", nil, "os_compute_api:os-hosts:list"},
			{"GET", "/v2.1/os-hosts/c1", "", nil, "os_compute_api:os-hosts:show"},
			{"PUT", "/v2.1/os-hosts/c1", "", map[string]any{"status": "enable"}, "os_compute_api:os-hosts:update"},
			{"GET", "/v2.1/os-hosts/c1/reboot", "", nil, "os_compute_api:os-hosts:reboot"},
			{"GET", "/v2.1/os-hosts/c1/shutdown", "", nil, "os_compute_api:os-hosts:shutdown"},
			{"GET", "/v2.1/os-hosts/c1/startup", "", nil, "os_compute_api:os-hosts:start"},
		} {
			for _, who := range []string{alice, reader, operator} {
				e.do(c.method, c.path, who, c.version, c.body).wantFault(t, 403, refused(c.action))
			}
		}
		// The zone list is every project member's.
		for _, who := range []string{alice, reader} {
			e.do("GET", "/v2.1/os-availability-zone", who, "", nil).want(t, 200)
		}
	})
	runBothPolicy(t, "", `"os_compute_api:os-aggregates:index": "role:operator"
"os_compute_api:os-hypervisors:statistics": "role:operator"
`, func(t *testing.T, e *env, _ *policy.Enforcer, _ string) {
		e.do("GET", "/v2.1/os-aggregates", operator, "", nil).want(t, 200)
		e.do("GET", "/v2.1/os-hypervisors/statistics", operator, "", nil).want(t, 200)
		e.do("GET", "/v2.1/os-aggregates", admin, "", nil).wantFault(t, 403, refused("os_compute_api:os-aggregates:index"))
		e.do("GET", "/v2.1/os-aggregates/1", operator, "", nil).wantFault(t, 403, refused("os_compute_api:os-aggregates:show"))
	})
}
