package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	computeapi "github.com/gonova/gonova/internal/compute/api"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi"
	"github.com/gonova/gonova/pkg/wsgi/microversion"
)

// Policy names of the server actions this file and its neighbours serve.
const (
	polServersStart   = "os_compute_api:servers:start"
	polServersStop    = "os_compute_api:servers:stop"
	polServersRebuild = "os_compute_api:servers:rebuild"
	polServersUpdate  = "os_compute_api:servers:update"
	polPause          = "os_compute_api:os-pause-server:pause"
	polUnpause        = "os_compute_api:os-pause-server:unpause"
	polSuspend        = "os_compute_api:os-suspend-server:suspend"
	polResume         = "os_compute_api:os-suspend-server:resume"
	polLock           = "os_compute_api:os-lock-server:lock"
	polUnlock         = "os_compute_api:os-lock-server:unlock"
	polUnlockOverride = "os_compute_api:os-lock-server:unlock:unlock_override"
)

// actionHandler serves one server action: parse validates the action's
// value (before the server is looked up, as nova's schema decorators run
// first) and returns what run needs.
type actionHandler struct {
	parse func(v any, mv microversion.Version) (any, error)
	run   func(h *handlers, w http.ResponseWriter, r *http.Request, arg any) error
}

// noSchema is the parse of the actions nova gives no schema: any value.
func noSchema(any, microversion.Version) (any, error) { return nil, nil }

// powerActions are the actions that call one compute.API method on the
// server under a policy whose target is the server's user and project.
var powerActions = map[string]struct {
	policy string
	call   func(a *computeapi.API, ctx context.Context, c computeapi.Caller, in computedb.Instance) error
}{
	"os-stop":  {polServersStop, (*computeapi.API).Stop},
	"os-start": {polServersStart, (*computeapi.API).Start},
	"pause":    {polPause, (*computeapi.API).Pause},
	"unpause":  {polUnpause, (*computeapi.API).Unpause},
	"suspend":  {polSuspend, (*computeapi.API).Suspend},
	"resume":   {polResume, (*computeapi.API).Resume},
}

// extraActions are the actions served beside reboot and console output.
var extraActions = map[string]actionHandler{}

func init() {
	for name := range powerActions {
		extraActions[name] = actionHandler{parse: noSchema, run: powerRun(name)}
	}
	extraActions["lock"] = actionHandler{parse: parseLock, run: (*handlers).lock}
	extraActions["unlock"] = actionHandler{parse: noSchema, run: (*handlers).unlock}
	extraActions["rebuild"] = actionHandler{parse: parseRebuild, run: (*handlers).rebuild}
}

// powerRun is the handler of a power action: the server, the policy on its
// user and project (nova's target), compute.API's method; 202.
func powerRun(name string) func(h *handlers, w http.ResponseWriter, r *http.Request, _ any) error {
	pa := powerActions[name]
	return func(h *handlers, w http.ResponseWriter, r *http.Request, _ any) error {
		id := chi.URLParam(r, "id")
		in, err := h.getServer(r, id, pa.policy, true)
		if err != nil {
			return err
		}
		if err := pa.call(h.capi, r.Context(), h.computeCaller(r), in); err != nil {
			return serverFault(err, id)
		}
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
}

// parseLock is nova's lock schema: from 2.73 {"lock": null} or {"lock":
// {"locked_reason": "..."}} (1-255 characters, nothing else); before, any
// value.
func parseLock(v any, mv microversion.Version) (any, error) {
	if !mv.AtLeast(2, 73) || v == nil {
		return "", nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, invalidField("lock", v, fmt.Sprintf("%s is not of type 'object', 'null'", wsgi.PyRepr(v)))
	}
	if err := checkKeys("lock", obj, nil, "locked_reason"); err != nil {
		return nil, err
	}
	raw, ok := obj["locked_reason"]
	if !ok {
		return "", nil
	}
	return (stringRule{min: 1, max: 255}).check("locked_reason", raw)
}

// lock is the lock action (202): the policy on the server's user and
// project, then compute.API's lock with the 2.73 reason.
func (h *handlers) lock(w http.ResponseWriter, r *http.Request, arg any) error {
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id, polLock, true)
	if err != nil {
		return err
	}
	if err := h.capi.Lock(r.Context(), h.computeCaller(r), in, arg.(string)); err != nil {
		return serverFault(err, id)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// unlock is the unlock action (202): the unlock policy on the server's
// project, and unlock_override when the lock is the other party's (an
// owner facing an admin's lock), as nova's controller.
func (h *handlers) unlock(w http.ResponseWriter, r *http.Request, _ any) error {
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id, polUnlock, false)
	if err != nil {
		return err
	}
	c := h.computeCaller(r)
	if !computeapi.IsExpectedLockedBy(c, in) {
		if err := h.enf.AuthorizeTarget(r.Context(), polUnlockOverride, instanceTarget(in, false)); err != nil {
			return err
		}
	}
	if err := h.capi.Unlock(r.Context(), c, in); err != nil {
		return serverFault(err, id)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
