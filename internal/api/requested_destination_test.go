package api

import "testing"

// 2.74's host and hypervisor_hostname at create: refused before 2.74 (as
// unexpected keys), admin only by compute:servers:create:requested_destination,
// a host or node no compute node has is nova's 400, and the named host is
// where the server goes (the scheduler still checks it has room).
func TestCreateRequestedDestination(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 8, 16384, 200)
		e.addNode("c2", 8, 16384, 200)
		boot := func(token, v string, extra map[string]any) resp {
			b := bootBody("dest", "1")
			b["server"].(map[string]any)["networks"] = "none"
			for k, val := range extra {
				b["server"].(map[string]any)[k] = val
			}
			return e.do("POST", "/v2.1/servers", token, v, b)
		}
		boot(admin, "2.73", map[string]any{"host": "c2"}).wantFault(t, 400, "")
		boot(alice, "2.74", map[string]any{"host": "c2"}).want(t, 403)
		boot(admin, "2.74", map[string]any{"host": "nohost"}).wantFault(t, 400, "Compute host nohost could not be found.")
		boot(admin, "2.74", map[string]any{"host": "c1", "hypervisor_hostname": "c2"}).wantFault(t, 400, "Compute host c2 could not be found.")
		boot(admin, "2.74", map[string]any{"host": ""}).wantFault(t, 400, "")
		for _, host := range []string{"c2", "c1", "c2"} {
			r := boot(admin, "2.74", map[string]any{"host": host, "hypervisor_hostname": host + ".node"})
			r.want(t, 202)
			id := obj(t, r.Body["server"])["id"].(string)
			s := obj(t, e.do("GET", "/v2.1/servers/"+id, admin, "2.74", nil).Body["server"])
			if s["OS-EXT-SRV-ATTR:host"] != host {
				t.Errorf("server asked for %s is on %v", host, s["OS-EXT-SRV-ATTR:host"])
			}
		}
	})
}
