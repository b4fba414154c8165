package api

import (
	"context"
	"strings"
	"testing"
	"time"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// newActionsEnv is an env serving up to 2.93 with one compute host.
func newActionsEnv(t *testing.T, b backend) *env {
	e := newEnv(t, b, func(d *Deps, _ *computeapi.Options) { d.MaxMicroversion = microversion.MustParse("2.93") })
	e.addNode("c1", 64, 1<<20, 10000)
	return e
}

// launched boots a server for token and puts it where a compute leaves a
// built one (active, running, launched).
func (e *env) launched(t *testing.T, token, name string) string {
	t.Helper()
	id := e.boot(t, token, name)
	e.setState(t, id, states.VMActive, states.TaskNone, states.PowerRunning)
	return id
}

func (e *env) setState(t *testing.T, id string, vm states.VMState, task states.TaskState, power states.PowerState) {
	t.Helper()
	now := time.Now()
	if _, err := e.compute.UpdateInstance(context.Background(), id, computedb.InstanceUpdate{VMState: &vm, TaskState: &task,
		PowerState: &power, LaunchedAt: &now}); err != nil {
		t.Fatal(err)
	}
}

func actionBody(name string) map[string]any { return map[string]any{name: nil} }

// Each power action answers 202, casts its RPC method to the host and sets
// nova's task state; from a wrong state it is nova's 409 and casts nothing.
func TestPowerActions(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e := newActionsEnv(t, b)
			id := e.launched(t, alice, "vm")
			path := "/v2.1/servers/" + id + "/action"
			for _, s := range []struct {
				action, method string
				task           states.TaskState
				status         string
				then           states.VMState
				power          states.PowerState
				refusedFrom    states.VMState // a state the action refuses
			}{
				{"os-stop", "stop_instance", states.TaskPoweringOff, "ACTIVE", states.VMStopped, states.PowerShutdown, states.VMStopped},
				{"os-start", "start_instance", states.TaskPoweringOn, "SHUTOFF", states.VMActive, states.PowerRunning, states.VMActive},
				{"pause", "pause_instance", states.TaskPausing, "ACTIVE", states.VMPaused, states.PowerPaused, states.VMPaused},
				{"unpause", "unpause_instance", states.TaskUnpausing, "PAUSED", states.VMActive, states.PowerRunning, states.VMActive},
				{"suspend", "suspend_instance", states.TaskSuspending, "ACTIVE", states.VMSuspended, states.PowerSuspended, states.VMSuspended},
				{"resume", "resume_instance", states.TaskResuming, "SUSPENDED", states.VMActive, states.PowerRunning, states.VMActive},
			} {
				n := len(e.rpc.Calls())
				r := e.do("POST", path, alice, "", actionBody(s.action))
				r.want(t, 202)
				if len(r.Raw) != 0 {
					t.Errorf("%s: body %q", s.action, r.Raw)
				}
				calls := e.rpc.Calls()
				if len(calls) != n+1 || calls[n].Method != s.method || calls[n].Host != "c1" || calls[n].UUID != id {
					t.Fatalf("%s: calls %+v", s.action, calls[n:])
				}
				got, _ := e.compute.GetInstance(context.Background(), id)
				if got.TaskState != s.task {
					t.Errorf("%s: task %q, want %q", s.action, got.TaskState, s.task)
				}
				srv := obj(t, e.do("GET", "/v2.1/servers/"+id, alice, "", nil).Body["server"])
				if srv["status"] != s.status || srv["OS-EXT-STS:task_state"] != string(s.task) {
					t.Errorf("%s: status %v task %v", s.action, srv["status"], srv["OS-EXT-STS:task_state"])
				}
				// another action while this one runs: the task refuses it
				e.do("POST", path, alice, "", actionBody(s.action)).wantFault(t, 409, "")
				// what the compute does
				e.setState(t, id, s.then, states.TaskNone, s.power)
				_ = s.refusedFrom
			}
			// nova's messages for a wrong vm state
			for action, name := range map[string]string{"os-start": "start", "unpause": "unpause", "resume": "resume"} {
				e.do("POST", path, alice, "", actionBody(action)).
					wantFault(t, 409, "Cannot '"+name+"' instance "+id+" while it is in vm_state active")
			}
			e.setState(t, id, states.VMStopped, states.TaskNone, states.PowerShutdown)
			for action, name := range map[string]string{"os-stop": "stop", "pause": "pause", "suspend": "suspend"} {
				e.do("POST", path, alice, "", actionBody(action)).
					wantFault(t, 409, "Cannot '"+name+"' instance "+id+" while it is in vm_state stopped")
			}
			// another project's server is 404; an unknown one too
			e.do("POST", path, bob, "", actionBody("os-start")).wantFault(t, 404, "Instance "+id+" could not be found.")
			e.do("POST", "/v2.1/servers/8a3b44a1-0000-4000-8000-000000000000/action", alice, "", actionBody("os-start")).wantFault(t, 404, "")
			// the instance actions are recorded, newest first
			r := e.do("GET", "/v2.1/servers/"+id+"/os-instance-actions", alice, "", nil)
			r.want(t, 200)
			var names []string
			for _, a := range list(t, r.Body["instanceActions"]) {
				names = append(names, obj(t, a)["action"].(string))
			}
			if got := strings.Join(names, ","); got != "resume,suspend,unpause,pause,start,stop,create" {
				t.Errorf("actions %s", got)
			}
		})
	}
}

// Lock and unlock: the lock shows in the server (2.9 locked, 2.73
// locked_reason), refuses the owner's actions with nova's 409 and the
// admin's not; the owner cannot lift an admin's lock without the
// unlock_override policy; 2.73's body schema.
func TestLockUnlock(t *testing.T) {
	runBothActions(t, func(t *testing.T, e *env) {
		id := e.launched(t, alice, "vm")
		path := "/v2.1/servers/" + id + "/action"
		show := func(v string) map[string]any {
			return obj(t, e.do("GET", "/v2.1/servers/"+id, alice, v, nil).Body["server"])
		}
		if s := show("2.73"); s["locked"] != false || s["locked_reason"] != nil {
			t.Fatalf("unlocked server: locked %v reason %v", s["locked"], s["locked_reason"])
		}
		// 2.73's schema (validated before the lookup: an unknown id too)
		for _, bad := range []any{map[string]any{"locked_reason": ""}, map[string]any{"locked_reason": strings.Repeat("x", 256)},
			map[string]any{"x": 1}, "yes", map[string]any{"locked_reason": 1}} {
			e.do("POST", path, alice, "2.73", map[string]any{"lock": bad}).wantFault(t, 400, "")
			e.do("POST", "/v2.1/servers/8a3b44a1-0000-4000-8000-000000000000/action", alice, "2.73", map[string]any{"lock": bad}).wantFault(t, 400, "")
		}
		// before 2.73 the value is not looked at
		e.do("POST", path, alice, "2.72", map[string]any{"lock": "anything"}).want(t, 202)
		if s := show("2.72"); s["locked"] != true {
			t.Fatalf("locked %v", s["locked"])
		}
		if _, ok := show("2.72")["locked_reason"]; ok {
			t.Error("locked_reason shown before 2.73")
		}
		if _, ok := show("2.8")["locked"]; ok {
			t.Error("locked shown before 2.9")
		}
		e.do("POST", path, alice, "", actionBody("os-stop")).wantFault(t, 409, "Instance "+id+" is locked")
		e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{"type": "HARD"}}).wantFault(t, 409, "Instance "+id+" is locked")
		e.do("DELETE", "/v2.1/servers/"+id, alice, "", nil).wantFault(t, 409, "Instance "+id+" is locked")
		e.do("POST", path, alice, "2.93", map[string]any{"rebuild": map[string]any{"imageRef": imageID}}).wantFault(t, 409, "Instance "+id+" is locked")
		e.do("POST", path, admin, "", actionBody("pause")).want(t, 202) // an admin is not refused
		e.setState(t, id, states.VMActive, states.TaskNone, states.PowerRunning)

		e.do("POST", path, alice, "", actionBody("unlock")).want(t, 202)
		// an admin's lock with a reason: the owner's unlock needs unlock_override
		e.do("POST", path, admin, "2.73", map[string]any{"lock": map[string]any{"locked_reason": "audit"}}).want(t, 202)
		if s := show("2.73"); s["locked"] != true || s["locked_reason"] != "audit" {
			t.Fatalf("admin's lock: %v %v", s["locked"], s["locked_reason"])
		}
		e.do("POST", path, alice, "", actionBody("unlock")).wantFault(t, 403, refused(polUnlockOverride))
		e.do("POST", path, admin, "", actionBody("unlock")).want(t, 202)
		if s := show("2.73"); s["locked"] != false || s["locked_reason"] != nil {
			t.Fatalf("after unlock: %v %v", s["locked"], s["locked_reason"])
		}
	})
}

// The locked filter of the server list (2.73) on real locks.
func TestLockedFilter(t *testing.T) {
	runBothActions(t, func(t *testing.T, e *env) {
		a := e.launched(t, alice, "a")
		e.launched(t, alice, "b")
		e.do("POST", "/v2.1/servers/"+a+"/action", alice, "", actionBody("lock")).want(t, 202)
		names := func(q, v string) string {
			var out []string
			for _, s := range list(t, e.do("GET", "/v2.1/servers?"+q, alice, v, nil).Body["servers"]) {
				out = append(out, obj(t, s)["name"].(string))
			}
			return strings.Join(out, ",")
		}
		for _, c := range []struct{ q, v, want string }{
			{"locked=true", "2.73", "a"},
			{"locked=1", "2.73", "a"},
			{"locked=false", "2.73", "b"},
			{"locked=true", "2.72", "b,a"}, // not a filter before 2.73
			{"sort_key=locked&sort_dir=asc", "2.73", "b,a"},
			{"sort_key=locked&sort_dir=desc", "2.73", "a,b"},
		} {
			if got := names(c.q, c.v); got != c.want {
				t.Errorf("?%s at %s: %s, want %s", c.q, c.v, got, c.want)
			}
		}
	})
}

func runBothActions(t *testing.T, f func(t *testing.T, e *env)) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) { f(t, newActionsEnv(t, b)) })
	}
}
