package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// os-instance-actions at each microversion branch: the list (2.58 paging,
// changes-since, 2.66 changes-before, the strict query), show with events
// (admin always with traceback; others from 2.51 without; 2.62 host and
// hostId; 2.84 details), and 2.21's deleted servers.
func TestInstanceActions(t *testing.T) {
	runBothActions(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := e.launched(t, alice, "vm")
		path := "/v2.1/servers/" + id + "/os-instance-actions"
		e.do("POST", "/v2.1/servers/"+id+"/action", alice, "", actionBody("os-stop")).want(t, 202)
		r := e.do("GET", path, alice, "", nil)
		r.want(t, 200)
		acts := list(t, r.Body["instanceActions"])
		if len(acts) != 2 {
			t.Fatalf("actions %s", r.Raw)
		}
		stop := obj(t, acts[0])
		reqID := stop["request_id"].(string)
		if stop["action"] != "stop" || stop["instance_uuid"] != id || stop["user_id"] != "alice" || stop["project_id"] != "proj-a" ||
			stop["message"] != nil || !strings.HasPrefix(reqID, "req-") || len(stop) != 7 {
			t.Fatalf("stop action %v", stop)
		}
		if _, err := time.Parse(novaTimeLayout, stop["start_time"].(string)); err != nil {
			t.Errorf("start_time %v", stop["start_time"])
		}
		// The compute's event, as a compute records it.
		if _, err := e.compute.StartEvent(ctx, computedb.EventRecord{InstanceUUID: id, RequestID: reqID, Event: "compute_stop_instance", Host: "c1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.compute.FinishEvent(ctx, computedb.EventRecord{InstanceUUID: id, RequestID: reqID, Event: "compute_stop_instance",
			Result: computedb.EventError, Traceback: "Traceback: x", Details: "x"}); err != nil {
			t.Fatal(err)
		}
		show := func(token, v string) map[string]any {
			t.Helper()
			r := e.do("GET", path+"/"+reqID, token, v, nil)
			r.want(t, 200)
			return obj(t, r.Body["instanceAction"])
		}
		if a := show(alice, "2.50"); a["events"] != nil || a["message"] != "Error" {
			t.Errorf("owner at 2.50: %v", a)
		}
		ev := func(a map[string]any) map[string]any { return obj(t, list(t, a["events"])[0]) }
		if e1 := ev(show(alice, "2.51")); e1["event"] != "compute_stop_instance" || e1["result"] != "Error" || e1["finish_time"] == nil ||
			len(e1) != 4 {
			t.Errorf("owner's event at 2.51: %v", e1)
		}
		if e1 := ev(show(admin, "2.1")); e1["traceback"] != "Traceback: x" || len(e1) != 5 {
			t.Errorf("admin's event at 2.1: %v", e1)
		}
		if e1 := ev(show(admin, "2.62")); e1["host"] != "c1" || e1["hostId"] != hostID("c1", "proj-a") || len(e1) != 7 {
			t.Errorf("admin's event at 2.62: %v", e1)
		}
		if e1 := ev(show(alice, "2.62")); e1["hostId"] != hostID("c1", "proj-a") || e1["host"] != nil || len(e1) != 5 {
			t.Errorf("owner's event at 2.62: %v", e1)
		}
		if e1 := ev(show(admin, "2.84")); e1["details"] != "x" || len(e1) != 8 {
			t.Errorf("admin's event at 2.84: %v", e1)
		}
		if e1 := ev(show(alice, "2.84")); e1["details"] != nil {
			t.Errorf("owner's event at 2.84 has details: %v", e1)
		}
		if a := show(alice, "2.58"); a["updated_at"] == nil {
			t.Errorf("no updated_at at 2.58: %v", a)
		}
		e.do("GET", path+"/req-none", alice, "", nil).wantFault(t, 404, "Action req-none not found")
		e.do("GET", path, bob, "", nil).wantFault(t, 404, "Instance "+id+" could not be found.")

		// 2.58: paging by request id, a next link on a full page, and
		// the strict query.
		r = e.do("GET", path+"?limit=1", alice, "2.58", nil)
		r.want(t, 200)
		if len(list(t, r.Body["instanceActions"])) != 1 || r.Body["links"] == nil ||
			!strings.Contains(obj(t, list(t, r.Body["links"])[0])["href"].(string), "marker="+reqID) {
			t.Fatalf("page 1: %s", r.Raw)
		}
		r = e.do("GET", path+"?limit=1&marker="+reqID, alice, "2.58", nil)
		if a := list(t, r.Body["instanceActions"]); len(a) != 1 || obj(t, a[0])["action"] != "create" {
			t.Fatalf("page 2: %s", r.Raw)
		}
		e.do("GET", path+"?marker=req-none", alice, "2.58", nil).wantFault(t, 400, "Marker req-none could not be found.")
		e.do("GET", path+"?foo=1", alice, "2.58", nil).wantFault(t, 400, "Additional properties are not allowed ('foo' was unexpected)")
		e.do("GET", path+"?foo=1", alice, "2.57", nil).want(t, 200) // not validated before 2.58
		e.do("GET", path+"?changes-before=2000-01-01", alice, "2.65", nil).wantFault(t, 400, "")
		e.do("GET", path+"?changes-since=x", alice, "2.58", nil).wantFault(t, 400, "Invalid input for query parameters changes-since. Value: x. 'x' is not a 'date-time'")
		if a := list(t, e.do("GET", path+"?changes-since=2999-01-01T00:00:00Z", alice, "2.58", nil).Body["instanceActions"]); len(a) != 0 {
			t.Errorf("changes-since in the future: %v", a)
		}
		if a := list(t, e.do("GET", path+"?changes-before=2000-01-01T00:00:00Z", alice, "2.66", nil).Body["instanceActions"]); len(a) != 0 {
			t.Errorf("changes-before in the past: %v", a)
		}
		e.do("GET", path+"?changes-since=2020-01-02T00:00:00Z&changes-before=2020-01-01T00:00:00Z", alice, "2.66", nil).
			wantFault(t, 400, "The value of changes-since must be less than or equal to changes-before.")

		// A deleted server's actions from 2.21.
		e.setState(t, id, "active", "", 1)
		e.do("DELETE", "/v2.1/servers/"+id, alice, "", nil).want(t, 204)
		if err := e.compute.DeleteInstance(ctx, id); err != nil && err != computedb.ErrNotFound {
			t.Fatal(err)
		}
		e.do("GET", path, alice, "2.20", nil).wantFault(t, 404, "")
		r = e.do("GET", path, alice, "2.21", nil)
		r.want(t, 200)
		if a := list(t, r.Body["instanceActions"]); len(a) != 3 || obj(t, a[0])["action"] != "delete" {
			t.Errorf("deleted server's actions: %s", r.Raw)
		}
	})
}

// PUT /servers/{id}: name and 2.19 description, validation before the
// lookup, the 2.75 view; rebuild's body and answer.
func TestServerUpdateAndRebuild(t *testing.T) {
	runBothActions(t, func(t *testing.T, e *env) {
		id := e.launched(t, alice, "vm")
		put := func(v string, body any) resp { return e.do("PUT", "/v2.1/servers/"+id, alice, v, body) }
		r := put("2.19", map[string]any{"server": map[string]any{"name": "renamed", "description": "about it"}})
		r.want(t, 200)
		s := obj(t, r.Body["server"])
		if s["name"] != "renamed" || s["description"] != "about it" {
			t.Fatalf("updated %v", s)
		}
		if _, ok := s["OS-EXT-STS:vm_state"]; ok {
			t.Error("OS-EXT-STS shown by PUT before 2.75")
		}
		s = obj(t, put("2.75", map[string]any{"server": map[string]any{"description": nil}}).Body["server"])
		if s["description"] != nil || s["OS-EXT-STS:vm_state"] != "active" || s["name"] != "renamed" {
			t.Errorf("at 2.75: %v", s)
		}
		unknown := "/v2.1/servers/8a3b44a1-0000-4000-8000-000000000000"
		for _, c := range []struct {
			v    string
			body any
			msg  string
		}{
			{"2.18", map[string]any{"server": map[string]any{"description": "x"}}, "Additional properties are not allowed ('description' was unexpected)"},
			{"2.19", map[string]any{"server": map[string]any{"name": ""}}, ""},
			{"2.19", map[string]any{"server": map[string]any{"description": strings.Repeat("d", 256)}}, ""},
			{"2.19", map[string]any{"server": map[string]any{"accessIPv4": "::1"}}, ""},
			{"2.19", map[string]any{"nope": map[string]any{}}, ""},
			{"2.90", map[string]any{"server": map[string]any{"hostname": "h h"}}, ""},
			{"2.89", map[string]any{"server": map[string]any{"hostname": "h"}}, ""},
		} {
			put(c.v, c.body).wantFault(t, 400, "")
			e.do("PUT", unknown, alice, c.v, c.body).wantFault(t, 400, "")
		}
		e.do("PUT", unknown, alice, "", map[string]any{"server": map[string]any{"name": "x"}}).wantFault(t, 404, "")
		// 2.90: the hostname is set, and shown to its owner.
		if s := obj(t, put("2.90", map[string]any{"server": map[string]any{"hostname": "web-01.example"}}).Body["server"]); s["OS-EXT-SRV-ATTR:hostname"] != "web-01.example" {
			t.Errorf("hostname at 2.90: %v", s["OS-EXT-SRV-ATTR:hostname"])
		}
		e.do("PUT", "/v2.1/servers/"+id, bob, "", map[string]any{"server": map[string]any{"name": "x"}}).wantFault(t, 404, "")

		// Rebuild: 202 with the server and its adminPass; the cast; task
		// rebuilding (status REBUILD).
		const image2 = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
		act := "/v2.1/servers/" + id + "/action"
		r = e.do("POST", act, alice, "2.57", map[string]any{"rebuild": map[string]any{"imageRef": image2, "name": "again",
			"adminPass": "secret", "metadata": map[string]any{"a": "b"}, "description": "rebuilt", "preserve_ephemeral": false}})
		r.want(t, 202)
		s = obj(t, r.Body["server"])
		if s["adminPass"] != "secret" || s["name"] != "again" || s["status"] != "REBUILD" || obj(t, s["image"])["id"] != image2 ||
			obj(t, s["metadata"])["a"] != "b" || s["description"] != "rebuilt" {
			t.Fatalf("rebuild answer %v", s)
		}
		if _, ok := s["OS-EXT-STS:task_state"]; ok {
			t.Error("OS-EXT-STS shown by rebuild before 2.75")
		}
		if last := e.rpc.Calls()[len(e.rpc.Calls())-1]; last.Method != "rebuild_instance" || last.Host != "c1" {
			t.Errorf("cast %+v", last)
		}
		e.do("POST", act, alice, "", map[string]any{"rebuild": map[string]any{"imageRef": image2}}).
			wantFault(t, 409, "Cannot 'rebuild' instance "+id+" while it is in task_state rebuilding")
		e.setState(t, id, "active", "", 1)
		r = e.do("POST", act, alice, "2.75", map[string]any{"rebuild": map[string]any{"imageRef": imageID}})
		r.want(t, 202)
		if s := obj(t, r.Body["server"]); s["OS-EXT-STS:task_state"] != "rebuilding" || len(s["adminPass"].(string)) != 12 {
			t.Errorf("rebuild at 2.75: %v", s)
		}
		e.setState(t, id, "active", "", 1)
		for _, c := range []struct {
			v    string
			body map[string]any
		}{
			{"2.1", map[string]any{}},                                         // imageRef required
			{"2.1", map[string]any{"imageRef": "not-a-uuid"}},                 // a uuid
			{"2.18", map[string]any{"imageRef": imageID, "description": "x"}}, // 2.19
			{"2.53", map[string]any{"imageRef": imageID, "key_name": "k"}},    // 2.54
			{"2.57", map[string]any{"imageRef": imageID, "personality": []any{}}},
			{"2.57", map[string]any{"imageRef": imageID, "user_data": "aGk="}},
			{"2.63", map[string]any{"imageRef": imageID, "trusted_image_certificates": []any{"c"}}},
			{"2.62", map[string]any{"imageRef": imageID, "trusted_image_certificates": nil}},
			{"2.89", map[string]any{"imageRef": imageID, "hostname": "h"}},
			{"2.90", map[string]any{"imageRef": imageID, "hostname": ""}},
			{"2.1", map[string]any{"imageRef": imageID, "preserve_ephemeral": "maybe"}},
		} {
			e.do("POST", act, alice, c.v, map[string]any{"rebuild": c.body}).wantFault(t, 400, "")
			e.do("POST", unknown+"/action", alice, c.v, map[string]any{"rebuild": c.body}).wantFault(t, 400, "")
		}
		// null key_name / user_data ask for nothing
		e.do("POST", act, alice, "2.57", map[string]any{"rebuild": map[string]any{"imageRef": imageID, "key_name": nil, "user_data": nil}}).want(t, 202)
		// 2.54: a rebuild replaces the key pair; an unknown one is nova's 400.
		e.setState(t, id, "active", "", 1)
		e.do("POST", act, alice, "2.54", map[string]any{"rebuild": map[string]any{"imageRef": imageID, "key_name": "nokey"}}).
			wantFault(t, 400, "Invalid key_name provided.")
		e.do("POST", "/v2.1/os-keypairs", alice, "2.2", map[string]any{"keypair": map[string]any{"name": "k1"}}).want(t, 201)
		r = e.do("POST", act, alice, "2.75", map[string]any{"rebuild": map[string]any{"imageRef": imageID, "key_name": "k1"}})
		r.want(t, 202)
		if s := obj(t, r.Body["server"]); s["key_name"] != "k1" {
			t.Errorf("rebuild with key_name k1 shows key_name %v", s["key_name"])
		}
		// nova's rebuild view: key_name from 2.54, user_data (top level)
		// from 2.57, neither before.
		for _, c := range []struct {
			v                 string
			keyName, userData bool
		}{{"2.53", false, false}, {"2.54", true, false}, {"2.57", true, true}} {
			e.setState(t, id, "active", "", 1)
			r = e.do("POST", act, alice, c.v, map[string]any{"rebuild": map[string]any{"imageRef": imageID}})
			r.want(t, 202)
			s := obj(t, r.Body["server"])
			k, hasKey := s["key_name"]
			u, hasUserData := s["user_data"]
			if hasKey != c.keyName || hasUserData != c.userData || (hasKey && k != "k1") || u != nil {
				t.Errorf("rebuild at %s: key_name %v (%v) user_data %v (%v), want key_name k1 %v, user_data null %v",
					c.v, k, hasKey, u, hasUserData, c.keyName, c.userData)
			}
		}
		e.setState(t, id, "active", "", 1)
		r = e.do("POST", act, alice, "2.75", map[string]any{"rebuild": map[string]any{"imageRef": imageID, "key_name": nil}})
		r.want(t, 202)
		if s := obj(t, r.Body["server"]); s["key_name"] != nil {
			t.Errorf("rebuild with key_name null shows key_name %v", s["key_name"])
		}
		// 2.71: update and rebuild show the server's groups.
		e.setState(t, id, "active", "", 1)
		if s := obj(t, put("2.71", map[string]any{"server": map[string]any{"name": "g"}}).Body["server"]); s["server_groups"] == nil {
			t.Errorf("PUT at 2.71 has no server_groups: %v", s)
		}
		r = e.do("POST", act, alice, "2.71", map[string]any{"rebuild": map[string]any{"imageRef": imageID}})
		r.want(t, 202)
		if s := obj(t, r.Body["server"]); s["server_groups"] == nil {
			t.Errorf("rebuild at 2.71 has no server_groups: %v", s)
		}
	})
}

// Create's 2.19 description and 2.90 hostname, 2.63's certificates, and
// the 2.3 extended attributes an admin sees.
func TestCreateMicroversionFields(t *testing.T) {
	runBothActions(t, func(t *testing.T, e *env) {
		body := func(extra map[string]any) map[string]any {
			b := bootBody("My Web_Server", "1")
			b["server"].(map[string]any)["networks"] = []any{}
			for k, v := range extra {
				b["server"].(map[string]any)[k] = v
			}
			return b
		}
		create := func(v string, extra map[string]any) string {
			t.Helper()
			b := body(extra)
			if microversion.MustParse(v).AtLeast(2, 37) {
				b["server"].(map[string]any)["networks"] = "none"
			}
			r := e.do("POST", "/v2.1/servers", alice, v, b)
			r.want(t, 202)
			return obj(t, r.Body["server"])["id"].(string)
		}
		show := func(token, v, id string) map[string]any {
			return obj(t, e.do("GET", "/v2.1/servers/"+id, token, v, nil).Body["server"])
		}
		id := create("2.19", map[string]any{"description": "front"})
		if s := show(alice, "2.19", id); s["description"] != "front" {
			t.Errorf("description %v", s["description"])
		}
		e.do("POST", "/v2.1/servers", alice, "2.18", body(map[string]any{"description": "x"})).wantFault(t, 400, "")
		// nova's default hostname: the sanitized name
		s := show(admin, "2.3", id)
		if s["OS-EXT-SRV-ATTR:hostname"] != "my-web-server" || s["OS-EXT-SRV-ATTR:launch_index"] != float64(0) ||
			s["OS-EXT-SRV-ATTR:kernel_id"] != "" || s["OS-EXT-SRV-ATTR:ramdisk_id"] != "" || s["OS-EXT-SRV-ATTR:root_device_name"] != nil ||
			s["OS-EXT-SRV-ATTR:user_data"] != nil || !strings.HasPrefix(s["OS-EXT-SRV-ATTR:reservation_id"].(string), "r-") {
			t.Errorf("2.3 extended attributes %v", s)
		}
		for _, k := range []string{"OS-EXT-SRV-ATTR:user_data", "OS-EXT-SRV-ATTR:launch_index"} {
			if _, ok := show(admin, "2.3", id)[k]; !ok {
				t.Errorf("%s missing at 2.3", k)
			}
			if _, ok := show(admin, "2.2", id)[k]; ok {
				t.Errorf("%s shown at 2.2", k)
			}
			if _, ok := show(alice, "2.3", id)[k]; ok {
				t.Errorf("%s shown to a non-admin", k)
			}
		}
		id = create("2.90", map[string]any{"hostname": "db-1"})
		if s := show(alice, "2.90", id); s["OS-EXT-SRV-ATTR:hostname"] != "db-1" || s["trusted_image_certificates"] != nil {
			t.Errorf("2.90 owner's view: %v", s)
		}
		if _, ok := show(alice, "2.89", id)["OS-EXT-SRV-ATTR:hostname"]; ok {
			t.Error("hostname shown to a non-admin before 2.90")
		}
		e.do("POST", "/v2.1/servers", alice, "2.90", body(map[string]any{"hostname": "a b"})).wantFault(t, 400, "")
		e.do("POST", "/v2.1/servers", alice, "2.89", body(map[string]any{"hostname": "a"})).wantFault(t, 400, "")
		e.do("POST", "/v2.1/servers", alice, "2.63", body(map[string]any{"trusted_image_certificates": []any{}})).wantFault(t, 400, "")
		e.do("POST", "/v2.1/servers", alice, "2.63", body(map[string]any{"trusted_image_certificates": []any{"c1"}})).
			wantFault(t, 400, "Image certificate validation (trusted_image_certificates) is not supported by gonova's computes.")
		e.do("POST", "/v2.1/servers", alice, "2.62", body(map[string]any{"trusted_image_certificates": nil})).wantFault(t, 400, "")
		create("2.63", map[string]any{"trusted_image_certificates": nil})
	})
}
