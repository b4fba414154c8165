package api

import (
	"context"
	"testing"
)

// A create's availability_zone places the server in the zone, as nova:
// refused when no enabled service is in it, "zone:host" for admins only.
func TestCreateServerInAvailabilityZone(t *testing.T) {
	runBothMax(t, func(t *testing.T, e *env) {
		e.infraNode("c1")
		e.infraNode("c2")
		r := e.do("POST", "/v2.1/os-aggregates", admin, "2.1", map[string]any{"aggregate": map[string]any{"name": "a", "availability_zone": "az1"}})
		id := int(obj(t, r.Body["aggregate"])["id"].(float64))
		e.do("POST", aggPath(id)+"/action", admin, "2.1", map[string]any{"add_host": map[string]any{"host": "c2"}}).want(t, 200)

		create := func(token string, zone any) resp {
			srv := map[string]any{"name": "vm", "flavorRef": "1", "imageRef": imageID}
			if zone != nil {
				srv["availability_zone"] = zone
			}
			return e.do("POST", "/v2.1/servers", token, "2.1", map[string]any{"server": srv})
		}
		show := func(r resp) map[string]any {
			t.Helper()
			r.want(t, 202)
			id := obj(t, r.Body["server"])["id"].(string)
			return obj(t, e.do("GET", "/v2.1/servers/"+id, admin, "2.3", nil).Body["server"])
		}
		for i := 0; i < 3; i++ {
			if s := show(create(alice, "az1")); s["OS-EXT-SRV-ATTR:host"] != "c2" || s["OS-EXT-AZ:availability_zone"] != "az1" {
				t.Fatalf("az1 server on %v in %v", s["OS-EXT-SRV-ATTR:host"], s["OS-EXT-AZ:availability_zone"])
			}
			if s := show(create(alice, "nova")); s["OS-EXT-SRV-ATTR:host"] != "c1" || s["OS-EXT-AZ:availability_zone"] != "nova" {
				t.Fatalf("nova server on %v in %v", s["OS-EXT-SRV-ATTR:host"], s["OS-EXT-AZ:availability_zone"])
			}
		}
		create(alice, "elsewhere").wantFault(t, 400, "The requested availability zone is not available")
		create(alice, "az1:c1").wantFault(t, 403, "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.")
		create(admin, "a:b:c:d").wantFault(t, 400, "Invalid input received: Unable to parse availability_zone")
		create(alice, " az1").wantFault(t, 400, "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.")
		if s := show(create(admin, "nova:c2")); s["OS-EXT-SRV-ATTR:host"] != "c2" {
			t.Fatalf("forced to c2: on %v", s["OS-EXT-SRV-ATTR:host"])
		}
		if s := show(create(admin, "az1::c1.example")); s["OS-EXT-SRV-ATTR:host"] != "c1" {
			t.Fatalf("forced to node c1.example: on %v", s["OS-EXT-SRV-ATTR:host"])
		}
		n, err := e.compute.CountInstancesByHost(context.Background(), "c2")
		if err != nil || n != 4 {
			t.Fatalf("c2 holds %d (%v)", n, err)
		}
		// The list's availability_zone filter reads the zone recorded at
		// placement: the three az1 servers.
		r = e.do("GET", "/v2.1/servers?availability_zone=^az1$", alice, "2.83", nil) // a non-admin filter from 2.83
		r.want(t, 200)
		if got := len(list(t, r.Body["servers"])); got != 3 {
			t.Fatalf("availability_zone=az1 lists %d: %s", got, r.Raw)
		}
	})
}
