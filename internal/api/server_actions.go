package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gonova/gonova/internal/compute/states"
	"github.com/gonova/gonova/internal/computedb"
	"github.com/gonova/gonova/pkg/wsgi/fault"
)

// Action names served on POST /servers/{id}/action.
const (
	actionReboot        = "reboot"
	actionConsoleOutput = "os-getConsoleOutput"
)

// serverAction is POST /servers/{id}/action. As nova's action dispatch: a
// body with other than one key is "Malformed message body: too many body
// keys", an unknown key "There is no such action".
func (h *handlers) serverAction(w http.ResponseWriter, r *http.Request) {
	body, err := h.decodeObject(r)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	act, err := parseAction(body)
	if err != nil {
		fault.Write(w, r, err)
		return
	}
	switch act.name {
	case actionReboot:
		err = h.reboot(w, r, act)
	case actionConsoleOutput:
		err = h.consoleOutput(w, r, act)
	}
	if err != nil {
		fault.Write(w, r, err)
	}
}

// serverActionBody is a validated action body.
type serverActionBody struct {
	name       string
	rebootType string // SOFT or HARD
	length     *int   // nil: whole console log
}

// parseAction validates an action body with nova's reboot and
// get_console_output schemas.
func parseAction(body map[string]any) (serverActionBody, error) {
	var a serverActionBody
	if len(body) != 1 {
		return a, fault.BadRequest("Malformed message body: too many body keys")
	}
	for k := range body {
		a.name = k
	}
	switch a.name {
	case actionReboot:
		obj, err := checkObject(actionReboot, body[actionReboot])
		if err != nil {
			return a, err
		}
		if err := checkKeys(actionReboot, obj, []string{"type"}); err != nil {
			return a, err
		}
		t, err := (stringRule{enum: []string{"HARD", "Hard", "hard", "SOFT", "Soft", "soft"}}).check("type", obj["type"])
		if err != nil {
			return a, err
		}
		a.rebootType = strings.ToUpper(t)
	case actionConsoleOutput:
		obj, err := checkObject(actionConsoleOutput, body[actionConsoleOutput])
		if err != nil {
			return a, err
		}
		if err := checkKeys(actionConsoleOutput, obj, nil, "length"); err != nil {
			return a, err
		}
		if raw, ok := obj["length"]; ok {
			n, err := checkIntegerish("length", raw, true, true, -1)
			if err != nil {
				return a, err
			}
			if n != nil && *n >= 0 { // -1 and null: the whole log
				l := int(min(*n, 1<<31-1))
				a.length = &l
			}
		}
	default:
		return a, fault.BadRequest("There is no such action: " + a.name)
	}
	return a, nil
}

// invalidState is nova's conflict for InstanceInvalidState.
func invalidState[S ~string](action, id, attr string, state S) error {
	s := "None"
	if state != "" {
		s = string(state)
	}
	return fault.Conflict(fmt.Sprintf("Cannot '%s' instance %s while it is in %s %s", action, id, attr, s))
}

// reboot is the reboot action: nova's check_instance_state, then task state
// rebooting(_hard) saved only if no one changed it meanwhile, then the cast.
func (h *handlers) reboot(w http.ResponseWriter, r *http.Request, a serverActionBody) error {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id)
	if err != nil {
		return err
	}
	if err := h.enf.Authorize(ctx, polServersReboot); err != nil {
		return err
	}
	vmOK, taskOK, next := states.AllowSoftReboot, states.AllowSoftRebootTasks, states.TaskRebooting
	if a.rebootType == "HARD" {
		vmOK, taskOK, next = states.AllowHardReboot, states.AllowReboot, states.TaskRebootingHard
	}
	switch {
	case !slices.Contains(vmOK, in.VMState):
		return invalidState(actionReboot, id, "vm_state", in.VMState)
	case !slices.Contains(taskOK, in.TaskState):
		return invalidState(actionReboot, id, "task_state", in.TaskState)
	case in.LaunchedAt == nil:
		return invalidState(actionReboot, id, "launched_at", "")
	}
	expect := in.TaskState
	in, err = h.compute.UpdateInstance(ctx, in.UUID, computedb.InstanceUpdate{TaskState: &next, ExpectTaskState: &expect})
	switch {
	case errors.Is(err, computedb.ErrConflict):
		cur, gerr := h.compute.GetInstance(ctx, id)
		if gerr != nil {
			return fault.NotFound(fmt.Sprintf("Instance %s could not be found.", id))
		}
		return invalidState(actionReboot, id, "task_state", cur.TaskState)
	case errors.Is(err, computedb.ErrNotFound):
		return fault.NotFound(fmt.Sprintf("Instance %s could not be found.", id))
	case err != nil:
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.rpcTimeout)
	defer cancel()
	if err := h.rpc.RebootInstance(cctx, in, a.rebootType); err != nil {
		return fmt.Errorf("casting reboot_instance to %s: %w", in.Host, err)
	}
	h.log.InfoContext(ctx, "server reboot cast to its compute", "instance_uuid", in.UUID, "host", in.Host, "type", a.rebootType)
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// consoleControl is what nova strips from console output.
var consoleControl = regexp.MustCompile("[\x00-\x08\x0B-\x1F]")

// consoleOutput is the os-getConsoleOutput action: an RPC call to the
// instance's host, bounded by the RPC timeout. As in nova an instance with
// no host is 409, ConsoleNotAvailable 404, a driver without consoles 501,
// and anything else (a timeout included) 500.
func (h *handlers) consoleOutput(w http.ResponseWriter, r *http.Request, a serverActionBody) error {
	ctx := r.Context()
	id := chi.URLParam(r, "id")
	in, err := h.getServer(r, id)
	if err != nil {
		return err
	}
	if err := h.enf.Authorize(ctx, polConsoleOutput); err != nil {
		return err
	}
	if in.Host == "" {
		return fault.Conflict(fmt.Sprintf("Instance %s is not ready", in.UUID))
	}
	cctx, cancel := context.WithTimeout(ctx, h.rpcTimeout)
	defer cancel()
	out, err := h.rpc.GetConsoleOutput(cctx, in, a.length)
	switch {
	case errors.Is(err, ErrConsoleNotAvailable):
		return fault.NotFound("Guest does not have a console available.")
	case errors.Is(err, ErrInstanceNotReady):
		return fault.Conflict(fmt.Sprintf("Instance %s is not ready", in.UUID))
	case errors.Is(err, ErrNotSupported):
		return fault.New(http.StatusNotImplemented, "Action is not supported.")
	case err != nil:
		return fmt.Errorf("get_console_output on %s: %w", in.Host, err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"output": consoleControl.ReplaceAllString(out, "")})
	return nil
}
