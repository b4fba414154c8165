package api

import (
	"testing"

	"github.com/gonova/gonova/internal/compute/states"
)

// With enforce_new_defaults, a reader of the project is refused every
// server action with nova's policy name (checked once the server is found),
// but lists and shows its instance actions (os-instance-actions:list and
// show are project readers'); events at 2.51 it sees without traceback.
func TestPolicyServerActions(t *testing.T) {
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			e, _, _ := policyEnv(t, b, "enforce_new_defaults = true\n", "")
			e.addNode("c1", 8, 16384, 200)
			id := e.boot(t, alice, "web")
			e.setState(t, id, states.VMActive, states.TaskNone, states.PowerRunning)
			path := "/v2.1/servers/" + id + "/action"
			for action, pol := range map[string]string{
				"os-stop": polServersStop, "os-start": polServersStart, "pause": polPause, "unpause": polUnpause,
				"suspend": polSuspend, "resume": polResume, "lock": polLock, "unlock": polUnlock,
			} {
				e.do("POST", path, reader, "", actionBody(action)).wantFault(t, 403, refused(pol))
			}
			e.do("POST", path, reader, "", map[string]any{"rebuild": map[string]any{"imageRef": imageID}}).wantFault(t, 403, refused(polServersRebuild))
			e.do("PUT", "/v2.1/servers/"+id, reader, "", map[string]any{"server": map[string]any{"name": "x"}}).wantFault(t, 403, refused(polServersUpdate))
			// the body is validated before the policy
			e.do("PUT", "/v2.1/servers/"+id, reader, "", map[string]any{"server": map[string]any{"name": ""}}).wantFault(t, 400, "")

			e.do("GET", "/v2.1/servers/"+id+"/os-instance-actions", reader, "", nil).want(t, 200)
			// the member may act
			e.do("POST", path, alice, "", actionBody("os-stop")).want(t, 202)
		})
	}
}
