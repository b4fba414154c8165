package api

import (
	"context"
	"fmt"
	"testing"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// newResizeEnv is an env serving up to 2.93 with computes c1 and c2 and
// allow_resize_to_same_host as sameHost.
func newResizeEnv(t *testing.T, b backend, sameHost bool) *env {
	e := newEnv(t, b, func(d *Deps, o *computeapi.Options) {
		d.MaxMicroversion = microversion.MustParse("2.93")
		o.AllowResizeToSameHost = sameHost
	})
	e.addNode("c1", 8, 16384, 200)
	e.addNode("c2", 8, 16384, 200)
	return e
}

func (e *env) usage(t *testing.T) map[string]string {
	t.Helper()
	nodes, err := e.compute.ListNodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range nodes {
		out[n.Host] = fmt.Sprintf("%d vcpus, %d MB, %d GB", n.VCPUsUsed, n.MemoryMBUsed, n.LocalGBUsed)
	}
	return out
}

// The resize body is validated as nova's schema, before the server is
// looked up; each refusal names what is wrong.
func TestResizeValidation(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e := newResizeEnv(t, b, false)
			id := e.launched(t, alice, "vm")
			path := "/v2.1/servers/" + id + "/action"
			for _, c := range []struct {
				body any
				msg  string
			}{
				{map[string]any{"resize": map[string]any{}}, "Invalid input for field/attribute resize. Value: {}. 'flavorRef' is a required property"},
				{map[string]any{"resize": map[string]any{"flavorRef": ""}}, "Invalid input for field/attribute flavorRef. Value: . '' is too short"},
				{map[string]any{"resize": map[string]any{"flavorRef": "2", "OS-DCF:diskConfig": "SOME"}}, ""},
				{map[string]any{"resize": map[string]any{"flavorRef": "2", "name": "x"}}, ""},
				{map[string]any{"resize": "2"}, ""},
			} {
				e.do("POST", path, alice, "", c.body).wantFault(t, 400, c.msg)
			}
			// Validation before lookup: a malformed body on an unknown server.
			e.do("POST", "/v2.1/servers/3e3cba3d-0a4a-4b2b-9f0e-6f77a7a0f2a1/action", alice, "", map[string]any{"resize": map[string]any{}}).wantFault(t, 400, "")
			e.do("POST", "/v2.1/servers/3e3cba3d-0a4a-4b2b-9f0e-6f77a7a0f2a1/action", alice, "",
				map[string]any{"resize": map[string]any{"flavorRef": "2"}}).want(t, 404)
			e.do("POST", path, alice, "", map[string]any{"resize": map[string]any{"flavorRef": "1"}}).wantFault(t, 400, "When resizing, instances must change flavor!")
			e.do("POST", path, alice, "", map[string]any{"resize": map[string]any{"flavorRef": "42"}}).wantFault(t, 400, "Flavor 42 could not be found.")
			if calls := e.rpc.Calls(); len(calls) != 1 { // the build only
				t.Fatalf("calls %+v", calls)
			}
			if got, _ := e.compute.GetInstance(context.Background(), id); got.TaskState != states.TaskNone || got.Resize != nil {
				t.Fatalf("after refusals: %+v", got)
			}
		})
	}
}

// A resize answers 202, sets task resize_prep, claims the new flavor on
// the other host (the instance's own is excluded without
// allow_resize_to_same_host) and casts prep_resize there; only active and
// stopped servers resize, a locked one only for an admin. confirmResize and
// revertResize need vm_state resized (nova's 409 naming the action) and a
// finished resize; confirm is 204 and casts to the source, revert 202 to
// the destination.
func TestResizeActions(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			e := newResizeEnv(t, b, false)
			id := e.launched(t, alice, "vm")
			path := "/v2.1/servers/" + id + "/action"
			in, _ := e.compute.GetInstance(ctx, id)
			src := in.Host
			dst := map[string]string{"c1": "c2", "c2": "c1"}[src]
			resize := func(flavor string) resp {
				return e.do("POST", path, alice, "", map[string]any{"resize": map[string]any{"flavorRef": flavor}})
			}

			for _, vm := range []states.VMState{states.VMPaused, states.VMSuspended, states.VMError} {
				e.setState(t, id, vm, states.TaskNone, states.PowerRunning)
				resize("2").wantFault(t, 409, "Cannot 'resize' instance "+id+" while it is in vm_state "+string(vm))
			}
			e.setState(t, id, states.VMActive, states.TaskPoweringOff, states.PowerRunning)
			resize("2").wantFault(t, 409, "Cannot 'resize' instance "+id+" while it is in task_state powering-off")
			for _, name := range []string{"confirmResize", "revertResize"} {
				e.do("POST", path, alice, "", actionBody(name)).wantFault(t, 409, "Cannot '"+name+"' instance "+id+" while it is in vm_state active")
			}
			e.setState(t, id, states.VMActive, states.TaskNone, states.PowerRunning)
			e.do("POST", path, alice, "", actionBody("lock")).want(t, 202)
			resize("2").wantFault(t, 409, "Instance "+id+" is locked")
			e.do("POST", path, alice, "", actionBody("unlock")).want(t, 202)
			// Another project's server is not found, for each action.
			for _, body := range []any{map[string]any{"resize": map[string]any{"flavorRef": "2"}}, actionBody("confirmResize"), actionBody("revertResize")} {
				e.do("POST", path, bob, "", body).wantFault(t, 404, "Instance "+id+" could not be found.")
			}

			resize("2").want(t, 202)
			got, _ := e.compute.GetInstance(ctx, id)
			if got.TaskState != states.TaskResizePrep || got.Resize == nil || got.Resize.NewFlavor.ID != "2" || got.Resize.OldFlavor.ID != "1" {
				t.Fatalf("after resize: %+v %+v", got, got.Resize)
			}
			calls := e.rpc.Calls()
			if c := calls[len(calls)-1]; c.Method != "prep_resize" || c.Host != dst || c.UUID != id {
				t.Fatalf("cast %+v, want prep_resize to %s", c, dst)
			}
			u := e.usage(t)
			if u[src] != "1 vcpus, 512 MB, 1 GB" || u[dst] != "1 vcpus, 2048 MB, 20 GB" {
				t.Fatalf("usage %v", u)
			}
			// A second resize meanwhile is refused by the task state.
			resize("3").wantFault(t, 409, "Cannot 'resize' instance "+id+" while it is in task_state resize_prep")

			// What the compute does (finish_resize), then confirm.
			if _, err := e.compute.FinishResize(ctx, id); err != nil {
				t.Fatal(err)
			}
			e.setState(t, id, states.VMResized, states.TaskNone, states.PowerRunning)
			srv := obj(t, e.do("GET", "/v2.1/servers/"+id, alice, "", nil).Body["server"])
			if srv["status"] != "VERIFY_RESIZE" {
				t.Fatalf("status %v", srv["status"])
			}
			resize("3").wantFault(t, 409, "Cannot 'resize' instance "+id+" while it is in vm_state resized")
			r := e.do("POST", path, alice, "", actionBody("confirmResize"))
			r.want(t, 204)
			calls = e.rpc.Calls()
			if c := calls[len(calls)-1]; c.Method != "confirm_resize" || c.Host != src {
				t.Fatalf("cast %+v, want confirm_resize to the source %s", c, src)
			}
			if got, _ := e.compute.GetInstance(ctx, id); got.TaskState != states.TaskResizeConfirming {
				t.Fatalf("task %q", got.TaskState)
			}
			e.do("POST", path, alice, "", actionBody("revertResize")).wantFault(t, 409,
				"Cannot 'revertResize' instance "+id+" while it is in task_state resize_confirming")
			e.setState(t, id, states.VMResized, states.TaskNone, states.PowerRunning)
			e.do("POST", path, alice, "", actionBody("revertResize")).want(t, 202)
			calls = e.rpc.Calls()
			if c := calls[len(calls)-1]; c.Method != "revert_resize" || c.Host != dst {
				t.Fatalf("cast %+v, want revert_resize to the destination %s", c, dst)
			}
			// A server in vm_state resized without a finished resize: 400.
			if _, _, err := e.compute.RevertResize(ctx, id); err != nil {
				t.Fatal(err)
			}
			e.setState(t, id, states.VMResized, states.TaskNone, states.PowerRunning)
			e.do("POST", path, alice, "", actionBody("confirmResize")).wantFault(t, 400, "Instance has not been resized.")

			// The actions are recorded.
			acts := e.do("GET", "/v2.1/servers/"+id+"/os-instance-actions", alice, "", nil).Body["instanceActions"].([]any)
			var names []string
			for _, a := range acts {
				names = append(names, obj(t, a)["action"].(string))
			}
			if len(names) < 3 || names[0] != "revertResize" || names[1] != "confirmResize" || names[2] != "resize" {
				t.Fatalf("actions %v", names)
			}
		})
	}
}

// With one host and allow_resize_to_same_host false there is nowhere to
// go: 202 (nova decides in its conductor), the server back to no task with
// the NoValidHost fault and no claim; with the option the same host takes
// it, both claims on it.
func TestResizeSameHostOption(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			for _, same := range []bool{false, true} {
				e := newEnv(t, b, func(d *Deps, o *computeapi.Options) {
					d.MaxMicroversion = microversion.MustParse("2.93")
					o.AllowResizeToSameHost = same
				})
				e.addNode("c1", 8, 16384, 200)
				id := e.launched(t, alice, "vm")
				e.do("POST", "/v2.1/servers/"+id+"/action", alice, "", map[string]any{"resize": map[string]any{"flavorRef": "2"}}).want(t, 202)
				got, _ := e.compute.GetInstance(ctx, id)
				u := e.usage(t)["c1"]
				if !same {
					if got.TaskState != states.TaskNone || got.Resize != nil || got.Fault == nil || got.Fault.Code != 500 ||
						got.Fault.Message != "No valid host was found. No valid host found for resize" || u != "1 vcpus, 512 MB, 1 GB" {
						t.Fatalf("without the option: %+v, usage %s", got, u)
					}
					continue
				}
				if got.TaskState != states.TaskResizePrep || got.Resize == nil || u != "2 vcpus, 2560 MB, 21 GB" {
					t.Fatalf("with the option: %+v, usage %s", got, u)
				}
			}
		})
	}
}

// A resize that grows the server past the project's cores or ram quota is
// nova's 403 (_check_quota_for_upsize), and nothing changes.
func TestResizeChecksTheQuota(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e := newResizeEnv(t, b, false)
			id := e.launched(t, alice, "vm") // m1.tiny: 1 vcpu, 512 MB; m1.medium has 2 vcpus
			e.do("PUT", "/v2.1/os-quota-sets/proj-a", admin, "", map[string]any{"quota_set": map[string]any{"cores": 1}}).want(t, 200)
			path := "/v2.1/servers/" + id + "/action"
			e.do("POST", path, alice, "", map[string]any{"resize": map[string]any{"flavorRef": "3"}}).wantFault(t, 403,
				"Quota exceeded for cores: Requested 1, but already used 1 of 1 cores")
			if s := obj(t, e.do("GET", "/v2.1/servers/"+id, alice, "", nil).Body["server"]); s["status"] != "ACTIVE" {
				t.Errorf("after a refused resize the server is %v", s["status"])
			}
			e.do("PUT", "/v2.1/os-quota-sets/proj-a", admin, "", map[string]any{"quota_set": map[string]any{"cores": 20}}).want(t, 200)
			e.do("POST", path, alice, "", map[string]any{"resize": map[string]any{"flavorRef": "3"}}).want(t, 202)
		})
	}
}
