package api

import (
	"errors"
	"testing"
	"time"

	"github.com/gonova/gonova/pkg/rpcsvc"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// While the broker is unavailable (or the host has no queue on it), an
// action that must cast answers 503 with nova's body, and leaves the
// instance in the task state it had: nothing is stuck in rebooting or
// deleting.
func TestServerActionsAnswer503WhileTheBrokerIsUnavailable(t *testing.T) {
	runBoth(t, func(t *testing.T, e *env) {
		e.addNode("c1", 64, 1<<20, 10000)
		r := e.do("POST", "/v2.1/servers", alice, "", bootBody("vm", "1"))
		id := obj(t, r.Body["server"])["id"].(string)
		activate(t, e, id)
		path := "/v2.1/servers/" + id + "/action"
		for _, err := range []error{
			&rpcsvc.UnavailableError{Waited: 5 * time.Second, Err: errors.New("not connected")},
			&rpcsvc.UnroutableError{Target: rpcsvc.Target{Topic: "compute", Server: "c1"}},
		} {
			e.rpc.err = err
			e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{"type": "HARD"}}).
				wantFault(t, 503, fault.UnavailableMessage)
			e.do("DELETE", "/v2.1/servers/"+id, alice, "", nil).wantFault(t, 503, fault.UnavailableMessage)
			s := obj(t, e.do("GET", "/v2.1/servers/"+id, alice, "", nil).Body["server"])
			if s["status"] != "ACTIVE" || s["OS-EXT-STS:task_state"] != nil {
				t.Fatalf("after failed casts the server is %v / task %v, want ACTIVE with no task", s["status"], s["OS-EXT-STS:task_state"])
			}
		}
		e.rpc.err = nil
		e.do("POST", path, alice, "", map[string]any{"reboot": map[string]any{"type": "HARD"}}).want(t, 202)
	})
}
