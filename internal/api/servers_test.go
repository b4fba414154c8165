package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
)

const imageID = "70a599e0-31e7-49b7-b260-868f441e862b"

func bootBody(name, flavor string) map[string]any {
	return map[string]any{"server": map[string]any{"name": name, "flavorRef": flavor, "imageRef": imageID}}
}

func TestServerCreatePlacesAndCasts(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.addNode("small", 1, 1024, 10)
		e.addNode("big", 8, 16384, 200)

		r := e.do("POST", "/v2.1/servers", alice, "", bootBody("web-1", "2"))
		r.want(t, 202)
		s := obj(t, r.Body["server"])
		id := s["id"].(string)
		if len(s["adminPass"].(string)) != 12 || s["OS-DCF:diskConfig"] != "MANUAL" ||
			len(list(t, s["security_groups"])) != 1 || len(list(t, s["links"])) != 2 || len(s) != 5 {
			t.Errorf("create body %s", r.Raw)
		}
		if loc := r.Header.Get("Location"); !strings.HasSuffix(loc, "/v2.1/servers/"+id) {
			t.Errorf("Location %q", loc)
		}
		in, err := e.compute.GetInstance(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if in.Host != "big" || in.Node != "big.node" || in.VMState != "building" || in.TaskState != "scheduling" ||
			in.ProjectID != "proj-a" || in.UserID != "alice" || in.MemoryMB != 2048 || in.ImageRef != imageID {
			t.Errorf("instance %+v", in)
		}
		calls := e.rpc.Calls()
		if len(calls) != 1 || calls[0].Method != "build_and_run_instance" || calls[0].Host != "big" || calls[0].UUID != id {
			t.Errorf("casts %+v", calls)
		}

		// m1.xlarge (8 vcpus, 16 GiB) no longer fits anywhere: 202, then ERROR.
		r = e.do("POST", "/v2.1/servers", alice, "", bootBody("huge", "5"))
		r.want(t, 202)
		huge, _ := e.compute.GetInstance(ctx, obj(t, r.Body["server"])["id"].(string))
		if huge.VMState != "error" || huge.TaskState != "" || huge.Host != "" {
			t.Errorf("NoValidHost instance %+v", huge)
		}
		if len(e.rpc.Calls()) != 1 {
			t.Error("nothing may be cast without a host")
		}
		r = e.do("GET", "/v2.1/servers/"+huge.UUID, alice, "", nil)
		shown := obj(t, r.Body["server"])
		if shown["status"] != "ERROR" {
			t.Errorf("status %s", r.Raw)
		}
		// nova shows why: the fault, with NoValidHost's message and code 500.
		if f, ok := shown["fault"].(map[string]any); !ok || f["code"] != float64(500) ||
			!strings.HasPrefix(f["message"].(string), "No valid host was found.") || f["created"] == "" {
			t.Errorf("fault of the NoValidHost instance: %s", r.Raw)
		}

		// a flavorRef given as a link, and an explicit adminPass
		body := bootBody("web-2", "http://example.com/flavors/1")
		body["server"].(map[string]any)["adminPass"] = "s3cret"
		r = e.do("POST", "/v2.1/servers", alice, "", body)
		r.want(t, 202)
		if obj(t, r.Body["server"])["adminPass"] != "s3cret" {
			t.Errorf("adminPass %s", r.Raw)
		}

		// a cast that fails puts the instance in ERROR
		e.rpc.err = errBroker
		r = e.do("POST", "/v2.1/servers", alice, "", bootBody("web-3", "1"))
		r.want(t, 202)
		failed, _ := e.compute.GetInstance(ctx, obj(t, r.Body["server"])["id"].(string))
		if failed.VMState != "error" {
			t.Errorf("instance after failed cast %+v", failed)
		}
	})
}

func TestServerCreateSkipsUnusableHosts(t *testing.T) {
	e := newEnv(t, memBackend)
	ctx := context.Background()
	disabled, _ := e.addNode("disabled", 64, 1<<20, 1000)
	down, _ := e.addNode("down", 64, 1<<20, 1000)
	forced, _ := e.addNode("forced", 64, 1<<20, 1000)
	e.addNode("ok", 2, 4096, 40)
	t1, f := true, true
	if _, err := e.services.Update(ctx, disabled.ID, registryUpdate(&t1, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.services.Update(ctx, forced.ID, registryUpdate(nil, &f)); err != nil {
		t.Fatal(err)
	}
	e.makeDown(down)
	for i := range 3 {
		r := e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "2"))
		r.want(t, 202)
		in, _ := e.compute.GetInstance(ctx, obj(t, r.Body["server"])["id"].(string))
		if i < 2 && in.Host != "ok" {
			t.Fatalf("boot %d placed on %q, want ok", i, in.Host)
		}
		if i == 2 && (in.Host != "" || in.VMState != "error") {
			t.Fatalf("a third m1.small does not fit on ok (2 vcpus, 4 GiB): %+v", in)
		}
	}
}

func TestServerCreateValidation(t *testing.T) {
	e := newEnv(t, memBackend)
	e.addNode("c1", 8, 16384, 100)
	srv := func(kv ...any) map[string]any {
		m := map[string]any{"name": "vm", "flavorRef": "1", "imageRef": imageID}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return map[string]any{"server": m}
	}
	cases := []struct {
		name string
		body any
		code int
		msg  string
	}{
		{"malformed", `{"server": `, 400, "Malformed request body"},
		{"empty", ``, 400, "None is not of type 'object'"},
		{"not object", `"x"`, 400, ""},
		{"no server", map[string]any{}, 400, "'server' is a required property"},
		{"unknown top", map[string]any{"server": srv()["server"], "extra": 1}, 400, "Additional properties are not allowed ('extra' was unexpected)"},
		{"server not object", map[string]any{"server": 1}, 400, "Invalid input for field/attribute server. Value: 1. 1 is not of type 'object'"},
		{"unknown key", srv("key_name", "k"), 400, ""},
		{"no name", srv("name", nil), 400, ""},
		{"name type", srv("name", 5), 400, "Invalid input for field/attribute name. Value: 5. 5 is not of type 'string'"},
		{"name empty", srv("name", ""), 400, "Invalid input for field/attribute name. Value: . '' is too short"},
		{"name long", srv("name", strings.Repeat("a", 256)), 400, ""},
		{"name space", srv("name", " vm"), 400, "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace."},
		{"name control", srv("name", "v\x01m"), 400, ""},
		{"no flavor", srv("flavorRef", nil), 400, ""},
		{"flavor type", srv("flavorRef", true), 400, "Invalid input for field/attribute flavorRef. Value: True. True is not of type 'string', 'integer'"},
		{"flavor unknown", srv("flavorRef", "42"), 400, "Invalid flavorRef provided."},
		{"no image", srv("imageRef", nil), 400, "Missing imageRef attribute"},
		{"image empty", srv("imageRef", ""), 400, "Missing imageRef attribute"},
		{"image not uuid", srv("imageRef", "cirros"), 400, "Invalid input for field/attribute imageRef. Value: cirros. 'cirros' is not valid under any of the given schemas"},
		{"metadata type", srv("metadata", []any{}), 400, ""},
		{"metadata key", srv("metadata", map[string]any{"a/b": "x"}), 400, ""},
		{"metadata value", srv("metadata", map[string]any{"a": 1}), 400, ""},
		{"networks type", srv("networks", 1), 400, ""},
		{"networks item key", srv("networks", []any{map[string]any{"bogus": 1}}), 400, ""},
		{"disk config", srv("OS-DCF:diskConfig", "BOTH"), 400, ""},
		{"too large", srv("adminPass", strings.Repeat("x", 200000)), 413, ""},
		{"min_count zero", srv("min_count", 0), 400, "Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1"},
		{"max_count type", srv("max_count", "two"), 400, "Invalid input for field/attribute max_count. Value: two. 'two' does not match '^[0-9]*$'"},
		{"min above max", srv("min_count", 2, "max_count", 1), 400, "min_count must be <= max_count"},
		{"min above max as strings", srv("min_count", "3", "max_count", "2"), 400, "min_count must be <= max_count"},
		{"min_count string zero", srv("min_count", "0"), 400, "Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1"},
		{"min_count empty", srv("min_count", ""), 400, "Invalid input for field/attribute min_count. Value: . '' is too short"},
		{"min_count negative", srv("min_count", "-1"), 400, "Invalid input for field/attribute min_count. Value: -1. '-1' does not match '^[0-9]*$'"},
		{"min_count float", srv("min_count", 2.5), 400, "Invalid input for field/attribute min_count. Value: 2.5. 2.5 is not of type 'integer', 'string'"},
		{"min_count bool", srv("min_count", true), 400, "Invalid input for field/attribute min_count. Value: True. True is not of type 'integer', 'string'"},
		{"reservation id type", srv("return_reservation_id", "maybe"), 400, ""},
		{"fixed ip for many", srv("max_count", 2, "networks", []any{map[string]any{"uuid": "n1", "fixed_ip": "10.0.0.2"}}), 400,
			"Failed to launch instances: max_count cannot be greater than 1 if an fixed_ip is specified."},
		{"port for many", srv("min_count", 2, "networks", []any{map[string]any{"port": "p1"}}), 400,
			"Failed to launch instances: Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.do("POST", "/v2.1/servers", alice, "", c.body).wantFault(t, c.code, c.msg)
		})
	}
	// valid extras; the metadata is stored and shown
	r := e.do("POST", "/v2.1/servers", alice, "", srv("flavorRef", 1, "metadata", map[string]any{"role": "web"},
		"networks", []any{map[string]any{"uuid": "net"}}, "OS-DCF:diskConfig", "AUTO"))
	r.want(t, 202)
	shown := e.do("GET", "/v2.1/servers/"+obj(t, r.Body["server"])["id"].(string), alice, "", nil)
	if md, ok := obj(t, shown.Body["server"])["metadata"].(map[string]any); !ok || len(md) != 1 || md["role"] != "web" {
		t.Errorf("metadata of the created server: %s", shown.Raw)
	}
	// python-novaclient sends min_count and max_count 1 with every create.
	e.do("POST", "/v2.1/servers", alice, "", srv("min_count", 1, "max_count", 1)).want(t, 202)
	e.do("POST", "/v2.1/servers", alice, "", srv("min_count", "1", "max_count", "1", "return_reservation_id", false)).want(t, 202)
	e.do("POST", "/v2.1/servers", alice, "", `{"server": {"name": "vm", "flavorRef": "1", "imageRef": "`+imageID+`", "min_count": null}}`).
		wantFault(t, 400, "Invalid input for field/attribute min_count. Value: None. None is not of type 'integer', 'string'")
	e.do("POST", "/v2.1/servers", alice, "", `{"server": {"name": "vm", "flavorRef": "1", "imageRef": "`+imageID+`", "return_reservation_id": null}}`).
		wantFault(t, 400, "Invalid input for field/attribute return_reservation_id. Value: None. None is not of type 'boolean', 'string'")
	e.do("POST", "/v2.1/servers", alice, "2.37", srv()).wantFault(t, 400, "")
	e.do("POST", "/v2.1/servers", alice, "2.37", srv("networks", "auto")).want(t, 202)
}

func TestServersListShowScoping(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 64, 1<<20, 10000)
		var ids []string
		for _, n := range []string{"a1", "a2", "a3"} {
			r := e.do("POST", "/v2.1/servers", alice, "", bootBody(n, "1"))
			ids = append(ids, obj(t, r.Body["server"])["id"].(string))
			time.Sleep(2 * time.Millisecond) // distinct created_at for a stable order
		}
		rb := e.do("POST", "/v2.1/servers", bob, "", bootBody("b1", "1"))
		bobID := obj(t, rb.Body["server"])["id"].(string)

		r := e.do("GET", "/v2.1/servers", alice, "", nil)
		l := list(t, r.Body["servers"])
		if len(l) != 3 || obj(t, l[0])["id"] != ids[2] || obj(t, l[0])["name"] != "a3" || len(obj(t, l[0])) != 3 {
			t.Fatalf("alice's list %s", r.Raw)
		}
		if _, ok := r.Body["servers_links"]; ok {
			t.Error("no next link without a full page")
		}
		r = e.do("GET", "/v2.1/servers?limit=2", alice, "", nil)
		if l := list(t, r.Body["servers"]); len(l) != 2 {
			t.Fatalf("page 1 %s", r.Raw)
		}
		next := obj(t, list(t, r.Body["servers_links"])[0])
		if next["rel"] != "next" || !strings.Contains(next["href"].(string), "/v2.1/servers?limit=2&marker="+ids[1]) {
			t.Errorf("next link %v", next)
		}
		r = e.do("GET", "/v2.1/servers?limit=2&marker="+ids[1], alice, "", nil)
		if l := list(t, r.Body["servers"]); len(l) != 1 || obj(t, l[0])["id"] != ids[0] {
			t.Errorf("page 2 %s", r.Raw)
		}
		e.do("GET", "/v2.1/servers?marker=6f1b7d2c-3c53-4b1e-9d0a-1d1a4c9e8f00", alice, "", nil).
			wantFault(t, 400, "marker [6f1b7d2c-3c53-4b1e-9d0a-1d1a4c9e8f00] not found")
		e.do("GET", "/v2.1/servers?limit=-1", alice, "", nil).wantFault(t, 400, "")
		e.do("GET", "/v2.1/servers?all_tenants=1", alice, "", nil).
			wantFault(t, 403, "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.")
		r = e.do("GET", "/v2.1/servers/detail?all_tenants=1", admin, "", nil)
		if l := list(t, r.Body["servers"]); len(l) != 4 {
			t.Errorf("admin all_tenants sees %d", len(l))
		}
		r = e.do("GET", "/v2.1/servers/detail", alice, "", nil)
		if l := list(t, r.Body["servers"]); len(l) != 3 || obj(t, l[0])["status"] != "BUILD" {
			t.Errorf("detail %s", r.Raw)
		}

		// show, as the owner: no admin-only attributes
		r = e.do("GET", "/v2.1/servers/"+ids[0], alice, "", nil)
		r.want(t, 200)
		s := obj(t, r.Body["server"])
		sum := sha256.Sum224([]byte("proj-a" + "c1"))
		if s["hostId"] != hex.EncodeToString(sum[:]) || s["status"] != "BUILD" || s["OS-EXT-STS:vm_state"] != "building" ||
			s["OS-EXT-STS:task_state"] != "scheduling" || s["tenant_id"] != "proj-a" || s["user_id"] != "alice" ||
			s["progress"] != float64(0) || s["key_name"] != nil || s["accessIPv4"] != "" || s["OS-SRV-USG:launched_at"] != nil {
			t.Errorf("show %s", r.Raw)
		}
		if _, ok := s["OS-EXT-SRV-ATTR:host"]; ok {
			t.Error("non-admin sees OS-EXT-SRV-ATTR:host")
		}
		if fl := obj(t, s["flavor"]); fl["id"] != "1" {
			t.Errorf("flavor before 2.47 %v", fl)
		}
		if img := obj(t, s["image"]); img["id"] != imageID {
			t.Errorf("image %v", img)
		}
		// admin, 2.47: flavor object, host attributes, host_status
		r = e.do("GET", "/v2.1/servers/"+ids[0], admin, "2.47", nil)
		s = obj(t, r.Body["server"])
		if s["OS-EXT-SRV-ATTR:host"] != "c1" || s["OS-EXT-SRV-ATTR:hypervisor_hostname"] != "c1.node" || s["host_status"] != "UP" {
			t.Errorf("admin show %s", r.Raw)
		}
		if fl := obj(t, s["flavor"]); fl["original_name"] != "m1.tiny" || fl["ram"] != float64(512) || fl["vcpus"] != float64(1) {
			t.Errorf("2.47 flavor %v", fl)
		}
		// another project's server is not found
		e.do("GET", "/v2.1/servers/"+bobID, alice, "", nil).wantFault(t, 404, "Instance "+bobID+" could not be found.")
		e.do("GET", "/v2.1/servers/not-a-uuid", alice, "", nil).wantFault(t, 404, "Instance not-a-uuid could not be found.")
		e.do("DELETE", "/v2.1/servers/"+bobID, alice, "", nil).wantFault(t, 404, "")
	})
}

func TestServerDelete(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		c1, _ := e.addNode("c1", 64, 1<<20, 10000)
		boot := func() string {
			r := e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "1"))
			return obj(t, r.Body["server"])["id"].(string)
		}
		// on an up host: deleting + terminate cast
		id := boot()
		e.do("DELETE", "/v2.1/servers/"+id, alice, "", nil).want(t, 204)
		in, err := e.compute.GetInstance(ctx, id)
		if err != nil || in.TaskState != "deleting" {
			t.Fatalf("after delete: %+v %v", in, err)
		}
		calls := e.rpc.Calls()
		if last := calls[len(calls)-1]; last.Method != "terminate_instance" || last.Host != "c1" || last.UUID != id {
			t.Errorf("last cast %+v", last)
		}
		// without a host: deleted here
		in, err = e.compute.CreateInstance(ctx, computedb.Instance{DisplayName: "orphan", ProjectID: "proj-a", VMState: "error"})
		if err != nil {
			t.Fatal(err)
		}
		e.do("DELETE", "/v2.1/servers/"+in.UUID, alice, "", nil).want(t, 204)
		if _, err := e.compute.GetInstance(ctx, in.UUID); err == nil {
			t.Error("hostless instance not deleted")
		}
		// on a down host: deleted here, nothing cast
		id = boot()
		n := len(e.rpc.Calls())
		e.makeDown(c1)
		e.do("DELETE", "/v2.1/servers/"+id, alice, "", nil).want(t, 204)
		if _, err := e.compute.GetInstance(ctx, id); err == nil || len(e.rpc.Calls()) != n {
			t.Errorf("down host: instance kept (%v) or cast sent", err)
		}
		e.do("DELETE", "/v2.1/servers/"+id, alice, "", nil).wantFault(t, 404, "Instance "+id+" could not be found.")
	})
}

func activate(t *testing.T, e *env, id string) {
	t.Helper()
	active, none, now := states.VMActive, states.TaskNone, time.Now()
	if _, err := e.compute.UpdateInstance(context.Background(), id, computedb.InstanceUpdate{VMState: &active, TaskState: &none, LaunchedAt: &now}); err != nil {
		t.Fatal(err)
	}
}

func TestServerReboot(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 64, 1<<20, 10000)
		r := e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "1"))
		id := obj(t, r.Body["server"])["id"].(string)
		path := "/v2.1/servers/" + id + "/action"

		e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{"type": "SOFT"}}).
			wantFault(t, 409, "Cannot 'reboot' instance "+id+" while it is in vm_state building")
		activate(t, e, id)
		r = e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{"type": "soft"}})
		r.want(t, 202)
		if len(r.Raw) != 0 {
			t.Errorf("reboot body %q", r.Raw)
		}
		calls := e.rpc.Calls()
		if last := calls[len(calls)-1]; last.Method != "reboot_instance" || last.RebootType != "SOFT" || last.Host != "c1" {
			t.Errorf("cast %+v", last)
		}
		r = e.do("GET", "/v2.1/servers/"+id, alice, "", nil)
		if obj(t, r.Body["server"])["status"] != "REBOOT" {
			t.Errorf("status while rebooting %s", r.Raw)
		}
		e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{"type": "SOFT"}}).
			wantFault(t, 409, "Cannot 'reboot' instance "+id+" while it is in task_state rebooting")
		e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{"type": "HARD"}}).want(t, 202)
		r = e.do("GET", "/v2.1/servers/"+id, alice, "", nil)
		if obj(t, r.Body["server"])["status"] != "HARD_REBOOT" {
			t.Errorf("status while hard rebooting %s", r.Raw)
		}

		e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{"type": "WARM"}}).
			wantFault(t, 400, "Invalid input for field/attribute type. Value: WARM. 'WARM' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']")
		e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{}}).wantFault(t, 400, "Invalid input for field/attribute reboot. Value: {}. 'type' is a required property")
		e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{"type": "HARD", "x": 1}}).wantFault(t, 400, "")
		e.do("POST", path, alice, "", map[string]any{"reboot": nil}).wantFault(t, 400, "")
		e.do("POST", path, alice, "", map[string]any{"explode": map[string]any{}}).wantFault(t, 400, "There is no such action: explode")
		e.do("POST", path, alice, "", map[string]any{}).wantFault(t, 400, "Malformed message body: too many body keys")
		e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{"type": "HARD"}, "os-getConsoleOutput": map[string]any{}}).
			wantFault(t, 400, "Malformed message body: too many body keys")
		e.do("POST", path, bob, "", map[string]any{"reboot": map[string]any{"type": "HARD"}}).wantFault(t, 404, "")
		e.do("POST", path, alice, "", `{"reboot"`).wantFault(t, 400, "Malformed request body")
	})
}

func TestServerConsoleOutput(t *testing.T) {
	e := newEnv(t, memBackend, func(_ *Deps, o *computeapi.Options) { o.RPCTimeout = 50 * time.Millisecond })
	e.addNode("c1", 64, 1<<20, 10000)
	e.rpc.console = "line1\x07\nline2\x1b\n"
	r := e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "1"))
	id := obj(t, r.Body["server"])["id"].(string)
	path := "/v2.1/servers/" + id + "/action"

	r = e.do("POST", path, alice, "", map[string]any{"os-getConsoleOutput": map[string]any{"length": "5"}})
	r.want(t, 200)
	if r.Body["output"] != "line1\nline2\n" || len(r.Body) != 1 {
		t.Errorf("output %s", r.Raw)
	}
	calls := e.rpc.Calls()
	if last := calls[len(calls)-1]; last.Method != "get_console_output" || last.Length == nil || *last.Length != 5 {
		t.Errorf("call %+v", last)
	}
	e.do("POST", path, alice, "", map[string]any{"os-getConsoleOutput": map[string]any{"length": -1}}).want(t, 200)
	if last := e.rpc.Calls()[len(e.rpc.Calls())-1]; last.Length != nil {
		t.Errorf("-1 means the whole log, got %v", *last.Length)
	}
	e.do("POST", path, alice, "", map[string]any{"os-getConsoleOutput": map[string]any{"length": nil}}).want(t, 200)
	e.do("POST", path, alice, "", map[string]any{"os-getConsoleOutput": map[string]any{"length": -2}}).
		wantFault(t, 400, "Invalid input for field/attribute length. Value: -2. -2 is less than the minimum of -1")
	e.do("POST", path, alice, "", map[string]any{"os-getConsoleOutput": map[string]any{"length": "ten"}}).wantFault(t, 400, "")
	e.do("POST", path, alice, "", map[string]any{"os-getConsoleOutput": map[string]any{"length": 1.5}}).wantFault(t, 400, "")
	e.do("POST", path, alice, "", map[string]any{"os-getConsoleOutput": map[string]any{"lines": 1}}).wantFault(t, 400, "")

	e.rpc.err = computeapi.ErrConsoleNotAvailable
	e.do("POST", path, alice, "", map[string]any{"os-getConsoleOutput": map[string]any{}}).
		wantFault(t, 404, "Guest does not have a console available.")
	e.rpc.err = computeapi.ErrNotSupported
	e.do("POST", path, alice, "", map[string]any{"os-getConsoleOutput": map[string]any{}}).wantFault(t, 501, "")
	e.rpc.err = nil
	e.rpc.block = true
	start := time.Now()
	e.do("POST", path, alice, "", map[string]any{"os-getConsoleOutput": map[string]any{}}).wantFault(t, 500, "")
	if time.Since(start) > 2*time.Second {
		t.Error("the RPC timeout did not bound the call")
	}

	// no host yet: not ready
	in, err := e.compute.CreateInstance(context.Background(), computedb.Instance{ProjectID: "proj-a", DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/v2.1/servers/"+in.UUID+"/action", alice, "", map[string]any{"os-getConsoleOutput": map[string]any{}}).
		wantFault(t, 409, "Instance "+in.UUID+" is not ready")
}
